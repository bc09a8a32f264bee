// realtime-channels.test.mjs — issue 8 (scoped write tokens) and issue 9 (the two PUT routes of
// realtime.md §5), through the real binary:
// - PUT /realtime/v1/sessions/:session/:io answers 202 {"version":"v2"} with X-S2-* headers; the
//   official SDK, given ONLY the returned endpoint, basin, stream name and token, appends; root
//   reads the records back at the full name {prefix}/sessions/{key}/{io}.
// - The minted token is confined: another basin → 403, reads → 403; names are always taken
//   relative to the environment's prefix (auto_prefix_streams), so another environment's stream
//   cannot be reached at all (its records are untouched).
// - Provisioned org (plan pro) → its basin and env/… prefix; unprovisioned → the shared basin and
//   org/{orgId}/env/….
// - PUT /realtime/v1/streams/:runId/:target/:streamId for self/parent/root; completed → 400.
// - A table of bad inputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { S2, AppendInput, AppendRecord } from "@s2-dev/streamstore";
import { rejectsWith } from "./helpers.mjs";
import { realtimeHelpers, realtimeServer, SHARED } from "./realtime-helpers.mjs";

const server = realtimeServer();

// ---------------------------------------------------------------------------------------------
// Helpers

const { req, ok, uniq, tenant, putChannel, client, str, rootRead } = realtimeHelpers(server);

const rejects403 = (fn, what) => rejectsWith(fn, { status: 403, what });

// ---------------------------------------------------------------------------------------------
// Session channels

for (const kind of ["unprovisioned", "provisioned"]) {
  test(`session channel (${kind} org): SDK appends with only the returned headers; root reads them back`, async () => {
    const t = await tenant(kind === "provisioned" ? { plan: "pro" } : {});
    const ext = uniq("chat");
    const ch = await putChannel(`/realtime/v1/sessions/${ext}/out`, t.key);
    assert.equal(ch.basin, t.basin);
    assert.equal(ch.stream, `/sessions/${ext}/out`);
    const s2 = client(ch);
    const ack = await s2.basin(ch.basin).stream(ch.stream).append(AppendInput.create([str("r1"), str("r2")]));
    assert.equal(ack.end.seqNum, 2);
    const got = await rootRead(t.basin, `${t.prefix}/sessions/${ext}/out`);
    assert.deepEqual(got.bodies, ["r1", "r2"]);

    // A session row created afterwards (no row before: the org's basin) resolves the same way,
    // and addressing it by its session_ id names the channel by its externalId.
    const row = (await ok("POST", "/api/v1/sessions", { token: t.key, body: { externalId: ext } }, 201)).json;
    const byId = await putChannel(`/realtime/v1/sessions/${row.id}/in`, t.key);
    assert.equal(byId.stream, `/sessions/${ext}/in`);
    assert.equal(byId.basin, t.basin);
    // A session without an externalId: the channel is named by the session id.
    const bare = (await ok("POST", "/api/v1/sessions", { token: t.key, body: {} }, 201)).json;
    assert.equal((await putChannel(`/realtime/v1/sessions/${bare.id}/out`, t.key)).stream, `/sessions/${bare.id}/out`);
  });
}

test("the minted token: no other basin, no other environment, no reads", async () => {
  const a = await tenant();
  const b = await tenant();
  const own = await tenant({ plan: "pro" });
  const ch = await putChannel(`/realtime/v1/sessions/${uniq("s")}/out`, a.key);
  const chB = await putChannel(`/realtime/v1/sessions/${uniq("s")}/out`, b.key);
  const s2 = client(ch);
  await s2.basin(ch.basin).stream(chB.stream).append(AppendInput.create([str("seed-a")]));
  await client(chB).basin(chB.basin).stream(chB.stream).append(AppendInput.create([str("b1")]));

  // Another basin (another org's own, and one that does not exist).
  await rejects403(() => s2.basin(own.basin).stream(ch.stream).append(AppendInput.create([str("x")])), "append to another org's basin");
  await rejects403(() => s2.basin("some-other-basin").stream(ch.stream).append(AppendInput.create([str("x")])), "append to another basin");
  // Reads are not granted.
  await rejects403(() => s2.basin(ch.basin).stream(ch.stream).read({ start: { from: { seqNum: 0 } } }), "read");
  await rejects403(() => s2.basin(ch.basin).stream(ch.stream).checkTail(), "check tail");

  // Another environment's prefix: names are taken relative to the token's prefix, so writing to
  // b's full name lands under a's prefix and b's stream is untouched.
  const bFull = `${b.prefix}${chB.stream}`;
  await s2.basin(ch.basin).stream(bFull).append(AppendInput.create([str("intruder")]));
  await s2.basin(ch.basin).stream(`../${b.prefix.split("/").slice(-1)[0]}/${chB.stream}`).append(AppendInput.create([str("intruder2")]));
  assert.deepEqual((await rootRead(b.basin, bFull)).bodies, ["b1"], "b's channel unchanged");
  assert.deepEqual((await rootRead(a.basin, `${a.prefix}${bFull}`)).bodies, ["intruder"], "landed under a's own prefix");
});

