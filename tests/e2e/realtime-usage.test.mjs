// realtime-usage.test.mjs — issue 8, usage per organization: GET /admin/api/v1/orgs/:orgId/usage
// through the real binary. A channel token is minted with PUT /realtime/v1/sessions/:session/out,
// records are appended through the S2 API with it and read back by root; the org's usage counts
// exactly those records and metered bytes (8 + body length each, no headers):
// - unprovisioned org: the shared basin, attributed by the org/{orgId}/ prefix — another org's
//   traffic in the same basin does not count;
// - provisioned org (plan pro): its own basin, whole, plus its (empty) share of the shared basin;
// - root token only; unknown org → 404;
// - the figures come from the persisted usage series (issue 17): they survive a restart, and any
//   range and interval can be asked for (bad parameters: 400, table-driven).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { S2, AppendInput, AppendRecord } from "@s2-dev/streamstore";
import { startWeir, REMOTE, s2Of } from "./harness.mjs";
import { realtimeEnv, realtimeHelpers, SHARED } from "./realtime-helpers.mjs";

let weir;
before(async () => {
  weir = await startWeir({ env: realtimeEnv() });
});
after(async () => {
  await weir?.stop();
});

// ---------------------------------------------------------------------------------------------
// Helpers

const { req, ok, uniq, tenant, putChannel, client, str, rootRead } = realtimeHelpers(() => weir);

const usage = async (t) => (await ok("GET", `/admin/api/v1/orgs/${t.org.id}/usage`)).json;
const COUNTERS = ["appendedRecords", "appendedBytes", "readRecords", "readBytes", "storedBytes"];

/** Mints a channel for session `key`, appends `bodies` with the minted token, reads them back as root. */
async function traffic(t, key, bodies) {
  const ch = await putChannel(`/realtime/v1/sessions/${key}/out`, t.key);
  assert.equal(ch.basin, t.basin);
  await client(ch).basin(ch.basin).stream(ch.stream).append(AppendInput.create(bodies.map(str)));
  const r = await rootRead(t.basin, `${t.prefix}/sessions/${key}/out`);
  assert.equal(r.status, 200, String(r.bodies));
  assert.deepEqual(r.bodies, bodies);
}
const metered = (bodies) => bodies.reduce((n, b) => n + 8 + Buffer.byteLength(b), 0);

function checkShape(u, org) {
  assert.equal(u.organizationId, org.id);
  assert.ok(Array.isArray(u.basins));
  for (const b of u.basins) for (const k of COUNTERS) assert.ok(Number.isInteger(b[k]) && b[k] >= 0, `${b.basin}.${k}`);
  for (const k of COUNTERS) assert.equal(u.total[k], u.basins.reduce((n, b) => n + b[k], 0), `total.${k}`);
}

// Over the remote stream backend the counters live with the S2 endpoint, not here.
const EMBEDDED_ONLY = { skip: REMOTE && "usage counters are the embedded store's" };

test("remote stream backend: usage is 501 with a pointer to the S2 endpoint's metrics", { skip: !REMOTE }, async () => {
  const t = await tenant();
  const r = await req("GET", `/admin/api/v1/orgs/${t.org.id}/usage`);
  assert.equal(r.status, 501, r.text);
  assert.match(r.json.error, /remote stream backend/);
});

test("unprovisioned org: shared-basin usage attributed by the org/{orgId}/ prefix", EMBEDDED_ONLY, async () => {
  const a = await tenant();
  const b = await tenant();
  const before = await usage(a);
  checkShape(before, a.org);
  assert.deepEqual(before.basins.map((x) => [x.basin, x.shared]), [[SHARED, true]]);
  assert.equal(before.total.appendedRecords, 0);

  const bodiesA = ["hello", "usage", "weir!"];
  const bodiesB = ["intruder-1", "intruder-2", "intruder-3", "intruder-4"];
  await traffic(a, "chat-a", bodiesA);
  await traffic(b, "chat-b", bodiesB);

  const ua = await usage(a);
  checkShape(ua, a.org);
  assert.equal(ua.basins.length, 1);
  const s = ua.basins[0];
  assert.equal(s.appendedRecords, 3);
  assert.equal(s.appendedBytes, metered(bodiesA));
  assert.equal(s.readRecords, 3);
  assert.equal(s.readBytes, metered(bodiesA));

  const ub = await usage(b);
  checkShape(ub, b.org);
  assert.equal(ub.total.appendedRecords, 4, "b sees only its own traffic");
  assert.equal(ub.total.appendedBytes, metered(bodiesB));
  assert.equal(ub.total.readRecords, 4);
});

