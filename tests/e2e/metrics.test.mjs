// metrics.test.mjs — issue 17: the S2 metrics API through the official SDK
// (s2.metrics.account/basin/stream), every set at every level, empty ranges, the validation
// rules (422 as S2, 400 for malformed values, table-driven per parameter), the
// account-/basin-/stream-metrics token ops, usage that survives a restart (graceful, and a
// SIGKILL after a flush), locations, and the default storage class in a basin's config.
//
// Expected figures come from the contract: metered size = 8 + 2·H + Σ(name+value) + body
// (s2-api.md §3.2); every body here has no headers, so 8 + body length.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { S2, AppendInput, AppendRecord } from "@s2-dev/streamstore";
import { rmSync } from "node:fs";
import { startWeir } from "./harness.mjs";
import { rejectsWith } from "./helpers.mjs";

let weir;
let s2;
before(async () => {
  weir = await startWeir();
  s2 = client(weir, weir.token);
});
after(async () => {
  await weir?.stop();
});

function client(w, token) {
  return new S2({ accessToken: token, endpoints: { account: w.url, basin: w.url }, retry: { maxAttempts: 1 } });
}

let seq = 0;
const basinName = (tag) => `met-${tag}-${process.pid}-${++seq}`.slice(0, 48).replace(/-+$/, "");
const metered = (bodies) => bodies.reduce((n, b) => n + 8 + Buffer.byteLength(b), 0);
const now = () => Date.now();
const HOUR = 3600 * 1000;
const sum = (values) => values.reduce((n, [, v]) => n + v, 0);

/** The metric of `kind` named `name` in a MetricSetResponse (SDK shape). */
function metric(res, kind, name) {
  const m = res.values.find((v) => v[kind] && v[kind].name === name);
  assert.ok(m, `no ${kind} "${name}" in ${JSON.stringify(res)}`);
  return m[kind];
}

const rejectsStatus = (fn, status) => rejectsWith(fn, { status });