test("the token is reused from the cache while fresh, per environment", async () => {
  const t = await tenant();
  const one = await putChannel(`/realtime/v1/sessions/${uniq("s")}/in`, t.key);
  const two = await putChannel(`/realtime/v1/sessions/${uniq("s")}/out`, t.key);
  assert.equal(one.token, two.token, "same basin and prefix: the cached token");
  const other = await tenant();
  const three = await putChannel(`/realtime/v1/sessions/${uniq("s")}/in`, other.key);
  assert.notEqual(three.token, one.token);
});

// ---------------------------------------------------------------------------------------------
// Run streams

test("run streams: self, parent and root; registered; completed → 400; unknown → 404", async () => {
  for (const plan of [undefined, "pro"]) {
    const t = await tenant({ plan });
    const root = (await ok("POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "root" } }, 201)).json;
    const mid = (await ok("POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "mid", parentRunId: root.id } }, 201)).json;
    const leaf = (await ok("POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "leaf", parentRunId: mid.id } }, 201)).json;
    for (const [target, want] of [["self", leaf.id], ["parent", mid.id], ["root", root.id]]) {
      const ch = await putChannel(`/realtime/v1/streams/${leaf.id}/${target}/out-${target}`, t.key);
      assert.equal(ch.basin, t.basin);
      assert.equal(ch.stream, `/runs/${want}/out-${target}`);
      await client(ch).basin(ch.basin).stream(ch.stream).append(AppendInput.create([str(target)]));
      assert.deepEqual((await rootRead(t.basin, `${t.prefix}/runs/${want}/out-${target}`)).bodies, [target]);
    }
    await ok("POST", `/api/v1/runs/${mid.id}/complete`, { token: t.key });
    const r = await req("PUT", `/realtime/v1/streams/${leaf.id}/parent/x`, { token: t.key });
    assert.equal(r.status, 400, r.text);
    await putChannel(`/realtime/v1/streams/${leaf.id}/self/still-open`, t.key);
    assert.equal((await req("PUT", `/realtime/v1/streams/${root.id}/parent/x`, { token: t.key })).status, 400, "no parent");
    assert.equal((await req("PUT", `/realtime/v1/streams/run_nope/self/x`, { token: t.key })).status, 404);
    assert.equal((await req("PUT", `/realtime/v1/streams/${leaf.id}/sibling/x`, { token: t.key })).status, 400);
    const other = await tenant();
    assert.equal((await req("PUT", `/realtime/v1/streams/${leaf.id}/self/x`, { token: other.key })).status, 404, "another env's run");
  }
});

// ---------------------------------------------------------------------------------------------
// Bad input

test("bad input and auth", async () => {
  const t = await tenant();
  const closed = (await ok("POST", "/api/v1/sessions", { token: t.key, body: { externalId: uniq("c") } }, 201)).json;
  await ok("POST", `/api/v1/sessions/${closed.id}/close`, { token: t.key, body: {} });
  const open = (await ok("POST", "/api/v1/sessions", { token: t.key, body: {} }, 201)).json;
  const other = await tenant();
  const rows = [
    ["bad io", `/realtime/v1/sessions/${open.id}/sideways`, t.key, 404],
    ["unknown session_ id", "/realtime/v1/sessions/session_doesnotexist/out", t.key, 404],
    ["session_ id of another env", `/realtime/v1/sessions/${open.id}/out`, other.key, 404],
    ["closed session by id", `/realtime/v1/sessions/${closed.id}/in`, t.key, 400],
    ["closed session by externalId", `/realtime/v1/sessions/${closed.externalId}/out`, t.key, 400],
    ["wrong key", `/realtime/v1/sessions/${open.id}/out`, "sk_wrong", 401],
    ["missing key", `/realtime/v1/sessions/${open.id}/out`, null, 401],
    ["root token is not an env key", `/realtime/v1/sessions/${open.id}/out`, undefined, 401],
    ["run stream, missing key", `/realtime/v1/streams/run_x/self/s`, null, 401],
  ];
  for (const [name, path, token, status] of rows) {
    const res = await req("PUT", path, { token });
    assert.equal(res.status, status, `${name}: ${res.text}`);
    assert.equal(typeof res.json?.error, "string", `${name}: {"error": …} body`);
  }
});
