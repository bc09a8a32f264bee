// multi-node.test.mjs — two realtime nodes behave as one service: both keep their control plane
// on one PostgreSQL (WEIR_CONTROL_PLANE) and their streams on one S2 endpoint (an upstream weir,
// WEIR_STREAM_BACKEND=remote), with the same root token and API-key sealing key. Three weir
// processes and PostgreSQL, all local. Runs in the PostgreSQL pass of tests/e2e/run.sh (skipped
// without WEIR_CONTROL_PLANE).
//   - an organization created and provisioned (paid plan → its own basin) through A is used
//     through B: B's sessions are stamped with A's basin;
//   - a session created on A is appended to and closed through B, and a browser following `.out`
//     on A (public token from A) sees the records written through B;
//   - an environment key rotated on A stops working on B at once, and B hands out no write
//     token minted before the rotation (A revoked them);
//   - `ensure` of one organization from both nodes at the same time converges on one basin;
//   - a request's first reads are made by the reader threads (weir_realtime_prefetched_reads_total);
//   - an X-Part-Id appended through A is not appended again through B (one record, the same seq),
//     also when both nodes get it at the same moment.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { S2, AppendInput, AppendRecord } from "@s2-dev/streamstore";
import { accountToken, startWeir } from "./harness.mjs";
import { realtimeEnv } from "./realtime-helpers.mjs";
import { SseParser } from "./sse.mjs";
import { answerOf, metric } from "./helpers.mjs";

const PG = process.env.WEIR_CONTROL_PLANE;
const opts = { skip: PG ? false : "needs WEIR_CONTROL_PLANE (the PostgreSQL pass of run.sh)" };

let up, a, b;
const root = `e2e-root-${randomBytes(16).toString("hex")}`;

before(async () => {
  if (!PG) return;
  up = await startWeir({ embedded: true });
  const token = await accountToken(up);
  const env = realtimeEnv({
    WEIR_STREAM_BACKEND: "remote",
    WEIR_S2_ENDPOINT: up.url,
    WEIR_S2_ACCESS_TOKEN: token,
    WEIR_ROOT_TOKEN: root,
    WEIR_SECRET_KEY: randomBytes(32).toString("hex"),
    WEIR_CONTROL_PLANE: PG,
  });
  a = await startWeir({ env });
  b = await startWeir({ env });
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await up?.stop();
});

async function call(node, method, path, { token = root, body, headers = {} } = {}) {
  const h = { authorization: `Bearer ${token}`, ...headers };
  let payload;
  if (typeof body === "string") {
    payload = body;
    h["content-type"] ??= "text/plain; charset=utf-8";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h["content-type"] = "application/json";
  }
  return answerOf(await fetch(node.url + path, { method, headers: h, body: payload }));
}

async function ok(node, method, path, o, status = 200) {
  const r = await call(node, method, path, o);
  assert.equal(r.status, status, `${method} ${path} on ${node === a ? "A" : "B"}: ${r.text}`);
  return r.json;
}

const uniq = (p) => `${p}-${randomBytes(4).toString("hex")}`;

async function tenant(node, plan) {
  const org = await ok(node, "POST", "/admin/api/v1/orgs", { body: { slug: uniq("org"), title: "Org", plan } }, 201);
  const project = await ok(node, "POST", `/admin/api/v1/orgs/${org.id}/projects`, { body: { slug: "p" } }, 201);
  const env = await ok(node, "POST", `/admin/api/v1/projects/${project.id}/environments`, { body: { slug: "dev" } }, 201);
  return { org, key: env.apiKey, env };
}

/** Follows an SSE route until `n` records arrived (or 15 s passed); returns their bodies. */
async function follow(node, path, token, n) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15000);
  const res = await fetch(node.url + path, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", "timeout-seconds": "15" }, signal: ac.signal });
  assert.equal(res.status, 200);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const got = [];
  const done = (async () => {
    try {
      for await (const chunk of res.body) {
        for (const ev of parser.push(decoder.decode(chunk, { stream: true })))
          if (ev.event === "batch") got.push(...JSON.parse(ev.data).records.map((r) => JSON.parse(r.body).data));
        if (got.length >= n) break;
      }
    } catch {
      // aborted
    }
    clearTimeout(timer);
    ac.abort();
    return got;
  })();
  return { done };
}

