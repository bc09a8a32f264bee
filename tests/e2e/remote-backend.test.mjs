// remote-backend.test.mjs — issue 14: the realtime layer over the remote stream backend, where the
// second pass of the realtime suites (WEIR_E2E_BACKEND=remote, tests/e2e/run.sh) cannot reach:
// - what a node keeps locally (no stream data, no /v1) and the endpoint it hands to writers;
// - live-session protection expressed with S2's delete_on_empty, with a 1 s age on the upstream;
// - the upstream failing: cut mid-SSE, SIGKILLed and restarted, answering 503, never answering,
//   and refusing connections at boot.
// Topology: an upstream weir (the S2 endpoint, token auth) ← a fault proxy (node:http: passes
// through, answers 503, never answers, or cuts every connection) ← the realtime node
// (WEIR_STREAM_BACKEND=remote, holding a scoped account token of the upstream). Every server is
// stopped gracefully in the end, so ASan findings (leaks included) fail the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S2, AppendInput, AppendRecord } from "@s2-dev/streamstore";
import { startWeir, accountToken, runWeir } from "./harness.mjs";
import { SseParser } from "./sse.mjs";
import { answerOf } from "./helpers.mjs";

/** A proxy in front of `target` whose behaviour the test switches (`mode`). */
async function faultProxy(target) {
  const p = { target, mode: "pass", requests: 0 };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    p.requests++;
    if (p.mode === "503") {
      req.resume();
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "unavailable", message: "injected by the test proxy" }));
      return;
    }
    if (p.mode === "hang") {
      req.resume(); // read the request, never answer
      return;
    }
    const up = http.request(new URL(req.url, p.target), { method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
      ur.on("close", () => {
        if (!ur.complete) res.destroy(); // the upstream died mid-answer: so does this one
      });
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  p.url = `http://127.0.0.1:${server.address().port}`;
  /** Drops every connection from the node (as a dying endpoint would). */
  p.cut = () => {
    for (const s of sockets) s.destroy();
  };
  p.close = async () => {
    p.cut();
    await new Promise((r) => server.close(r));
  };
  return p;
}

/** The realtime node over `endpoint` with the upstream's account token. */
const remoteNode = (endpoint, token, env = {}) =>
  startWeir({ env: { WEIR_STREAM_BACKEND: "remote", WEIR_S2_ENDPOINT: endpoint, WEIR_S2_ACCESS_TOKEN: token, ...env } });

/** An upstream, a proxy in front of it and a node behind the proxy; `stop()` ends them all. */
async function topology({ nodeEnv = {}, upArgs = [] } = {}) {
  const up = await startWeir({ embedded: true, args: upArgs });
  const proxy = await faultProxy(up.url);
  let node;
  try {
    node = await remoteNode(proxy.url, await accountToken(up), nodeEnv);
  } catch (e) {
    await proxy.close();
    await up.stop();
    throw e;
  }
  return {
    up,
    proxy,
    node,
    async stop() {
      try {
        await node.stop();
      } finally {
        await proxy.close();
        await up.stop();
      }
    },
  };
}

async function req(server, method, path, { token = server.token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (typeof body === "string") {
    payload = body;
    h["content-type"] ??= "text/plain; charset=utf-8";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h["content-type"] = "application/json";
  }
  const res = await fetch(server.url + path, { method, headers: h, body: payload });
  return answerOf(res);
}

async function ok(server, method, path, opts = {}, status = 200) {
  const r = await req(server, method, path, opts);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r;
}

let seq = 0;
async function tenant(node, { plan } = {}) {
  const body = { slug: `org-${process.pid}-${++seq}`, title: "Org" };
  if (plan) body.plan = plan;
  const org = (await ok(node, "POST", "/admin/api/v1/orgs", { body }, 201)).json;
  const project = (await ok(node, "POST", `/admin/api/v1/orgs/${org.id}/projects`, { body: { slug: "proj" } }, 201)).json;
  const env = (await ok(node, "POST", `/admin/api/v1/projects/${project.id}/environments`, { body: { slug: "dev" } }, 201)).json;
  return { org: (await ok(node, "GET", `/admin/api/v1/orgs/${org.id}`)).json, env, key: env.apiKey };
}

const session = async (node, t, externalId) =>
  (await ok(node, "POST", "/api/v1/sessions", { token: t.key, body: { externalId } }, 201)).json;
const say = (node, t, ext, text) => ok(node, "POST", `/realtime/v1/sessions/${ext}/out/append`, { token: t.key, body: text });
const dataOf = (r) => JSON.parse(r.body).data;

/**
 * Follows an SSE answer: `records` (every batch's), `lastId`, `done` (a `[DONE]` arrived),
 * `error` (the connection dropped), `finished`; until(pred) waits for pred or the end.
 */
function follow(url, headers) {
  const ac = new AbortController();
  const s = { records: [], events: [], lastId: undefined, done: false, error: undefined, finished: false };
  let wake = () => {};
  s.ended = (async () => {
    try {
      const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: ac.signal });
      s.status = res.status;
      if (res.status !== 200) {
        s.text = await res.text();
        return;
      }
      const parser = new SseParser();
      const dec = new TextDecoder();
      for await (const chunk of res.body) {
        for (const ev of parser.push(dec.decode(chunk, { stream: true }))) {
          s.events.push(ev);
          if (ev.id !== undefined) s.lastId = ev.id;
          if (ev.event === "batch") s.records.push(...JSON.parse(ev.data).records);
          if (ev.data === "[DONE]") s.done = true;
        }
        wake();
      }
    } catch (e) {
      s.error = e;
    } finally {
      s.finished = true;
      wake();
    }
  })();
  s.until = async (pred, what) => {
    while (!pred(s)) {
      if (s.finished) throw new Error(`SSE ended before ${what}: ${s.status} ${s.text ?? ""} ${JSON.stringify(s.events)}`);
      await new Promise((r) => (wake = r));
    }
  };
  s.close = () => ac.abort();
  return s;
}

