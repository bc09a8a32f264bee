// security-realtime.test.mjs — regression tests for the realtime findings of the black-box attack
// (issue #13), through the real binary with the official S2 SDK as the attacker's client:
//   1. a browser's public token must not yield an environment-wide S2 write token: PUT `.in`
//      with a public token answers a token for exactly that stream, append only, short-lived;
//      minted tokens are revoked on key rotation, session close and basin change, and the cache
//      never hands out a revoked one;
//   4. names with control characters (session keys, externalIds, run stream ids) are 400 at every
//      entry point, and nothing from them reaches a response header (response splitting);
//   5. one tenant flooding X-Part-Id values cannot switch off another tenant's deduplication.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { AppendInput, AppendRecord, S2Error } from "@s2-dev/streamstore";
import { REMOTE } from "./harness.mjs";
import { realtimeHelpers, realtimeServer, SHARED } from "./realtime-helpers.mjs";

const server = realtimeServer();

const { req, call, ok, uniq, tenant, client, str, rootRead } = realtimeHelpers(server);

/** PUT a channel with `token` (asserting 202); the X-S2-* values. */
async function put(path, token) {
  const res = await call("PUT", path, { token });
  assert.equal(res.status, 202, `PUT ${path}: ${res.text}`);
  const h = (n) => res.headers.get(n);
  return { token: h("x-s2-access-token"), stream: h("x-s2-stream-name"), basin: h("x-s2-basin"), endpoint: h("x-s2-endpoint") };
}

/** Runs an SDK call; resolves to the HTTP status of its failure, or 200. */
async function statusOf(fn) {
  try {
    await fn();
    return 200;
  } catch (e) {
    assert.ok(e instanceof S2Error, `expected S2Error, got ${e}`);
    return e.status;
  }
}

const append = (ch, stream, records = [str("x")]) => () => client(ch).basin(ch.basin).stream(stream).append(AppendInput.create(records));

/** The minted token with this secret, as root lists it. */
async function tokenInfo(prefix) {
  const res = await req("GET", `/v1/access-tokens?prefix=${encodeURIComponent(prefix)}`);
  assert.equal(res.status, 200, res.text);
  return res.json.access_tokens;
}

async function session(t, externalId) {
  return (await ok("POST", "/api/v1/sessions", { token: t.key, body: { externalId } }, 201)).json;
}

// ---------------------------------------------------------------------------------------------
// 1. Write tokens handed to browsers

