// helpers.mjs — what several suites share: a fetch answer read as text and JSON, an exact
// HTTP/1.1 request (node:http, no path normalization), HTTP/2 requests, the S2 SDK client, unique
// basin names, S2 error assertions, a polling guard, and a server's resident memory.
// Suite-specific helpers stay in their suite.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { S2, S2Error } from "@s2-dev/streamstore";
import { after, before } from "node:test";
import { startWeir } from "./harness.mjs";

/** Parses JSON, or undefined when the text is not JSON. */
export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads a fetch Response to { status, headers, text, json } (json: parseJson of the text). */
export async function answerOf(res) {
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: parseJson(text) };
}

/**
 * One HTTP/1.1 request with node:http to `url` (the server's base URL): `path` is sent as given
 * (a URL string would be WHATWG-normalized, "." and "%2E" segments removed, before it reached
 * the server), `headers` exactly, `payload` (string or Buffer) as the body when defined.
 * Resolves to { status, headers, text, json } (json is undefined if the body is not JSON).
 * A response that has not come within 30 s fails the request (a guard, not a timing assertion).
 */
export function exactRequest(url, method, path, headers, payload) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ hostname: u.hostname, port: u.port, path, method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode, headers: res.headers, text, json: parseJson(text) });
      });
      res.on("error", reject);
    });
    req.setTimeout(30000, () => req.destroy(new Error(`${method} ${path}: no response within 30 s`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * An h2c session to `server` whose requests carry its root token (client.auth); stream errors
 * surface through the streams. `options` go to http2.connect (e.g. maxSessionMemory).
 */
export function h2connect(server, options = {}) {
  const client = http2.connect(server.url, options);
  client.on("error", () => {});
  client.auth = server.auth;
  client.gone = new Promise((resolve) => client.once("close", resolve));
  return client;
}

/** A complete HTTP/2 request with the client's token; resolves to { status, headers, body }. */
export function h2request(client, headers, body) {
  return new Promise((resolve, reject) => {
    const req = client.request({ ...client.auth, ...headers });
    const chunks = [];
    let resHeaders = {};
    req.on("response", (h) => (resHeaders = h));
    req.on("data", (d) => chunks.push(d));
    req.on("end", () => resolve({ status: resHeaders[":status"], headers: resHeaders, body: Buffer.concat(chunks) }));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The official SDK against `server`: both endpoints point at it (so basin-scoped calls send
 * `s2-basin`), one attempt (a retried request would hide the status the server answered).
 */
export function sdkClient(server, token = server.token) {
  return new S2({ accessToken: token, endpoints: { account: server.url, basin: server.url }, retry: { maxAttempts: 1 } });
}

const nameSeq = new Map();
/**
 * One weir for the whole suite: started with startWeir(opts) before its tests, stopped after
 * them. Returns { weir, s2 } (s2: an SDK client of it), filled in when the suite's `before` runs.
 */
export function sdkSuite(opts = {}) {
  const suite = { weir: undefined, s2: undefined };
  before(async () => {
    suite.weir = await startWeir(opts);
    suite.s2 = sdkClient(suite.weir);
  });
  after(async () => {
    await suite.weir?.stop();
  });
  return suite;
}

/** A fresh, valid basin name (8–48 chars of [a-z0-9-]) for `prefix` and `tag`. */
export function uniqueBasin(prefix, tag) {
  const n = (nameSeq.get(prefix) ?? 0) + 1;
  nameSeq.set(prefix, n);
  return `${prefix}-${tag}-${process.pid}-${n}`.slice(0, 48).replace(/-+$/, "");
}

/** Creates basin `name` and its stream "s" on `server` over HTTP/1.1; returns the name. */
export async function newBasinWithStream(server, name) {
  const post = (path, body, extra = {}) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { ...server.auth, "content-type": "application/json", ...extra },
      body: JSON.stringify(body),
    });
  const r1 = await post("/v1/basins", { basin: name });
  assert.equal(r1.status, 201, await r1.text());
  const r2 = await post("/v1/streams", { stream: "s" }, { "s2-basin": name });
  assert.equal(r2.status, 201, await r2.text());
  return name;
}

/** Collects the first `n` records of an SDK read session (fewer if it ends first). */
export async function readRecordsOf(iterator, n) {
  const got = [];
  while (got.length < n) {
    const { value, done } = await iterator.next();
    if (done) break;
    got.push(value);
  }
  return got;
}

/**
 * Runs `fn`, which must reject with an S2Error of `status` (and `code`, and class `type`);
 * `what` names the call in the failure messages.
 */
export async function rejectsWith(fn, { status, code, type, what }) {
  const at = what ? `${what}: ` : "";
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${at}expected an error with status ${status}, got success`);
  if (type) assert.ok(err instanceof type, `${at}expected ${type.name}, got ${err?.constructor?.name}: ${err?.message}`);
  assert.ok(err instanceof S2Error, `${at}expected S2Error, got ${err}`);
  assert.equal(err.status, status, `${at}status (message: ${err.message}, code: ${err.code})`);
  if (code !== undefined) assert.equal(err.code, code, `${at}code (message: ${err.message})`);
  return err;
}

/** Polls `fn` until it returns true; fails after `limitMs` (a guard, not a timing assertion). */
export async function eventually(fn, limitMs = 20000, what = "condition not reached") {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(what);
}

/** The value of an unlabelled gauge or counter in the server's Prometheus scrape. */
export async function metric(server, name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, "m"));
  assert.ok(m, `${name} is not in the scrape`);
  return Number(m[1]);
}

/**
 * Readiness signals from the server itself, instead of sleeping: until at least `n` requests
 * besides the scrape are in progress (e.g. a long-poll has begun and waits).
 */
export async function untilInFlight(server, n, limitMs = 20000) {
  await eventually(async () => (await metric(server, "weir_http_requests_in_flight")) >= n + 1, limitMs,
    `fewer than ${n} requests in flight`);
}

/** Until no append awaits durability on the server (every accepted append has completed). */
export async function untilDurable(server, limitMs = 20000) {
  await eventually(async () => (await metric(server, "weir_store_inflight_bytes")) === 0, limitMs,
    "appends still awaiting durability");
}

/** The server process's resident memory, in KB. */
export function rssKb(server) {
  const m = readFileSync(`/proc/${server.proc.pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}