/** Polls `fn` until it returns true (no wall-clock assertion: the test timeout is the guard). */
async function eventually(fn, what) {
  for (let i = 0; ; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
    if (i > 600) throw new Error(`never: ${what}`);
  }
}

// ---------------------------------------------------------------------------------------------

test("a remote node keeps no stream data, serves no /v1, and hands writers the public endpoint", async () => {
  const up = await startWeir({ embedded: true });
  let node;
  try {
    node = await remoteNode(up.url, await accountToken(up), { WEIR_S2_PUBLIC_ENDPOINT: "https://streams.example.test" });
    assert.match(node.output().stdout, new RegExp(`a realtime node over the S2 endpoint http://127\\.0\\.0\\.1:${up.port}`));
    assert.equal((await req(node, "GET", "/v1/basins")).status, 404, "no /v1 on a remote node");
    const t = await tenant(node);
    await session(node, t, "local");
    const put = await ok(node, "PUT", "/realtime/v1/sessions/local/out", { token: t.key }, 202);
    assert.equal(put.headers.get("x-s2-endpoint"), "https://streams.example.test/v1");
    // The token works at the upstream (where the stream is), for that environment's prefix.
    const s2 = new S2({ accessToken: put.headers.get("x-s2-access-token"), endpoints: { account: `${up.url}/v1`, basin: `${up.url}/v1` } });
    await s2.basin(put.headers.get("x-s2-basin")).stream(put.headers.get("x-s2-stream-name")).append(AppendInput.create([AppendRecord.string({ body: "via upstream" })]));
    const rec = await ok(node, "GET", "/realtime/v1/sessions/local/out/records", { token: t.key });
    assert.deepEqual(rec.json.records.map((r) => r.data), [""], "the raw record reached the node through the upstream");
    await node.stop({ keepData: true });
    const files = readdirSync(node.dataDir);
    assert.ok(!files.includes("CURRENT") && !files.some((f) => f.endsWith(".sst") || f.endsWith(".log")), `no RocksDB files: ${files}`);
    assert.ok(files.includes("control.sqlite3"), `the control plane is local: ${files}`);
    rmSync(node.dataDir, { recursive: true, force: true });
    node = undefined;
  } finally {
    await node?.stop();
    await up.stop();
  }
});