async function raw(w, path, token = w.token) {
  const res = await fetch(`${w.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

/** A basin with stream `s` holding `bodies` (two appends), one unary read, one read session. */
async function traffic(tag, bodies) {
  const name = basinName(tag);
  await s2.basins.create({ basin: name });
  const basin = s2.basin(name);
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  const half = Math.ceil(bodies.length / 2);
  await stream.append(AppendInput.create(bodies.slice(0, half).map((b) => AppendRecord.string({ body: b }))));
  if (bodies.length > half)
    await stream.append(AppendInput.create(bodies.slice(half).map((b) => AppendRecord.string({ body: b }))));
  const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: bodies.length } } });
  assert.equal(batch.records.length, bodies.length);
  return { name, basin, stream };
}

test("basin metrics: every set, from the SDK", async () => {
  const bodies = ["alpha", "beta", "gamma", "delta"];
  const { name } = await traffic("sets", bodies);
  const window = { basin: name, start: now() - HOUR, end: now() };

  const storage = await s2.metrics.basin({ ...window, set: "storage" });
  const g = metric(storage, "gauge", "storage");
  assert.equal(g.unit, "bytes");
  assert.ok(g.values.length >= 1);
  assert.equal(g.values.at(-1)[1], metered(bodies), "storage is the metered bytes on disk, live");
  assert.ok(g.values.at(-1)[0] instanceof Date);

  const appendOps = await s2.metrics.basin({ ...window, set: "append-ops", interval: "minute" });
  assert.equal(sum(metric(appendOps, "accumulation", "express").values), 2, "two appends");
  assert.equal(metric(appendOps, "accumulation", "express").interval, "minute");
  assert.equal(metric(appendOps, "accumulation", "express").unit, "operations");
  assert.deepEqual(metric(appendOps, "accumulation", "standard").values, []);

  const appendBytes = await s2.metrics.basin({ ...window, set: "append-throughput" });
  assert.equal(sum(metric(appendBytes, "accumulation", "express").values), metered(bodies));
  assert.equal(metric(appendBytes, "accumulation", "express").unit, "bytes");
  assert.equal(metric(appendBytes, "accumulation", "express").interval, "hour", "hour by default");

  const readOps = await s2.metrics.basin({ ...window, set: "read-ops", interval: "day" });
  assert.equal(sum(metric(readOps, "accumulation", "unary").values), 1);
  assert.deepEqual(metric(readOps, "accumulation", "streaming").values, []);

  const readBytes = await s2.metrics.basin({ ...window, set: "read-throughput" });
  assert.equal(sum(metric(readBytes, "accumulation", "read-throughput").values), metered(bodies));

  const basinOps = await s2.metrics.basin({ ...window, set: "basin-ops" });
  assert.equal(sum(metric(basinOps, "accumulation", "create-stream").values), 1);
  for (const v of basinOps.values) assert.ok(sum(v.accumulation.values) > 0, "only non-zero ops are listed");
});

test("stream metrics: storage per stream, hour and day", async () => {
  const { name, basin } = await traffic("stream", ["one", "two"]);
  await basin.streams.create({ stream: "other" });
  await basin.stream("other").append(AppendInput.create([AppendRecord.string({ body: "x".repeat(100) })]));
  const res = await s2.metrics.stream({ basin: name, stream: "s", set: "storage", start: now() - 2 * HOUR, end: now() });
  const g = metric(res, "gauge", "storage");
  assert.equal(g.values.length, 3, "one reading per hour of the range, the current one included");
  assert.equal(g.values.at(-1)[1], metered(["one", "two"]));
  const day = await s2.metrics.stream({ basin: name, stream: "other", set: "storage", start: now() - HOUR, end: now(), interval: "day" });
  assert.equal(metric(day, "gauge", "storage").values.at(-1)[1], 108);
  const none = await s2.metrics.stream({ basin: name, stream: "never", set: "storage", start: now() - HOUR, end: now() });
  assert.ok(metric(none, "gauge", "storage").values.every(([, v]) => v === 0));
});

test("account metrics: active basins and account ops; empty ranges", async () => {
  const { name } = await traffic("acct", ["a"]);
  await s2.basins.list();
  const window = { start: now() - HOUR, end: now() };
  const active = await s2.metrics.account({ ...window, set: "active-basins" });
  assert.ok(metric(active, "label", "active-basins").values.includes(name));
  const ops = await s2.metrics.account({ ...window, set: "account-ops", interval: "minute" });
  assert.ok(sum(metric(ops, "accumulation", "list-basins").values) >= 1);
  assert.ok(sum(metric(ops, "accumulation", "create-basin").values) >= 1);

  // A range long before anything happened: no labels, no accumulation points, zero gauges.
  const old = { start: now() - 20 * 24 * HOUR, end: now() - 19 * 24 * HOUR };
  assert.deepEqual(metric(await s2.metrics.account({ ...old, set: "active-basins" }), "label", "active-basins").values, []);
  assert.deepEqual((await s2.metrics.account({ ...old, set: "account-ops" })).values, []);
  assert.deepEqual(metric(await s2.metrics.basin({ ...old, basin: name, set: "append-ops" }), "accumulation", "express").values, []);
  const g = metric(await s2.metrics.basin({ ...old, basin: name, set: "storage" }), "gauge", "storage");
  assert.equal(g.values.length, 25);
  assert.ok(g.values.every(([, v]) => v === 0));
});

test("validation: 422 as S2 does it, through the SDK", async () => {
  const { name } = await traffic("val", ["v"]);
  const t = now();
  const rows = [
    ["start after end", () => s2.metrics.basin({ basin: name, set: "append-ops", start: t, end: t - HOUR })],
    ["end in the future", () => s2.metrics.basin({ basin: name, set: "append-ops", start: t, end: t + HOUR })],
    ["range over 30 days", () => s2.metrics.basin({ basin: name, set: "append-ops", start: t - 31 * 24 * HOUR, end: t })],
    ["minute storage (basin)", () => s2.metrics.basin({ basin: name, set: "storage", start: t - HOUR, end: t, interval: "minute" })],
    ["minute storage (stream)", () => s2.metrics.stream({ basin: name, stream: "s", set: "storage", start: t - HOUR, end: t, interval: "minute" })],
    ["missing start", () => s2.metrics.account({ set: "active-basins", end: t })],
    ["missing end", () => s2.metrics.account({ set: "account-ops", start: t - HOUR })],
    ["missing both", () => s2.metrics.stream({ basin: name, stream: "s", set: "storage" })],
  ];
  for (const [label, fn] of rows) {
    try {
      await rejectsStatus(fn, 422);
    } catch (e) {
      e.message = `${label}: ${e.message}`;
      throw e;
    }
  }
  // A few minutes ahead is tolerated (clock differences).
  await s2.metrics.basin({ basin: name, set: "append-ops", start: t - HOUR, end: t + 60 * 1000 });
});

test("validation: every query parameter's bad inputs (table)", async () => {
  const B = basinName("tbl");
  await s2.basins.create({ basin: B });
  const e = Math.floor(now() / 1000);
  const s = e - 3600;
  const rows = [
    // [path, status, code]
    [`/v1/metrics?start=${s}&end=${e}`, 400, "bad_query"], // no set
    [`/v1/metrics?set=storage&start=${s}&end=${e}`, 400, "bad_query"], // not an account set
    [`/v1/metrics?set=nope&start=${s}&end=${e}`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=active-basins&start=${s}&end=${e}`, 400, "bad_query"], // not a basin set
    [`/v1/metrics/${B}/s?set=append-ops&start=${s}&end=${e}`, 400, "bad_query"], // not a stream set
    [`/v1/metrics/${B}?set=storage&start=abc&end=${e}`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=storage&start=-5&end=${e}`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=storage&start=1.5&end=${e}`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=storage&start=&end=${e}`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=storage&start=${s}&end=9999999999999`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=storage&start=${s}&end=x`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=append-ops&start=${s}&end=${e}&interval=week`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=append-ops&start=${s}&end=${e}&interval=`, 400, "bad_query"],
    [`/v1/metrics/${B}?set=append-ops&start=${s}&end=${e}&interval=%ZZ`, 400, "bad_query"],
    [`/v1/metrics/NotABasin?set=storage&start=${s}&end=${e}`, 400, "bad_path"],
    [`/v1/metrics/${B}/a%00b?set=storage&start=${s}&end=${e}`, 400, "bad_path"],
    [`/v1/metrics/${B}?set=append-ops&end=${e}`, 422, "invalid"],
    [`/v1/metrics/${B}?set=append-ops&start=${s}`, 422, "invalid"],
    [`/v1/metrics/${B}?set=append-ops&start=${e}&end=${s}`, 422, "invalid"],
    [`/v1/metrics/${B}?set=append-ops&start=${s}&end=${e + 3600}`, 422, "invalid"],
    [`/v1/metrics/${B}?set=append-ops&start=${e - 30 * 86400 - 1}&end=${e}`, 422, "invalid"],
    [`/v1/metrics/${B}?set=storage&start=${s}&end=${e}&interval=minute`, 422, "invalid"],
    [`/v1/metrics/${B}/s?set=storage&start=${s}&end=${e}&interval=minute`, 422, "invalid"],
    [`/v1/metrics/${B}?set=append-ops&start=${e - 30 * 86400}&end=${e}&interval=minute`, 200, null], // exactly 30 days
  ];
  for (const [path, status, code] of rows) {
    const r = await raw(weir, path);
    assert.equal(r.status, status, `${path}: ${r.text}`);
    if (code) assert.equal(r.json?.code, code, path);
  }
  assert.equal((await raw(weir, `/v1/metrics?set=active-basins&start=${s}&end=${e}`, "nope")).status, 401);
});

test("tokens: account-metrics, basin-metrics and stream-metrics are enforced", async () => {
  const { name } = await traffic("tok", ["t"]);
  const other = basinName("tok-other");
  await s2.basins.create({ basin: other });
  const issue = async (id, scope) => {
    const res = await fetch(`${weir.url}/v1/access-tokens`, {
      method: "POST",
      headers: { ...weir.auth, "content-type": "application/json" },
      body: JSON.stringify({ id, scope }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()).access_token;
  };
  const basinOnly = await issue(`met-basin-${process.pid}`, { basins: { exact: name }, streams: { prefix: "" }, ops: ["basin-metrics"] });
  const streamOnly = await issue(`met-stream-${process.pid}`, { basins: { exact: name }, streams: { exact: "s" }, ops: ["stream-metrics"] });
  const account = await issue(`met-acct-${process.pid}`, { basins: { exact: name }, ops: ["account-metrics"] });
  const t = { start: now() - HOUR, end: now() };

  const b = client(weir, basinOnly);
  await b.metrics.basin({ ...t, basin: name, set: "append-ops" });
  await rejectsStatus(() => b.metrics.basin({ ...t, basin: other, set: "append-ops" }), 403);
  await rejectsStatus(() => b.metrics.stream({ ...t, basin: name, stream: "s", set: "storage" }), 403);
  await rejectsStatus(() => b.metrics.account({ ...t, set: "active-basins" }), 403);

  const st = client(weir, streamOnly);
  await st.metrics.stream({ ...t, basin: name, stream: "s", set: "storage" });
  await rejectsStatus(() => st.metrics.stream({ ...t, basin: name, stream: "s2", set: "storage" }), 403);
  await rejectsStatus(() => st.metrics.basin({ ...t, basin: name, set: "storage" }), 403);

  const a = client(weir, account);
  const active = metric(await a.metrics.account({ ...t, set: "active-basins" }), "label", "active-basins");
  assert.deepEqual(active.values, [name], "active basins are filtered by the token's basin scope");
  await rejectsStatus(() => a.metrics.basin({ ...t, basin: name, set: "storage" }), 403);
});

test("locations: one configured location; basins keep it; unknown → 422", async () => {
  assert.deepEqual(await s2.locations.list(), [{ name: "local", isPrivate: false }]);
  assert.deepEqual(await s2.locations.getDefault(), { name: "local", isPrivate: false });
  assert.deepEqual(await s2.locations.setDefault({ location: "local" }), { name: "local", isPrivate: false });
  await rejectsStatus(() => s2.locations.setDefault({ location: "mars-1" }), 422);

  const a = basinName("loc");
  const created = await s2.basins.create({ basin: a, location: "local" });
  assert.equal(created.location, "local");
  const b = basinName("loc");
  assert.equal((await s2.basins.create({ basin: b })).location, "local", "the default location");
  await rejectsStatus(() => s2.basins.create({ basin: basinName("loc"), location: "mars-1" }), 422);
  const listed = (await s2.basins.list({ prefix: a })).basins.find((x) => x.name === a);
  assert.equal(listed.location, "local");

  // A basin created without a storage class shows the default one, as S2 does.
  const cfg = await s2.basins.getConfig({ basin: b });
  assert.equal(cfg.defaultStreamConfig.storageClass, "express");
  const r = await raw(weir, `/v1/basins/${b}`);
  assert.equal(r.json.default_stream_config.storage_class, "express");
});

test("usage survives a graceful restart and a SIGKILL after a flush", async () => {
  const w = await startWeir({ args: ["--usage-flush-interval-ms", "50"] });
  const dataDir = w.dataDir;
  let w2, w3;
  try {
    const c = client(w, w.token);
    const name = basinName("restart");
    await c.basins.create({ basin: name });
    const stream = c.basin(name).stream("s");
    await c.basin(name).streams.create({ stream: "s" });
    const first = ["persisted-1", "persisted-2"];
    await stream.append(AppendInput.create(first.map((b) => AppendRecord.string({ body: b }))));
    await w.stop({ keepData: true });

    w2 = await startWeir({ dataDir, env: { WEIR_ROOT_TOKEN: w.token }, args: ["--usage-flush-interval-ms", "50"] });
    const c2 = client(w2, w.token);
    const q = () => ({ basin: name, set: "append-throughput", start: now() - HOUR, end: now() });
    assert.equal(sum(metric(await c2.metrics.basin(q()), "accumulation", "express").values), metered(first));

    // Append more, wait until a flush has written it (signalled by /metrics), then SIGKILL.
    const flushes = async () => {
      const text = await (await fetch(`${w2.url}/metrics`)).text();
      const m = text.match(/^weir_usage_flushes_total (\d+)/m);
      const p = text.match(/^weir_usage_pending_entries (\d+)/m);
      return { n: Number(m[1]), pending: Number(p[1]) };
    };
    const second = ["killed-but-flushed"];
    await c2.basin(name).stream("s").append(AppendInput.create(second.map((b) => AppendRecord.string({ body: b }))));
    const before = (await flushes()).n;
    for (let i = 0; i < 400; i++) {
      const f = await flushes();
      if (f.n > before && f.pending === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    w2.proc.kill("SIGKILL");
    await w2.exited;

    w3 = await startWeir({ dataDir, env: { WEIR_ROOT_TOKEN: w.token } });
    const c3 = client(w3, w.token);
    assert.equal(
      sum(metric(await c3.metrics.basin(q()), "accumulation", "express").values),
      metered(first) + metered(second),
      "the flushed counts survive a crash",
    );
    const storage = metric(await c3.metrics.stream({ basin: name, stream: "s", set: "storage", start: now() - HOUR, end: now() }), "gauge", "storage");
    assert.equal(storage.values.at(-1)[1], metered(first) + metered(second));
  } finally {
    await w3?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