for (const kind of ["unprovisioned", "provisioned"]) {
  test(`public token PUT .in (${kind} org): a token for that one stream, append only, short-lived`, async (t) => {
    const ten = await tenant(kind === "provisioned" ? { plan: "pro" } : {});
    const mine = await session(ten, uniq("mine"));
    const theirs = await session(ten, uniq("theirs"));
    const run = (await ok("POST", "/api/v1/runs", { token: ten.key, body: { taskIdentifier: "t" } }, 201)).json;
    // What the victim's streams look like, written with the secret key's credentials.
    const agent = await put(`/realtime/v1/sessions/${theirs.externalId}/out`, ten.key);
    await append(agent, agent.stream, [str("real answer")])();
    const runCh = await put(`/realtime/v1/streams/${run.id}/self/chat`, ten.key);
    await append(runCh, runCh.stream, [str("run chunk")])();

    const ch = await put(`/realtime/v1/sessions/${mine.externalId}/in`, mine.publicAccessToken);
    const full = `${ten.prefix}/sessions/${mine.externalId}/in`;
    assert.equal(ch.stream, full, "a public caller gets the stream's full name");
    assert.equal(ch.basin, ten.basin);
    assert.notEqual(ch.token, agent.token, "not the environment's token");
    // Its own stream: append works.
    assert.equal(await statusOf(append(ch, full, [str("hello")])), 200);
    assert.deepEqual((await rootRead(ten.basin, full)).bodies, ["hello"]);
    // Everything else of the environment is refused: every row is a finding of the attack.
    const theirsOut = `${ten.prefix}/sessions/${theirs.externalId}/out`;
    const runStream = `${ten.prefix}/runs/${run.id}/chat`;
    const rows = [
      ["forged turn-complete on another session's .out", append(ch, theirsOut, [AppendRecord.string({ body: "", headers: [["trigger-control", "turn-complete"]] })])],
      ["append to another session's .out", append(ch, theirsOut)],
      ["append to a run stream", append(ch, runStream)],
      ["append to its own .out", append(ch, `${ten.prefix}/sessions/${mine.externalId}/out`)],
      ["append under its own name + suffix", append(ch, `${full}/x`)],
      ["trim another session's .out", append(ch, theirsOut, [AppendRecord.trim(10)])],
      ["trim its own stream", append(ch, full, [AppendRecord.trim(1)])],
      ["fence its own stream", append(ch, full, [AppendRecord.fence("mine")])],
      ["read its own stream", () => client(ch).basin(ch.basin).stream(full).read({ start: { from: { seqNum: 0 } } })],
      ["create a stream with a config", () => client(ch).basin(ch.basin).streams.create({ stream: `${ten.prefix}/sessions/new/in`, config: { retentionPolicy: { age: 1 } } })],
      ["delete its own stream", () => client(ch).basin(ch.basin).streams.delete({ stream: full })],
      ["another basin", append(ch, full).bind(null)],
    ];
    rows[rows.length - 1][1] = () => client(ch).basin(ten.basin === SHARED ? "weir-dev-org-x" : SHARED).stream(full).append(AppendInput.create([str("x")]));
    for (const [what, fn] of rows) assert.equal(await statusOf(fn), 403, what);
    assert.deepEqual((await rootRead(ten.basin, theirsOut)).bodies, ["real answer"], "the victim's .out is untouched");
    assert.deepEqual((await rootRead(ten.basin, runStream)).bodies, ["run chunk"]);
    assert.deepEqual((await rootRead(ten.basin, full)).bodies, ["hello"]);

    // Short-lived: at most 15 minutes and never past the public token (1 h here).
    const infos = await tokenInfo(`rt-${ten.org.id}-${ten.env.id}-s`);
    assert.equal(infos.length, 1, JSON.stringify(infos));
    const left = Date.parse(infos[0].expires_at) - Date.now();
    t.diagnostic(`stream token expires in ${Math.round(left / 1000)} s`);
    assert.ok(left > 0 && left <= 15 * 60 * 1000 + 5000, `expires_at ${infos[0].expires_at}`);
    assert.deepEqual(infos[0].scope.ops, ["append"]);
    assert.deepEqual(infos[0].scope.streams, { exact: full });
    assert.equal(infos[0].auto_prefix_streams, false);

    // A public token whose own expiry is sooner bounds the S2 token's.
    const short = (await ok("POST", "/api/v1/auth/public-tokens", { token: ten.key, body: { scopes: [`write:sessions:${mine.externalId}`], expirationTime: "2m" } })).json.token;
    await put(`/realtime/v1/sessions/${mine.externalId}/in`, short);
    const after = await tokenInfo(`rt-${ten.org.id}-${ten.env.id}-s`);
    const soonest = Math.min(...after.map((i) => Date.parse(i.expires_at)));
    assert.ok(soonest - Date.now() <= 2 * 60 * 1000 + 5000, "not past the caller's 2-minute token");
  });
}