test("live-session protection over S2: an open session's channel survives delete-on-empty; closing gives it back", async () => {
  const w = await topology({
    upArgs: ["--maintenance-interval", "1s"],
    nodeEnv: { WEIR_PER_ORG_BASINS: "true", WEIR_PLAN_RETENTION: "free=shared,pro=30d", WEIR_BASIN_DELETE_ON_EMPTY_MIN_AGE: "1s" },
  });
  try {
    const t = await tenant(w.node, { plan: "pro" });
    const basin = t.org.streamBasinName;
    assert.ok(basin, "the pro org has its own basin");
    const root = new S2({ accessToken: w.up.token, endpoints: { account: `${w.up.url}/v1`, basin: `${w.up.url}/v1` } });
    const cfg = await ok(w.up, "GET", `/v1/basins/${basin}`);
    assert.deepEqual(cfg.json.default_stream_config.delete_on_empty, { min_age_secs: 1 }, "the basin deletes empty streams after 1 s");

    await session(w.node, t, "kept");
    await say(w.node, t, "kept", "hello");
    const name = `env/dev/${t.env.id}/sessions/kept/out`;
    const get = () => req(w.up, "GET", `/v1/streams/${encodeURIComponent(name)}`, { headers: { "s2-basin": basin } });
    const protectedCfg = await get();
    assert.equal(protectedCfg.status, 200, protectedCfg.text);
    assert.equal(protectedCfg.json.delete_on_empty?.min_age_secs ?? 0, 0, "an open session's channel has delete-on-empty off");

    // A control stream of the same basin, emptied the same way, goes.
    await root.basin(basin).streams.create({ stream: "control" });
    for (const stream of ["control", name]) {
      const s = root.basin(basin).stream(stream);
      const { tail } = await s.checkTail();
      await s.append(AppendInput.create([AppendRecord.trim(tail.seqNum + 1)])); // everything, this record too
    }
    const control = () => req(w.up, "GET", `/v1/streams/control`, { headers: { "s2-basin": basin } });
    await eventually(async () => (await control()).status === 404, "the empty control stream is deleted");
    assert.equal((await get()).status, 200, "the open session's empty channel is still there");

    await ok(w.node, "POST", "/api/v1/sessions/kept/close", { token: t.key, body: {} });
    await eventually(async () => (await get()).status === 404, "the closed session's empty channel is deleted");
  } finally {
    await w.stop();
  }
});

test("upstream cut mid-SSE: the browser sees a dropped connection, never [DONE], and resumes with Last-Event-ID", async () => {
  const w = await topology();
  try {
    const t = await tenant(w.node);
    await session(w.node, t, "cut");
    await say(w.node, t, "cut", "m1");
    await say(w.node, t, "cut", "m2");
    const url = `${w.node.url}/realtime/v1/sessions/cut/out`;
    const auth = { authorization: `Bearer ${t.key}` };
    const s = follow(url, { ...auth, "timeout-seconds": "60" });
    await s.until((x) => x.records.length >= 2, "two records");
    w.proxy.cut();
    await s.ended;
    assert.equal(s.done, false, "no [DONE] after an upstream failure");
    assert.ok(s.error, "the connection dropped");

    await say(w.node, t, "cut", "m3");
    const again = follow(url, { ...auth, "timeout-seconds": "60", "last-event-id": s.lastId });
    await again.until((x) => x.records.length >= 1, "the record after the cut");
    again.close();
    assert.deepEqual([...s.records, ...again.records].map(dataOf), ["m1", "m2", "m3"], "every record once, in order");
  } finally {
    await w.stop();
  }
});