test("provisioned org: its own basin, whole", EMBEDDED_ONLY, async () => {
  const p = await tenant({ plan: "pro" });
  const bodies = ["one", "two"];
  await traffic(p, "chat-p", bodies);
  // A stream outside the environment prefix still counts: the whole basin is the org's.
  const res = await fetch(`${s2Of(weir).url}/v1/streams/${encodeURIComponent("elsewhere")}/records`, {
    method: "POST",
    headers: { ...s2Of(weir).auth, "s2-basin": p.basin, "content-type": "application/json" },
    body: JSON.stringify({ records: [{ body: "x" }] }),
  });
  assert.equal(res.status, 200, await res.text());

  const u = await usage(p);
  checkShape(u, p.org);
  const own = u.basins.find((x) => x.basin === p.basin);
  assert.ok(own, JSON.stringify(u));
  assert.equal(own.shared, false);
  assert.equal(own.appendedRecords, 3);
  assert.equal(own.appendedBytes, metered(bodies) + 9);
  assert.equal(own.readRecords, 2);
  assert.equal(own.readBytes, metered(bodies));
  const shared = u.basins.find((x) => x.shared);
  assert.equal(shared.basin, SHARED);
  assert.equal(shared.appendedRecords, 0);
  assert.equal(u.total.appendedRecords, 3);
});

test("usage: from the persisted series — survives a restart; ranges and intervals", EMBEDDED_ONLY, async () => {
  const t = await tenant();
  await traffic(t, "chat-restart", ["kept", "across"]);
  const before = await usage(t);
  assert.equal(before.total.appendedRecords, 2);
  assert.equal(before.interval, "day");
  assert.ok(before.end - before.start === 30 * 86400, "30 days by default");
  assert.equal(before.series.reduce((n, b) => n + b.appendedRecords, 0), 2);
  const dataDir = weir.dataDir;
  const token = weir.token;
  await weir.stop({ keepData: true });
  weir = await startWeir({
    dataDir,
    env: realtimeEnv({ WEIR_ROOT_TOKEN: token }),
  });
  const after = await usage(t);
  for (const k of COUNTERS) assert.equal(after.total[k], before.total[k], `${k} after a restart`);

  const now = Math.floor(Date.now() / 1000);
  const hourly = (await ok("GET", `/admin/api/v1/orgs/${t.org.id}/usage?start=${now - 7200}&end=${now}&interval=hour`)).json;
  assert.equal(hourly.series.length, 3);
  assert.equal(hourly.total.appendedRecords, 2);
  const old = (await ok("GET", `/admin/api/v1/orgs/${t.org.id}/usage?start=${now - 90 * 86400}&end=${now - 60 * 86400}`)).json;
  assert.equal(old.total.appendedRecords, 0);
  assert.equal(old.total.storedBytes, 0);
});

test("usage: bad parameters are 400 (table)", EMBEDDED_ONLY, async () => {
  const t = await tenant();
  const now = Math.floor(Date.now() / 1000);
  for (const q of [
    "start=abc", "start=-1", "start=1.5", "start=", "end=x", "end=", `start=${now}&end=${now - 10}`,
    "interval=week", "interval=", `start=${now - 40 * 86400}&end=${now}&interval=minute`, "interval=%ZZ",
  ]) {
    const r = await req("GET", `/admin/api/v1/orgs/${t.org.id}/usage?${q}`);
    assert.equal(r.status, 400, `${q}: ${JSON.stringify(r.json)}`);
    assert.ok(r.json.error, q);
  }
  assert.equal((await req("GET", `/admin/api/v1/orgs/${t.org.id}/usage?start=${now - 60}&end=${now}&interval=minute`)).status, 200);
});

test("usage: root token only; unknown org is 404", async () => {
  const t = await tenant();
  assert.equal((await req("GET", `/admin/api/v1/orgs/${t.org.id}/usage`, { token: null })).status, 401);
  assert.equal((await req("GET", `/admin/api/v1/orgs/${t.org.id}/usage`, { token: t.key })).status, 401);
  assert.equal((await req("GET", "/admin/api/v1/orgs/nope/usage")).status, 404);
});