test("the secret key still gets the environment's prefix token (realtime.md §4)", async () => {
  const ten = await tenant();
  const a = await put(`/realtime/v1/sessions/${uniq("a")}/in`, ten.key);
  const b = await put(`/realtime/v1/sessions/${uniq("b")}/out`, ten.key);
  assert.equal(a.token, b.token, "cached per environment");
  assert.match(a.stream, /^\/sessions\//);
  assert.equal(await statusOf(append(a, b.stream)), 200, "any stream of the environment");
  assert.equal(await statusOf(append(a, b.stream, [AppendRecord.trim(0)])), 200, "trim");
});

test("revocation: key rotation, session close and basin change; the cache never returns a revoked token", async () => {
  const ten = await tenant();
  const s = await session(ten, uniq("s"));
  const env1 = await put(`/realtime/v1/sessions/${s.externalId}/out`, ten.key);
  const pub1 = await put(`/realtime/v1/sessions/${s.externalId}/in`, s.publicAccessToken);
  assert.equal(await statusOf(append(env1, env1.stream)), 200);
  assert.equal(await statusOf(append(pub1, pub1.stream)), 200);

  // Rotation: every token minted for the environment stops working at once.
  const newKey = (await ok("POST", `/admin/api/v1/environments/${ten.env.id}/rotate-key`)).json.apiKey;
  assert.equal(await statusOf(append(env1, env1.stream)), 401, "env token after rotation");
  assert.equal(await statusOf(append(pub1, pub1.stream)), 401, "stream token after rotation");
  assert.equal((await call("PUT", `/realtime/v1/sessions/${s.externalId}/out`, { token: ten.key })).status, 401, "old key");
  const env2 = await put(`/realtime/v1/sessions/${s.externalId}/out`, newKey);
  assert.notEqual(env2.token, env1.token, "not the revoked token from the cache");
  assert.equal(await statusOf(append(env2, env2.stream)), 200);

  // Session close: its stream tokens go; the environment's stays.
  const s2 = (await ok("POST", "/api/v1/sessions", { token: newKey, body: { externalId: uniq("s2") } }, 201)).json;
  const pub2 = await put(`/realtime/v1/sessions/${s2.externalId}/in`, s2.publicAccessToken);
  const other = await session({ key: newKey }, uniq("other"));
  const pubOther = await put(`/realtime/v1/sessions/${other.externalId}/in`, other.publicAccessToken);
  assert.equal(await statusOf(append(pub2, pub2.stream)), 200);
  await ok("POST", `/api/v1/sessions/${s2.id}/close`, { token: newKey, body: {} });
  assert.equal(await statusOf(append(pub2, pub2.stream)), 401, "stream token after close");
  assert.equal(await statusOf(append(pubOther, pubOther.stream)), 200, "another session's token stays");
  assert.equal(await statusOf(append(env2, env2.stream)), 200, "the environment's token stays");

  // Basin change (plan → own basin): the organization's tokens go.
  await ok("PUT", `/admin/api/v1/orgs/${ten.org.id}/plan`, { body: { plan: "pro" } });
  assert.equal(await statusOf(append(env2, env2.stream)), 401, "env token after provisioning");
  assert.equal(await statusOf(append(pubOther, pubOther.stream)), 401, "stream token after provisioning");
  const env3 = await put(`/realtime/v1/sessions/${uniq("new")}/out`, newKey);
  assert.notEqual(env3.token, env2.token);
  assert.equal(await statusOf(append(env3, env3.stream)), 200);
});

// ---------------------------------------------------------------------------------------------
// 4. Control characters in names

const BAD_NAMES = [
  ["CR LF + header", "x%0D%0ASet-Cookie:%20pwned=1%0D%0AX-Evil:%201"],
  ["LF", "a%0Ab"],
  ["CR", "a%0Db"],
  ["TAB", "a%09b"],
  ["ESC", "a%1Bb"],
  ["DEL", "a%7Fb"],
  ["NUL", "a%00b"],
  ["invalid UTF-8", "a%FFb"],
  ["truncated UTF-8", "a%C3"],
];

test("names with control characters are refused at every entry point (400), nothing reaches a header", async () => {
  const ten = await tenant();
  const run = (await ok("POST", "/api/v1/runs", { token: ten.key, body: { taskIdentifier: "t" } }, 201)).json;
  const failures = [];
  for (const [what, bad] of BAD_NAMES) {
    const rows = [
      ["PUT", `/realtime/v1/sessions/${bad}/in`],
      ["GET", `/realtime/v1/sessions/${bad}/out`],
      ["HEAD", `/realtime/v1/sessions/${bad}/out`],
      ["POST", `/realtime/v1/sessions/${bad}/in/append`, "text"],
      ["GET", `/realtime/v1/sessions/${bad}/out/records`],
      ["POST", `/api/v1/sessions/${bad}/in/wait`, {}],
      ["GET", `/api/v1/sessions/${bad}`],
      ["POST", `/api/v1/sessions/${bad}/close`, {}],
      ["PUT", `/realtime/v1/streams/${run.id}/self/${bad}`],
      ["POST", `/realtime/v1/streams/${run.id}/self/${bad}/append`, "text"],
      ["GET", `/realtime/v1/streams/${run.id}/${bad}`],
      ["POST", `/realtime/v1/streams/${run.id}/input/${bad}`, { data: 1 }],
      ["PUT", `/realtime/v1/streams/${bad}/self/chat`],
    ];
    for (const [method, path, body] of rows) {
      const res = await call(method, path, { token: ten.key, body });
      const injected = [...res.headers.keys()].filter((k) => k === "set-cookie" || k === "x-evil");
      if (res.status !== 400 || injected.length || (method !== "HEAD" && typeof res.json?.error !== "string" && typeof res.json?.message !== "string"))
        failures.push(`${what}: ${method} ${path} → ${res.status} ${res.text.slice(0, 120)} injected=${injected}`);
    }
  }
  assert.deepEqual(failures, []);
});

test("externalId and other body names with control characters are 400 and never stored", async () => {
  const ten = await tenant();
  const bad = ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\tb", "a\u0000b", "a\u001bb", "a\u007fb"];
  for (const v of bad) {
    for (const field of ["externalId", "type", "taskIdentifier"]) {
      const res = await call("POST", "/api/v1/sessions", { token: ten.key, body: { [field]: v } });
      assert.equal(res.status, 400, `${field}=${JSON.stringify(v)}: ${res.text}`);
      // (A NUL never gets past the JSON parser.)
      if (!v.includes("\u0000")) assert.match(res.json.error, new RegExp(field));
    }
  }
  const list = await req("GET", `/api/v1/sessions/${encodeURIComponent("a\r\nSet-Cookie: x=1")}`, { token: ten.key });
  assert.equal(list.status, 400);
});

test("response splitting over the wire: one response, no injected header, on a kept-alive connection", async () => {
  const ten = await tenant();
  const raw = await new Promise((resolve, reject) => {
    const s = net.connect(server().port, "127.0.0.1", () =>
      s.write(
        `PUT /realtime/v1/sessions/x%0D%0ASet-Cookie:%20pwned=1%0D%0AContent-Length:%200%0D%0A%0D%0AHTTP%2F1.1%20200%20OK/in HTTP/1.1\r\n` +
          `host: x\r\nauthorization: Bearer ${ten.key}\r\ncontent-length: 0\r\n\r\n` +
          `GET /ping HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
      ),
    );
    let out = "";
    s.on("data", (d) => (out += d));
    s.on("close", () => resolve(out));
    s.on("error", reject);
  });
  assert.deepEqual(raw.match(/HTTP\/1\.1 \d{3} /g), ["HTTP/1.1 400 ", "HTTP/1.1 200 "], raw);
  assert.doesNotMatch(raw, /set-cookie/i);
});

// ---------------------------------------------------------------------------------------------
// 5. X-Part-Id: one tenant's flood never evicts another's ids

/** Appends ids c, c+step, … < n on one keep-alive connection, 64 requests in flight at a time;
 * rejects on any answer but 200. */
function flood(path, key, c, step, n) {
  return new Promise((resolve, reject) => {
    const s = net.connect(server().port, "127.0.0.1");
    const ids = [];
    for (let i = c; i < n; i += step) ids.push(i);
    let sent = 0;
    let answered = 0;
    let buf = "";
    const send = () => {
      let chunk = "";
      while (sent < ids.length && sent - answered < 64) {
        chunk += `POST ${path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\nx-part-id: flood-${ids[sent++]}\r\ncontent-type: text/plain\r\ncontent-length: 1\r\n\r\nf`;
      }
      if (chunk) s.write(chunk);
    };
    s.on("connect", send);
    s.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = buf.slice(0, end);
        const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) break;
        if (!head.startsWith("HTTP/1.1 200 ")) return reject(new Error(`flood: ${buf.slice(0, 300)}`));
        buf = buf.slice(end + 4 + len);
        answered++;
      }
      if (answered === ids.length) {
        s.end();
        resolve();
      } else {
        send();
      }
    });
    s.on("error", reject);
  });
}

// The part-id table is the realtime layer's own, whatever the backend: over the remote one the
// 101,000 appends would only measure the upstream round trips.
test("a flood of X-Part-Id values from one tenant leaves another tenant's (and its other streams') dedupe intact", { skip: REMOTE && "backend-independent; run embedded" }, async (t) => {
  const victim = await tenant();
  const attacker = await tenant();
  const vs = await session(victim, uniq("v"));
  const as = await session(attacker, uniq("a"));
  const as2 = await session(attacker, uniq("a2"));
  const appendWithId = (ten, s, id, body) =>
    call("POST", `/realtime/v1/sessions/${s.externalId}/in/append`, { token: ten.key, headers: { "x-part-id": id }, body });
  const first = await appendWithId(victim, vs, "victim-part", "v1");
  assert.equal(first.status, 200, first.text);
  const own = await appendWithId(attacker, as2, "attacker-other-stream", "a1");
  assert.equal(own.status, 200);

  // 101,000 unique ids from the attacker on one stream: more than a process-wide table of
  // 100,000 would hold. Raw pipelined connections, to keep the client's cost low.
  const N = Number(process.env.FLOOD_N ?? 101_000);
  const started = Date.now();
  const path = `/realtime/v1/sessions/${as.externalId}/in/append`;
  await Promise.all(Array.from({ length: 8 }, (_, c) => flood(path, attacker.key, c, 8, N)));
  t.diagnostic(`${N} flooding appends in ${Date.now() - started} ms`);

  // The victim's id is still remembered: a retry is answered with the first seq, not rewritten.
  const retry = await appendWithId(victim, vs, "victim-part", "v1-retry");
  assert.equal(retry.status, 200);
  assert.equal(retry.json.seq, first.json.seq, "deduplicated");
  // So is the attacker's own id on its other stream (the limit is per stream too).
  const ownRetry = await appendWithId(attacker, as2, "attacker-other-stream", "again");
  assert.equal(ownRetry.json.seq, own.json.seq);
  const stored = await rootRead(victim.basin, `${victim.prefix}/sessions/${vs.externalId}/in`);
  assert.equal(stored.bodies.length, 1, "the victim's stream holds one record");
});