test("an organization provisioned through A is used through B", opts, async () => {
  const t = await tenant(a, "pro");
  const orgOnB = await ok(b, "GET", `/admin/api/v1/orgs/${t.org.id}`);
  assert.ok(orgOnB.streamBasinName, "the paid plan provisioned a basin");
  assert.equal(orgOnB.streamBasinName, (await ok(a, "GET", `/admin/api/v1/orgs/${t.org.id}`)).streamBasinName);
  const s = await ok(b, "POST", "/api/v1/sessions", { token: t.key, body: { externalId: "x", type: "chat.agent", taskIdentifier: "t" } }, 201);
  assert.equal(s.streamBasinName ?? (await ok(a, "GET", `/api/v1/sessions/${s.id}`, { token: t.key })).streamBasinName, orgOnB.streamBasinName);
});

test("a session created on A is appended to and closed through B; a browser on A sees B's records", opts, async () => {
  const t = await tenant(a);
  const s = await ok(a, "POST", "/api/v1/sessions", { token: t.key, body: { externalId: "chat-1", type: "chat.agent", taskIdentifier: "t" } }, 201);
  assert.ok(s.publicAccessToken);
  const f = await follow(a, `/realtime/v1/sessions/chat-1/out`, s.publicAccessToken, 3);
  for (const msg of ["one", "two", "three"]) {
    const r = await ok(b, "POST", `/realtime/v1/sessions/chat-1/out/append`, { token: t.key, body: msg });
    assert.equal(r.ok, true);
  }
  assert.deepEqual((await f.done).slice(0, 3), ["one", "two", "three"]);
  // B sees the session A created, by id and by externalId, and closes it; A sees it closed.
  // The GET's environment, organization and session come from B's reader threads, not from a
  // round trip on B's loop.
  const prefetched = await metric(b, "weir_realtime_prefetched_reads_total");
  assert.equal((await ok(b, "GET", `/api/v1/sessions/${s.id}`, { token: t.key })).externalId, "chat-1");
  assert.ok(await metric(b, "weir_realtime_prefetched_reads_total") >= prefetched + 2,
    "the environment and the session were read before the handler ran");
  await ok(b, "POST", `/api/v1/sessions/chat-1/close`, { token: t.key, body: { reason: "done" } });
  const onA = await ok(a, "GET", `/api/v1/sessions/chat-1`, { token: t.key });
  assert.ok(onA.closedAt, "closed through B, seen on A");
  const again = await call(a, "POST", "/api/v1/sessions", { token: t.key, body: { externalId: "chat-1", type: "chat.agent", taskIdentifier: "t" } });
  assert.equal(again.status, 409, "A refuses to reopen the session B closed");
});

/** A write token for a session channel from `node` (PUT), and a direct append with it upstream. */
async function writeToken(node, key, session) {
  const r = await fetch(`${node.url}/realtime/v1/sessions/${session}/in`, { method: "PUT", headers: { authorization: `Bearer ${key}` } });
  assert.equal(r.status, 202, await r.text());
  return { token: r.headers.get("x-s2-access-token"), basin: r.headers.get("x-s2-basin"), stream: r.headers.get("x-s2-stream-name") };
}
async function appendWith(w, body) {
  const s2 = new S2({ accessToken: w.token, endpoints: { account: `${up.url}/v1`, basin: `${up.url}/v1` } });
  await s2.basin(w.basin).stream(w.stream).append(AppendInput.create([AppendRecord.string({ body })]));
}

