// realtime-helpers.mjs — shared helpers of the realtime e2e suites: admin/API requests, a
// tenant (organization, project, environment) with an optional paid plan, channel PUTs that
// check the X-S2-* headers, an SDK client built from those headers only, and root reads.
import assert from "node:assert/strict";
import { S2, AppendRecord } from "@s2-dev/streamstore";
import { after, before } from "node:test";
import { s2Of, startWeir } from "./harness.mjs";
import { answerOf } from "./helpers.mjs";

/** The global basin of the realtime suites' server. */
export const SHARED = "weir-shared";

/** Their server's environment: per-organization basins, SHARED, plans free (shared basin) and
 * pro (365 days); `extra` adds or overrides variables. */
export const realtimeEnv = (extra = {}) => ({
  WEIR_PER_ORG_BASINS: "true",
  WEIR_GLOBAL_BASIN: SHARED,
  WEIR_PLAN_RETENTION: "free=shared,pro=365d",
  ...extra,
});

/** Starts one weir with realtimeEnv(extra) before the suite and stops it after; returns a
 * function that gives the running weir. */
export function realtimeServer(extra = {}) {
  let weir;
  before(async () => {
    weir = await startWeir({ env: realtimeEnv(extra) });
  });
  after(async () => {
    await weir?.stop();
  });
  return () => weir;
}

/** `server` returns the running weir (from startWeir), whose global basin is SHARED. */
export function realtimeHelpers(server) {
  /**
   * token: undefined = root, null = none, string = Bearer. /v1 paths go where the streams are
   * (the upstream S2 endpoint when the realtime layer runs over the remote backend).
   */
  async function req(method, path, { body, token } = {}) {
    const target = path.startsWith("/v1/") ? s2Of(server()) : server();
    const headers = {};
    if (token !== null) headers.authorization = `Bearer ${token ?? target.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(target.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return answerOf(res);
  }

  /**
   * A browser-like request: `token` is sent as Bearer (undefined/null: no Authorization),
   * `origin` as Origin (null: none); a string or byte body is sent as text/plain unless
   * `headers` say otherwise, any other value as JSON. An SSE answer (text/event-stream) is not
   * read: the connection is dropped once its head arrived, and `sse` is true.
   */
  async function call(method, path, { token, headers = {}, body, origin = "https://browser.example.test" } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (origin) h.origin = origin;
    let payload;
    if (typeof body === "string" || body instanceof Uint8Array) {
      payload = body;
      h["content-type"] ??= "text/plain; charset=utf-8";
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
    const ac = new AbortController();
    const guard = setTimeout(() => ac.abort(), 30000);
    try {
      const res = await fetch(server().url + path, { method, headers: h, body: payload, signal: ac.signal });
      const sse = (res.headers.get("content-type") || "").startsWith("text/event-stream");
      let text = "";
      if (sse) ac.abort();
      else text = await res.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, sse, text, json };
    } finally {
      clearTimeout(guard);
    }
  }

  async function ok(method, path, opts = {}, status = 200) {
    const res = await req(method, path, opts);
    assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
    return res;
  }

  let seq = 0;
  // Unique across servers too: with WEIR_CONTROL_PLANE several servers share one database.
  const tag = Math.random().toString(36).slice(2, 8);
  const uniq = (p) => `${p}-${process.pid}-${tag}-${++seq}`;

  async function tenant({ plan } = {}) {
    const org = (await ok("POST", "/admin/api/v1/orgs", { body: { slug: uniq("org"), title: "Org" } }, 201)).json;
    const project = (await ok("POST", `/admin/api/v1/orgs/${org.id}/projects`, { body: { slug: "proj" } }, 201)).json;
    const env = (await ok("POST", `/admin/api/v1/projects/${project.id}/environments`, { body: { slug: "dev" } }, 201)).json;
    let basin = SHARED;
    let prefix = `org/${org.id}/env/dev/${env.id}`;
    if (plan) {
      await ok("PUT", `/admin/api/v1/orgs/${org.id}/plan`, { body: { plan } });
      basin = (await ok("GET", `/admin/api/v1/orgs/${org.id}`)).json.streamBasinName;
      assert.ok(basin && basin !== SHARED, `plan ${plan} provisions a basin`);
      prefix = `env/dev/${env.id}`;
    }
    return { org, env, key: env.apiKey, basin, prefix };
  }

  /** PUT a channel; asserts 202 and returns the X-S2-* values. */
  async function putChannel(path, key) {
    const res = await ok("PUT", path, { token: key }, 202);
    assert.deepEqual(res.json, { version: "v2" });
    const h = (n) => res.headers.get(n);
    const expose = (h("access-control-expose-headers") || "").toLowerCase();
    for (const n of ["x-s2-access-token", "x-s2-stream-name", "x-s2-basin", "x-s2-endpoint"]) {
      assert.ok(h(n), `header ${n}`);
      assert.ok(expose.includes(n) || expose.includes("*"), `${n} is exposed to browsers`);
    }
    assert.equal(h("x-s2-endpoint"), `http://127.0.0.1:${s2Of(server()).port}/v1`);
    assert.match(h("x-s2-flush-interval-ms"), /^\d+$/);
    assert.match(h("x-s2-max-retries"), /^\d+$/);
    return { token: h("x-s2-access-token"), stream: h("x-s2-stream-name"), basin: h("x-s2-basin"), endpoint: h("x-s2-endpoint") };
  }

  /** An SDK client built from the returned headers only. */
  const client = (ch) => new S2({ accessToken: ch.token, endpoints: { account: ch.endpoint, basin: ch.endpoint }, retry: { maxAttempts: 1 } });
  const str = (body) => AppendRecord.string({ body });

  async function rootRead(basin, stream) {
    const s2 = s2Of(server());
    const res = await fetch(`${s2.url}/v1/streams/${encodeURIComponent(stream)}/records?seq_num=0`, {
      headers: { ...s2.auth, "s2-basin": basin },
    });
    const text = await res.text();
    return { status: res.status, bodies: res.status === 200 ? JSON.parse(text).records.map((r) => r.body) : text };
  }

  return { req, call, ok, uniq, tenant, putChannel, client, str, rootRead };
}