test("upstream SIGKILLed mid-SSE and restarted on its data: 503 meanwhile, then the follower resumes exactly", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "weir-e2e-upstream-"));
  let up = await startWeir({ embedded: true, dataDir });
  const proxy = await faultProxy(up.url);
  let node;
  try {
    node = await remoteNode(proxy.url, await accountToken(up));
    const t = await tenant(node);
    await session(node, t, "crash");
    await say(node, t, "crash", "before");
    const url = `${node.url}/realtime/v1/sessions/crash/out`;
    const auth = { authorization: `Bearer ${t.key}` };
    const s = follow(url, { ...auth, "timeout-seconds": "60" });
    await s.until((x) => x.records.length >= 1, "the first record");

    up.proc.kill("SIGKILL");
    await up.exited;
    await s.ended;
    assert.equal(s.done, false, "no [DONE] when the endpoint dies");
    const down = await req(node, "GET", "/realtime/v1/sessions/crash/out/records", { token: t.key });
    assert.equal(down.status, 503, down.text);
    assert.match(down.json.error, /upstream S2 endpoint/);

    up = await startWeir({ embedded: true, dataDir, env: { WEIR_ROOT_TOKEN: up.token } });
    proxy.target = up.url;
    await say(node, t, "crash", "after");
    const again = follow(url, { ...auth, "timeout-seconds": "60", "last-event-id": s.lastId });
    await again.until((x) => x.records.length >= 1, "the record after the restart");
    again.close();
    assert.deepEqual([...s.records, ...again.records].map(dataOf), ["before", "after"]);
  } finally {
    await node?.stop();
    await proxy.close();
    if (up.proc.exitCode === null && up.proc.signalCode === null) await up.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("upstream answering 503: retried, then 503 {error} to the client; the node recovers", async () => {
  const w = await topology({ nodeEnv: { WEIR_PER_ORG_BASINS: "true", WEIR_PLAN_RETENTION: "free=shared,pro=30d" } });
  try {
    const t = await tenant(w.node);
    await session(w.node, t, "busy");
    await session(w.node, t, "busy2");
    const upgrade = await tenant(w.node);
    w.proxy.mode = "503";
    // Provisioning answers with the upstream failure's own status (one error encoder), not a 500.
    const plan = await req(w.node, "PUT", `/admin/api/v1/orgs/${upgrade.org.id}/plan`, { body: { plan: "pro" } });
    assert.equal(plan.status, 503, `plan change while the upstream is down: ${plan.text}`);
    assert.match(plan.json?.error ?? "", /upstream S2 endpoint/, "an {error} body");
    const cases = [
      ["read a page", "GET", "/realtime/v1/sessions/busy/out/records", undefined],
      ["append", "POST", "/realtime/v1/sessions/busy/out/append", "x"],
      ["mint a write token", "PUT", "/realtime/v1/sessions/busy2/out", undefined],
    ];
    for (const [what, method, path, body] of cases) {
      const before = w.proxy.requests;
      const r = await req(w.node, method, path, { token: t.key, body });
      assert.equal(r.status, 503, `${what}: ${r.text}`);
      assert.match(r.json?.error ?? "", /upstream S2 endpoint/, `${what}: an {error} body`);
      assert.equal(w.proxy.requests - before, 3, `${what}: three attempts`);
    }
    const sse = follow(`${w.node.url}/realtime/v1/sessions/busy/out`, { authorization: `Bearer ${t.key}` });
    await sse.ended;
    assert.equal(sse.status, 503, `SSE: ${sse.text}`);

    w.proxy.mode = "pass";
    for (const [what, method, path, body] of cases) {
      const r = await req(w.node, method, path, { token: t.key, body });
      assert.ok(r.status >= 200 && r.status < 300, `${what} after recovery: ${r.status} ${r.text}`);
    }
    const retried = await ok(w.node, "PUT", `/admin/api/v1/orgs/${upgrade.org.id}/plan`, { body: { plan: "pro" } });
    assert.equal(retried.json.kind, "provisioned", retried.text);
  } finally {
    await w.stop();
  }
});

test("upstream never answering: WEIR_S2_TIMEOUT fires (504) for unary calls and SSE alike; nothing hangs", async () => {
  const w = await topology({ nodeEnv: { WEIR_S2_TIMEOUT: "1s" } });
  try {
    const t = await tenant(w.node);
    await session(w.node, t, "slow");
    w.proxy.mode = "hang";
    const r = await req(w.node, "GET", "/realtime/v1/sessions/slow/out/records", { token: t.key });
    assert.equal(r.status, 504, r.text);
    assert.match(r.json.error, /upstream S2 endpoint/);
    const sse = follow(`${w.node.url}/realtime/v1/sessions/slow/out`, { authorization: `Bearer ${t.key}` });
    await sse.ended;
    assert.equal(sse.status, 504, `SSE: ${sse.text}`);
    w.proxy.mode = "pass";
    await ok(w.node, "GET", "/realtime/v1/sessions/slow/out/records", { token: t.key });
  } finally {
    await w.stop();
  }
});

test("boot: an endpoint refusing connections is exit 1 naming the global basin; bad settings exit 2 naming the variable", async () => {
  const closed = await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const serve = (env) => {
    const dir = mkdtempSync(join(tmpdir(), "weir-e2e-remote-boot-"));
    return runWeir(["serve", "--listen", "127.0.0.1:0", "--data-dir", dir], { WEIR_ROOT_TOKEN: "boot-root-token-0123456789", ...env }).finally(() =>
      rmSync(dir, { recursive: true, force: true }),
    );
  };
  const base = { WEIR_STREAM_BACKEND: "remote", WEIR_S2_ENDPOINT: `http://127.0.0.1:${closed}`, WEIR_S2_ACCESS_TOKEN: "t" };
  const refused = await serve(base);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /global basin weir-shared \(remote stream backend\)/);

  const rows = [
    ["WEIR_STREAM_BACKEND", { WEIR_STREAM_BACKEND: "s3" }],
    ["WEIR_S2_ENDPOINT", { ...base, WEIR_S2_ENDPOINT: "" }],
    ["WEIR_S2_ENDPOINT", { ...base, WEIR_S2_ENDPOINT: "ftp://example.test" }],
    ["WEIR_S2_ENDPOINT", { ...base, WEIR_S2_ENDPOINT: "not a url" }],
    ["WEIR_S2_BASIN_ENDPOINT", { ...base, WEIR_S2_BASIN_ENDPOINT: "gopher://x" }],
    ["WEIR_S2_ACCESS_TOKEN", { ...base, WEIR_S2_ACCESS_TOKEN: "" }],
    ["WEIR_S2_TIMEOUT", { ...base, WEIR_S2_TIMEOUT: "soon" }],
    ["WEIR_S2_PUBLIC_ENDPOINT", { ...base, WEIR_S2_PUBLIC_ENDPOINT: "mailto:x" }],
  ];
  const results = await Promise.all(rows.map(([, env]) => serve(env)));
  const failures = [];
  rows.forEach(([name, env], i) => {
    const r = results[i];
    if (r.code !== 2 || !r.stderr.includes(name)) failures.push(`${JSON.stringify(env)}: code=${r.code} ${r.stderr.slice(0, 200)}`);
  });
  assert.deepEqual(failures, []);
  // The access token never reaches the output, even on errors.
  for (const r of [refused, ...results]) assert.ok(!/Bearer/.test(r.stderr + r.stdout), "no token in the output");
});