test("an environment key rotated on A stops working on B, and B's write tokens follow", opts, async () => {
  const t = await tenant(a);
  await ok(b, "POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "t" } }, 201);
  await ok(b, "POST", "/api/v1/sessions", { token: t.key, body: { externalId: "rot", type: "chat.agent", taskIdentifier: "t" } }, 201);
  const before = await writeToken(b, t.key, "rot");
  assert.equal((await writeToken(b, t.key, "rot")).token, before.token, "B caches its write token");
  await appendWith(before, "before");
  const rotated = await ok(a, "POST", `/admin/api/v1/environments/${t.env.id}/rotate-key`);
  assert.notEqual(rotated.apiKey, t.key);
  const old = await call(b, "POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "t" } });
  assert.equal(old.status, 401, "the old key is refused on B");
  await ok(b, "POST", "/api/v1/runs", { token: rotated.apiKey, body: { taskIdentifier: "t" } }, 201);
  // A revoked the environment's write tokens in the shared registry, B's cached one among them:
  // B must not hand it out again.
  await assert.rejects(appendWith(before, "stale"), "the token minted before the rotation is revoked");
  const after = await writeToken(b, rotated.apiKey, "rot");
  assert.notEqual(after.token, before.token, "B mints a new token after the rotation on A");
  await appendWith(after, "after");
});

test("a basin re-provisioned on A under the same name: B's cached write token is not handed out again", opts, async () => {
  const t = await tenant(a, "pro");
  const basin = (await ok(b, "GET", `/admin/api/v1/orgs/${t.org.id}`)).streamBasinName;
  assert.ok(basin, "the paid plan provisioned a basin");
  await ok(b, "POST", "/api/v1/sessions", { token: t.key, body: { externalId: "reprov", type: "chat.agent", taskIdentifier: "t" } }, 201);
  const before = await writeToken(b, t.key, "reprov");
  assert.equal((await writeToken(b, t.key, "reprov")).token, before.token, "B caches its write token");
  assert.equal(before.basin, basin);
  await appendWith(before, "before");
  // Through A: the organization leaves its basin and gets it back under the same name; each
  // change revoked the organization's write tokens in the shared registry.
  assert.equal((await ok(a, "POST", `/admin/api/v1/orgs/${t.org.id}/stream-basin`, { body: { action: "deprovision" } })).kind, "deprovisioned");
  const again = await ok(a, "POST", `/admin/api/v1/orgs/${t.org.id}/stream-basin`, { body: { action: "ensure", retention: "30d" } });
  assert.equal(again.basin, basin, "re-provisioned under the same name");
  await assert.rejects(appendWith(before, "stale"), "the token minted before the change is revoked");
  const after = await writeToken(b, t.key, "reprov");
  assert.equal(after.basin, basin);
  assert.notEqual(after.token, before.token, "B mints a new token after the change on A");
  await appendWith(after, "after");
});

test("a run created on A streams through B, its run, target and stream id read by B's readers", opts, async () => {
  const t = await tenant(a);
  const parent = await ok(a, "POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "p" } }, 201);
  const child = await ok(a, "POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "c", parentRunId: parent.id } }, 201);
  const before = await metric(b, "weir_realtime_prefetched_reads_total");
  // environment, organization, the child, its parent (the target), whether "chat" is registered
  const put = await call(b, "PUT", `/realtime/v1/streams/${child.id}/parent/chat`, { token: t.key });
  assert.equal(put.status, 202, put.text);
  assert.ok(await metric(b, "weir_realtime_prefetched_reads_total") >= before + 4);
  const done = await ok(b, "POST", `/api/v1/runs/${child.id}/complete`, { token: t.key });
  assert.ok(done.completedAt);
  const again = await call(b, "PUT", `/realtime/v1/streams/${child.id}/self/chat`, { token: t.key });
  assert.equal(again.status, 400, "a completed run takes no more streams");
  assert.equal((await call(b, "PUT", `/realtime/v1/streams/${parent.id}/parent/chat`, { token: t.key })).status, 400, "no parent");
  assert.equal((await call(b, "PUT", `/realtime/v1/streams/run_nope/self/chat`, { token: t.key })).status, 404);
});

test("ensure of one organization from both nodes at once converges", opts, async () => {
  const t = await tenant(a);
  const body = { action: "ensure", retention: "30d" };
  const [ra, rb] = await Promise.all([
    call(a, "POST", `/admin/api/v1/orgs/${t.org.id}/stream-basin`, { body }),
    call(b, "POST", `/admin/api/v1/orgs/${t.org.id}/stream-basin`, { body }),
  ]);
  assert.equal(ra.status, 200, ra.text);
  assert.equal(rb.status, 200, rb.text);
  assert.equal(ra.json.basin, rb.json.basin);
  const org = await ok(b, "GET", `/admin/api/v1/orgs/${t.org.id}`);
  assert.equal(org.streamBasinName, ra.json.basin);
  // A second ensure through either node finds it in place.
  const again = await ok(b, "POST", `/admin/api/v1/orgs/${t.org.id}/stream-basin`, { body });
  assert.equal(again.kind, "reconfigured");
});

test("an X-Part-Id appended through A is appended once, also through B and both at once", opts, async () => {
  const t = await tenant(a);
  await ok(a, "POST", "/api/v1/sessions", { token: t.key, body: { externalId: "parts", type: "chat.agent", taskIdentifier: "t" } }, 201);
  const path = `/realtime/v1/sessions/parts/in/append`;
  const first = await ok(a, "POST", path, { token: t.key, body: "hello", headers: { "x-part-id": "part-1" } });
  const again = await ok(b, "POST", path, { token: t.key, body: "hello again", headers: { "x-part-id": "part-1" } });
  assert.equal(again.seq, first.seq, "B answers A's seq");
  // both nodes at once, several ids: each id is appended once; a node that finds the other's
  // append in flight answers 409 (retry), never a second record
  const ids = ["p-a", "p-b", "p-c", "p-d"];
  const seqs = new Map();
  for (let round = 0; round < 5 && seqs.size < ids.length; round++) {
    const rs = await Promise.all(ids.filter((id) => !seqs.has(id)).flatMap((id) =>
      [a, b].map(async (node) => [id, await call(node, "POST", path, { token: t.key, body: `body-${id}`, headers: { "x-part-id": id } })])));
    for (const [id, r] of rs) {
      if (r.status === 409) {
        assert.match(r.json.error, /in progress on another node/, r.text);
        continue;
      }
      assert.equal(r.status, 200, r.text);
      if (seqs.has(id)) assert.equal(r.json.seq, seqs.get(id), `${id}: one seq on both nodes`);
      seqs.set(id, r.json.seq);
    }
  }
  assert.equal(seqs.size, ids.length);
  const list = await ok(b, "GET", `/realtime/v1/sessions/parts/in/records`, { token: t.key });
  const partIds = list.records.map((r) => r.id);
  assert.deepEqual(partIds.slice().sort(), ["part-1", ...ids].sort(), "every part id once");
});

// The admin routes read PostgreSQL on reader threads like every other route: with `orgs` locked
// by another session (the read waits in PostgreSQL), the node still answers other requests, and
// the admin read completes once the lock goes. A read made on the loop would hold /ping until then.
test("an admin read waiting on PostgreSQL does not hold the node's other requests", opts, async () => {
  await ok(a, "GET", "/admin/api/v1/orgs");
  const psql = spawn("psql", [PG, "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  psql.stdout.on("data", (d) => (out += d));
  const seen = async (word) => {
    for (let i = 0; i < 200 && !out.includes(word); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.includes(word), `psql did not print ${word}: ${out}`);
  };
  try {
    psql.stdin.write("BEGIN; LOCK TABLE orgs IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n");
    await seen("locked");
    let settled = false;
    const listing = call(a, "GET", "/admin/api/v1/orgs").finally(() => (settled = true));
    // Wait until the node's read is queued behind the lock in PostgreSQL.
    psql.stdin.write("SELECT 'waiting:' || count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'orgs' AND NOT l.granted;\n");
    for (let i = 0; i < 100 && !/waiting:[1-9]/.test(out); i++) {
      await new Promise((r) => setTimeout(r, 100));
      psql.stdin.write("SELECT 'waiting:' || count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'orgs' AND NOT l.granted;\n");
    }
    assert.match(out, /waiting:[1-9]/, "the admin read never reached PostgreSQL");
    const ping = await Promise.race([
      fetch(a.url + "/ping").then((r) => r.status),
      new Promise((r) => setTimeout(() => r("no answer"), 10000)),
    ]);
    assert.equal(ping, 200, "the node stopped answering while an admin read waited");
    assert.equal(settled, false, "the admin read should still be waiting for the lock");
    psql.stdin.write("COMMIT; SELECT 'released';\n");
    await seen("released");
    const r = await listing;
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json.organizations));
  } finally {
    psql.stdin.end();
    await new Promise((r) => psql.once("exit", r));
  }
});
