// s2-sdk.test.mjs — the official S2 TypeScript SDK (@s2-dev/streamstore, pinned in
// package-lock.json) against a real `weir serve`, unmodified: basin and stream CRUD with every
// config field, appends (headers, match_seq_num, fencing, the three timestamping modes, 1000-record
// batches), unary reads (seq_num/timestamp/tail_offset, count/bytes/until/clamp/wait), check-tail,
// and a Producer racing a concurrent read session.
//
// Expected values come from the contract, ../shared/docs/s2-api.md (§2, §3, §4.1, §8), not from
// what weir happens to answer. Sessions use `forceTransport: "fetch"` (HTTP/1.1 + SSE): h2c and
// s2s are a later issue. Each test works in its own basin so tests never see each other's data.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AppendInput,
  AppendRecord,
  BatchTransform,
  Producer,
  SeqNumMismatchError,
  FencingTokenMismatchError,
  RangeNotSatisfiableError,
} from "@s2-dev/streamstore";
import { readRecordsOf, rejectsWith, sdkSuite, uniqueBasin, untilInFlight } from "./helpers.mjs";

// Both endpoints point at weir, so the SDK sends `s2-basin` on every basin-scoped call (§1.1).
// One attempt: a retried request would hide the status the server really answered.
const fx = sdkSuite();

// A basin without defaults shows the default storage class, as S2 does (issue 17).
const UNSET_DEFAULTS = { storageClass: "express", retentionPolicy: null, timestamping: null, deleteOnEmpty: null };

const basinName = (tag) => uniqueBasin("sdk", tag);

async function newBasin(tag, config) {
  const name = basinName(tag);
  await fx.s2.basins.create({ basin: name, ...(config ? { config } : {}) });
  return fx.s2.basin(name);
}

const DEFAULT_STREAM_CONFIG = {
  storageClass: "express",
  retentionPolicy: { ageSecs: 604800 },
  timestamping: { mode: "client-prefer", uncapped: false },
  deleteOnEmpty: { minAgeSecs: 0 },
};

const str = (body, extra = {}) => AppendRecord.string({ body, ...extra });
const ms = (d) => d.getTime();

// ---------------------------------------------------------------------------------------------
// Basins

test("basin create, get config, list, ensure, delete with every config field", async () => {
  const name = basinName("crud");
  const config = {
    defaultStreamConfig: {
      storageClass: "standard",
      retentionPolicy: { ageSecs: 3600 },
      timestamping: { mode: "client-require", uncapped: true },
      deleteOnEmpty: { minAgeSecs: 120 },
    },
    createStreamOnAppend: true,
    createStreamOnRead: true,
  };
  const info = await fx.s2.basins.create({ basin: name, config });
  assert.equal(info.name, name);
  assert.ok(info.createdAt instanceof Date && !Number.isNaN(info.createdAt.getTime()));
  assert.equal(info.deletedAt, null);

  const got = await fx.s2.basins.getConfig({ basin: name });
  assert.deepEqual(got, { ...config, streamCipher: null });

  // A second create with a fresh request token is a conflict (§2.1).
  await rejectsWith(() => fx.s2.basins.create({ basin: name }), { status: 409, code: "resource_already_exists" });

  const listed = await fx.s2.basins.list({ prefix: name });
  assert.deepEqual(listed.basins.map((b) => b.name), [name]);
  assert.equal(listed.hasMore, false);

  // Ensure with the same config is a no-op; with another config it replaces (not patches).
  let ens = await fx.s2.basins.ensure({ basin: name, config });
  assert.equal(ens.result, "noop");
  assert.equal(ens.basin.name, name);
  ens = await fx.s2.basins.ensure({ basin: name, config: { createStreamOnRead: true } });
  assert.equal(ens.result, "updated");
  assert.deepEqual(await fx.s2.basins.getConfig({ basin: name }), {
    defaultStreamConfig: UNSET_DEFAULTS,
    streamCipher: null,
    createStreamOnAppend: false,
    createStreamOnRead: true,
  });
  // Ensure without a body means "all defaults".
  ens = await fx.s2.basins.ensure({ basin: name });
  assert.equal(ens.result, "updated");
  assert.deepEqual(await fx.s2.basins.getConfig({ basin: name }), {
    defaultStreamConfig: UNSET_DEFAULTS,
    streamCipher: null,
    createStreamOnAppend: false,
    createStreamOnRead: false,
  });
  const fresh = basinName("ensure");
  ens = await fx.s2.basins.ensure({ basin: fresh });
  assert.equal(ens.result, "created");
  assert.equal(ens.basin.name, fresh);

  // Delete: the basin stays listed with deletedAt until cleanup; listAll hides it.
  await fx.s2.basins.delete({ basin: name });
  await fx.s2.basins.delete({ basin: name }); // a repeated DELETE is harmless (202 again)
  const after = await fx.s2.basins.list({ prefix: name });
  assert.equal(after.basins.length, 1);
  assert.ok(after.basins[0].deletedAt instanceof Date, "deleted basin listed with deletedAt");
  const all = [];
  for await (const b of fx.s2.basins.listAll({ prefix: name })) all.push(b.name);
  assert.deepEqual(all, []);
  await rejectsWith(() => fx.s2.basins.create({ basin: name }), { status: 409, code: "basin_deletion_pending" });
  await rejectsWith(() => fx.s2.basins.delete({ basin: basinName("never") }), { status: 404, code: "basin_not_found" });
  await rejectsWith(() => fx.s2.basins.getConfig({ basin: basinName("never") }), { status: 404, code: "basin_not_found" });
});

test("basin reconfigure: absent keeps, null resets, nested objects patch recursively", async () => {
  const name = basinName("patch");
  await fx.s2.basins.create({
    basin: name,
    config: {
      defaultStreamConfig: {
        storageClass: "standard",
        retentionPolicy: { ageSecs: 3600 },
        timestamping: { mode: "arrival", uncapped: true },
      },
      createStreamOnAppend: true,
    },
  });
  // {} is a valid no-op.
  let cfg = await fx.s2.basins.reconfigure({ basin: name });
  assert.deepEqual(cfg, {
    defaultStreamConfig: {
      storageClass: "standard",
      retentionPolicy: { ageSecs: 3600 },
      timestamping: { mode: "arrival", uncapped: true },
      deleteOnEmpty: null,
    },
    streamCipher: null,
    createStreamOnAppend: true,
    createStreamOnRead: false,
  });
  // Nested patch: only timestamping.mode changes; storageClass reset by null; retention set.
  cfg = await fx.s2.basins.reconfigure({
    basin: name,
    defaultStreamConfig: {
      storageClass: null,
      retentionPolicy: { infinite: {} },
      timestamping: { mode: "client-prefer" },
      deleteOnEmpty: { minAgeSecs: 30 },
    },
    createStreamOnRead: true,
  });
  const expected = {
    defaultStreamConfig: {
      storageClass: "express", // reset to the default, which S2 shows
      retentionPolicy: { infinite: {} },
      timestamping: { mode: "client-prefer", uncapped: true },
      deleteOnEmpty: { minAgeSecs: 30 },
    },
    streamCipher: null,
    createStreamOnAppend: true,
    createStreamOnRead: true,
  };
  assert.deepEqual(cfg, expected);
  assert.deepEqual(await fx.s2.basins.getConfig({ basin: name }), expected);
  // timestamping: null clears the whole object; createStreamOnAppend: false is a plain bool.
  cfg = await fx.s2.basins.reconfigure({ basin: name, defaultStreamConfig: { timestamping: null }, createStreamOnAppend: false });
  assert.equal(cfg.defaultStreamConfig.timestamping, null);
  assert.deepEqual(cfg.defaultStreamConfig.retentionPolicy, { infinite: {} });
  assert.equal(cfg.createStreamOnAppend, false);
  assert.equal(cfg.createStreamOnRead, true);
  // defaultStreamConfig: null clears every default.
  cfg = await fx.s2.basins.reconfigure({ basin: name, defaultStreamConfig: null });
  assert.deepEqual(cfg.defaultStreamConfig, UNSET_DEFAULTS);
  assert.deepEqual(await fx.s2.basins.getConfig({ basin: name }), {
    defaultStreamConfig: UNSET_DEFAULTS,
    streamCipher: null,
    createStreamOnAppend: false,
    createStreamOnRead: true,
  });
  // A zero retention age is a validation error (422), not a parse error.
  await rejectsWith(
    () => fx.s2.basins.reconfigure({ basin: name, defaultStreamConfig: { retentionPolicy: { ageSecs: 0 } } }),
    { status: 422, code: "invalid" },
  );
  await rejectsWith(() => fx.s2.basins.reconfigure({ basin: basinName("never"), createStreamOnRead: true }), {
    status: 404,
    code: "basin_not_found",
  });
});

// ---------------------------------------------------------------------------------------------
// Streams

test("stream create, get config (resolved over basin defaults), list, ensure, delete", async () => {
  const basin = await newBasin("streams", {
    defaultStreamConfig: { retentionPolicy: { ageSecs: 7200 }, timestamping: { uncapped: true } },
  });
  // Nothing given: every field resolved from basin defaults, then system defaults.
  const info = await basin.streams.create({ stream: "plain" });
  assert.equal(info.name, "plain");
  assert.ok(info.createdAt instanceof Date);
  assert.equal(info.deletedAt, null);
  assert.equal(info.cipher, null);
  assert.deepEqual(await basin.streams.getConfig({ stream: "plain" }), {
    storageClass: "express",
    retentionPolicy: { ageSecs: 7200 },
    timestamping: { mode: "client-prefer", uncapped: true },
    deleteOnEmpty: { minAgeSecs: 0 },
  });
  // Every field given.
  const full = {
    storageClass: "standard",
    retentionPolicy: { infinite: {} },
    timestamping: { mode: "arrival", uncapped: false },
    deleteOnEmpty: { minAgeSecs: 3600 },
  };
  await basin.streams.create({ stream: "full", config: full });
  assert.deepEqual(await basin.streams.getConfig({ stream: "full" }), full);
  // Stream names are any UTF-8 (1–512 bytes) except "." and ".."; the SDK percent-encodes them.
  const odd = "a/b c?d#é☃%";
  await basin.streams.create({ stream: odd });
  assert.deepEqual((await basin.streams.getConfig({ stream: odd })).storageClass, "express");
  const long = "x".repeat(512);
  await basin.streams.create({ stream: long });

  await rejectsWith(() => basin.streams.create({ stream: "plain" }), { status: 409, code: "resource_already_exists" });
  await rejectsWith(() => basin.streams.create({ stream: "zero", config: { retentionPolicy: { ageSecs: 0 } } }), {
    status: 422,
    code: "invalid",
  });
  await rejectsWith(() => basin.streams.getConfig({ stream: "missing" }), { status: 404, code: "stream_not_found" });

  const listed = await basin.streams.list();
  assert.deepEqual(
    listed.streams.map((s) => s.name),
    ["a/b c?d#é☃%", "full", "plain", long].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  assert.equal(listed.hasMore, false);
  const page = await basin.streams.list({ limit: 2 });
  assert.equal(page.streams.length, 2);
  assert.equal(page.hasMore, true);
  const rest = await basin.streams.list({ startAfter: page.streams[1].name });
  assert.equal(rest.streams.length, 2);
  assert.equal(rest.hasMore, false);
  assert.deepEqual((await basin.streams.list({ prefix: "f" })).streams.map((s) => s.name), ["full"]);

  // Ensure: created, then noop, then updated; omitted fields revert to the defaults.
  let ens = await basin.streams.ensure({ stream: "ens", config: { storageClass: "standard" } });
  assert.equal(ens.result, "created");
  assert.equal(ens.stream.name, "ens");
  ens = await basin.streams.ensure({ stream: "ens", config: { storageClass: "standard" } });
  assert.equal(ens.result, "noop");
  ens = await basin.streams.ensure({ stream: "ens", config: { deleteOnEmpty: { minAgeSecs: 60 } } });
  assert.equal(ens.result, "updated");
  assert.deepEqual(await basin.streams.getConfig({ stream: "ens" }), {
    storageClass: "express",
    retentionPolicy: { ageSecs: 7200 },
    timestamping: { mode: "client-prefer", uncapped: true },
    deleteOnEmpty: { minAgeSecs: 60 },
  });
  ens = await basin.streams.ensure({ stream: "ens" });
  assert.equal(ens.result, "updated");
  assert.deepEqual((await basin.streams.getConfig({ stream: "ens" })).deleteOnEmpty, { minAgeSecs: 0 });

  // Delete: 409 stream_deletion_pending on use until cleanup; listed with deletedAt.
  await basin.streams.delete({ stream: "plain" });
  await basin.streams.delete({ stream: "plain" });
  await rejectsWith(() => basin.streams.getConfig({ stream: "plain" }), { status: 409, code: "stream_deletion_pending" });
  await rejectsWith(() => basin.streams.create({ stream: "plain" }), { status: 409, code: "stream_deletion_pending" });
  await rejectsWith(() => basin.stream("plain").append(AppendInput.create([str("x")])), {
    status: 409,
    code: "stream_deletion_pending",
  });
  const withDeleted = await basin.streams.list({ prefix: "plain" });
  assert.equal(withDeleted.streams.length, 1);
  assert.ok(withDeleted.streams[0].deletedAt instanceof Date);
  const live = [];
  for await (const s of basin.streams.listAll({ prefix: "plain" })) live.push(s.name);
  assert.deepEqual(live, []);
  await rejectsWith(() => basin.streams.delete({ stream: "missing" }), { status: 404, code: "stream_not_found" });
});

test("stream reconfigure: absent keeps, null inherits, nested timestamping patches", async () => {
  const basin = await newBasin("spatch", { defaultStreamConfig: { storageClass: "standard" } });
  await basin.streams.create({
    stream: "s",
    config: {
      storageClass: "express",
      retentionPolicy: { ageSecs: 100 },
      timestamping: { mode: "arrival", uncapped: true },
      deleteOnEmpty: { minAgeSecs: 10 },
    },
  });
  let cfg = await basin.streams.reconfigure({ stream: "s" });
  assert.deepEqual(cfg, {
    storageClass: "express",
    retentionPolicy: { ageSecs: 100 },
    timestamping: { mode: "arrival", uncapped: true },
    deleteOnEmpty: { minAgeSecs: 10 },
  });
  cfg = await basin.streams.reconfigure({ stream: "s", timestamping: { mode: "client-require" } });
  assert.deepEqual(cfg.timestamping, { mode: "client-require", uncapped: true });
  assert.deepEqual(cfg.retentionPolicy, { ageSecs: 100 });
  // null resets a field to the inherited value (basin default, then system default).
  cfg = await basin.streams.reconfigure({ stream: "s", storageClass: null, deleteOnEmpty: null, retentionPolicy: { infinite: {} } });
  assert.deepEqual(cfg, {
    storageClass: "standard",
    retentionPolicy: { infinite: {} },
    timestamping: { mode: "client-require", uncapped: true },
    deleteOnEmpty: { minAgeSecs: 0 },
  });
  cfg = await basin.streams.reconfigure({ stream: "s", timestamping: null, retentionPolicy: null });
  assert.deepEqual(cfg, { ...DEFAULT_STREAM_CONFIG, storageClass: "standard" });
  assert.deepEqual(await basin.streams.getConfig({ stream: "s" }), cfg);
  await rejectsWith(() => basin.streams.reconfigure({ stream: "s", retentionPolicy: { ageSecs: 0 } }), {
    status: 422,
    code: "invalid",
  });
  await rejectsWith(() => basin.streams.reconfigure({ stream: "nope", storageClass: "express" }), {
    status: 404,
    code: "stream_not_found",
  });
});

test("basin auto-create: create_stream_on_append and create_stream_on_read (incl. check-tail)", async () => {
  const basin = await newBasin("auto", {
    createStreamOnAppend: true,
    createStreamOnRead: true,
    defaultStreamConfig: { storageClass: "standard" },
  });
  const ack = await basin.stream("by-append").append(AppendInput.create([str("x")]));
  assert.equal(ack.start.seqNum, 0);
  assert.equal((await basin.streams.getConfig({ stream: "by-append" })).storageClass, "standard");
  const tail = await basin.stream("by-tail").checkTail();
  assert.equal(tail.tail.seqNum, 0);
  await basin.streams.getConfig({ stream: "by-tail" });
  const off = await newBasin("noauto");
  await rejectsWith(() => off.stream("nope").append(AppendInput.create([str("x")])), { status: 404, code: "stream_not_found" });
  await rejectsWith(() => off.stream("nope").checkTail(), { status: 404, code: "stream_not_found" });
});

// ---------------------------------------------------------------------------------------------
// Appends

test("append with headers round-trips exactly; ack positions and tail", async () => {
  const basin = await newBasin("append");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  const t0 = Date.now() - 60_000;
  const ack = await stream.append(
    AppendInput.create([
      str("hello", { headers: [["type", "created"], ["type", "dup"], ["k", ""]], timestamp: t0 }),
      str("", { headers: [["only", "header"]], timestamp: t0 }),
      str("wörld ☃", { timestamp: t0 + 1 }),
    ]),
  );
  assert.equal(ack.start.seqNum, 0);
  assert.equal(ms(ack.start.timestamp), t0);
  assert.equal(ack.end.seqNum, 3);
  assert.equal(ms(ack.end.timestamp), t0 + 1);
  assert.ok(ack.tail.seqNum >= 3);
  const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } });
  assert.deepEqual(
    batch.records.map((r) => ({ seqNum: r.seqNum, ts: ms(r.timestamp), headers: r.headers, body: r.body })),
    [
      { seqNum: 0, ts: t0, headers: [["type", "created"], ["type", "dup"], ["k", ""]], body: "hello" },
      { seqNum: 1, ts: t0, headers: [["only", "header"]], body: "" },
      { seqNum: 2, ts: t0 + 1, headers: [], body: "wörld ☃" },
    ],
  );
  assert.equal(batch.tail, undefined, "a catch-up read carries no tail (§3.7)");
});

test("append match_seq_num: match succeeds, mismatch reports the actual next seq_num", async () => {
  const basin = await newBasin("match");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  let ack = await stream.append(AppendInput.create([str("a"), str("b")], { matchSeqNum: 0 }));
  assert.equal(ack.end.seqNum, 2);
  const err = await rejectsWith(() => stream.append(AppendInput.create([str("c")], { matchSeqNum: 5 })), {
    status: 412,
    type: SeqNumMismatchError,
  });
  assert.equal(err.expectedSeqNum, 2);
  ack = await stream.append(AppendInput.create([str("c")], { matchSeqNum: 2 }));
  assert.equal(ack.start.seqNum, 2);
  assert.equal((await stream.checkTail()).tail.seqNum, 3);
});

test("append fencing: fence command record, token checks, clearing, fence before seq_num", async () => {
  const basin = await newBasin("fence");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  await stream.append(AppendInput.create([str("before")]));
  // A new stream's token is "": a fence record may go in a request carrying the old token.
  let ack = await stream.append(AppendInput.create([AppendRecord.fence("tok-1")], { fencingToken: "" }));
  assert.equal(ack.start.seqNum, 1);
  let err = await rejectsWith(() => stream.append(AppendInput.create([str("x")], { fencingToken: "wrong" })), {
    status: 412,
    type: FencingTokenMismatchError,
  });
  assert.equal(err.expectedFencingToken, "tok-1");
  // Both conditions wrong: the fence is checked first.
  err = await rejectsWith(() => stream.append(AppendInput.create([str("x")], { fencingToken: "wrong", matchSeqNum: 99 })), {
    status: 412,
    type: FencingTokenMismatchError,
  });
  assert.equal(err.expectedFencingToken, "tok-1");
  ack = await stream.append(AppendInput.create([str("fenced")], { fencingToken: "tok-1", matchSeqNum: 2 }));
  assert.equal(ack.start.seqNum, 2);
  // Without a fencing_token condition the append is unconditional.
  await stream.append(AppendInput.create([str("unconditional")]));
  // An empty fence body clears the token.
  await stream.append(AppendInput.create([AppendRecord.fence("")], { fencingToken: "tok-1" }));
  err = await rejectsWith(() => stream.append(AppendInput.create([str("x")], { fencingToken: "tok-1" })), {
    status: 412,
    type: FencingTokenMismatchError,
  });
  assert.equal(err.expectedFencingToken, "");
  // Command records take a seq_num and are returned by reads.
  const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 100 } } });
  assert.deepEqual(
    batch.records.map((r) => [r.seqNum, r.headers, r.body]),
    [
      [0, [], "before"],
      [1, [["", "fence"]], "tok-1"],
      [2, [], "fenced"],
      [3, [], "unconditional"],
      [4, [["", "fence"]], ""],
    ],
  );
  const filtered = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 100 } }, ignoreCommandRecords: true });
  assert.deepEqual(filtered.records.map((r) => r.seqNum), [0, 2, 3]);
});

test("timestamps: client-prefer (default) keeps past values, caps future ones, stays monotonic", async () => {
  const basin = await newBasin("tsprefer");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  const past = Date.now() - 3_600_000;
  let ack = await stream.append(AppendInput.create([str("past", { timestamp: past })]));
  assert.equal(ms(ack.start.timestamp), past);
  const lo = Date.now();
  ack = await stream.append(AppendInput.create([str("arrival")]));
  const hi = Date.now();
  const arrival = ms(ack.start.timestamp);
  assert.ok(arrival >= lo - 5 && arrival <= hi + 5, `arrival ${arrival} not in [${lo}, ${hi}]`);
  // A future client timestamp is lowered to the arrival time (uncapped is false).
  const lo2 = Date.now();
  ack = await stream.append(AppendInput.create([str("future", { timestamp: Date.now() + 3_600_000 })]));
  const hi2 = Date.now();
  const capped = ms(ack.start.timestamp);
  assert.ok(capped >= lo2 - 5 && capped <= hi2 + 5, `capped ${capped} not in [${lo2}, ${hi2}]`);
  // A value below the previous maximum is raised to it, within a batch too.
  ack = await stream.append(AppendInput.create([str("older", { timestamp: past }), str("older2", { timestamp: past - 1 })]));
  assert.equal(ms(ack.start.timestamp), capped);
  assert.equal(ms(ack.end.timestamp), capped);
  const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } });
  const ts = batch.records.map((r) => ms(r.timestamp));
  assert.deepEqual(ts, [past, arrival, capped, capped, capped]);
  const tail = await stream.checkTail();
  assert.equal(tail.tail.seqNum, 5);
  assert.equal(ms(tail.tail.timestamp), capped);
});

test("timestamps: uncapped keeps future values; client-require rejects missing; arrival ignores the client", async () => {
  const basin = await newBasin("tsmodes");
  await basin.streams.create({ stream: "uncapped", config: { timestamping: { uncapped: true } } });
  const future = Date.now() + 3_600_000;
  let ack = await basin.stream("uncapped").append(AppendInput.create([str("f", { timestamp: future })]));
  assert.equal(ms(ack.start.timestamp), future);

  await basin.streams.create({ stream: "require", config: { timestamping: { mode: "client-require" } } });
  const req = basin.stream("require");
  await rejectsWith(() => req.append(AppendInput.create([str("no ts")])), { status: 422, code: "invalid" });
  await rejectsWith(() => req.append(AppendInput.create([str("ok", { timestamp: 1000 }), str("no ts")])), {
    status: 422,
    code: "invalid",
  });
  assert.equal((await req.checkTail()).tail.seqNum, 0, "a rejected batch appends nothing");
  ack = await req.append(AppendInput.create([str("ts", { timestamp: 1234 })]));
  assert.equal(ms(ack.start.timestamp), 1234);

  await basin.streams.create({ stream: "arrival", config: { timestamping: { mode: "arrival" } } });
  const lo = Date.now();
  ack = await basin.stream("arrival").append(AppendInput.create([str("a", { timestamp: 1234 }), str("b")]));
  const hi = Date.now();
  for (const t of [ms(ack.start.timestamp), ms(ack.end.timestamp)]) {
    assert.ok(t >= lo - 5 && t <= hi + 5, `arrival timestamp ${t} not in [${lo}, ${hi}]`);
  }
});

test("1000-record batches append and read back in order", async () => {
  const basin = await newBasin("batch");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  for (let round = 0; round < 2; round++) {
    const records = Array.from({ length: 1000 }, (_, i) => str(`r${round * 1000 + i}`));
    const ack = await stream.append(AppendInput.create(records));
    assert.equal(ack.start.seqNum, round * 1000);
    assert.equal(ack.end.seqNum, round * 1000 + 1000);
  }
  // A unary read is capped at 1000 records.
  const first = await stream.read({ start: { from: { seqNum: 0 } } });
  assert.equal(first.records.length, 1000);
  const second = await stream.read({ start: { from: { seqNum: 1000 } }, stop: { limits: { count: 5000 } } });
  assert.equal(second.records.length, 1000);
  const all = [...first.records, ...second.records];
  all.forEach((r, i) => {
    assert.equal(r.seqNum, i);
    assert.equal(r.body, `r${i}`);
  });
  assert.throws(() => AppendInput.create(Array.from({ length: 1001 }, () => str("x"))));
});

// ---------------------------------------------------------------------------------------------
// Reads

test("unary reads: seq_num/timestamp/tail_offset starts, count/bytes/until limits, clamp, wait", async () => {
  const basin = await newBasin("reads");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  const empty = await stream.checkTail();
  assert.equal(empty.tail.seqNum, 0);
  assert.equal(ms(empty.tail.timestamp), 0);
  // An empty stream without wait: 416 with the tail (§3.6).
  let err = await rejectsWith(() => stream.read({ start: { from: { seqNum: 0 } } }), { status: 416, type: RangeNotSatisfiableError });
  assert.deepEqual({ seqNum: err.tail.seqNum, ts: ms(err.tail.timestamp) }, { seqNum: 0, ts: 0 });

  const base = Date.now() - 100_000;
  // Ten records "r0".."r9", metered 8 + 2 = 10 bytes each, one second apart.
  await stream.append(AppendInput.create(Array.from({ length: 10 }, (_, i) => str(`r${i}`, { timestamp: base + i * 1000 }))));
  const seqs = (b) => b.records.map((r) => r.seqNum);

  assert.deepEqual(seqs(await stream.read({ start: { from: { seqNum: 3 } }, stop: { limits: { count: 4 } } })), [3, 4, 5, 6]);
  assert.deepEqual(seqs(await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { bytes: 25 } } })), [0, 1]);
  assert.deepEqual(seqs(await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { bytes: 30 } } })), [0, 1, 2]);
  assert.deepEqual(seqs(await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { bytes: 9 } } })), []);
  assert.deepEqual(seqs(await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 0 } } })), []);
  assert.deepEqual(seqs(await stream.read({ start: { from: { timestamp: base + 4500 } } })), [5, 6, 7, 8, 9]);
  assert.deepEqual(seqs(await stream.read({ start: { from: { timestamp: new Date(base + 4000) } }, stop: { limits: { count: 2 } } })), [4, 5]);
  assert.deepEqual(seqs(await stream.read({ start: { from: { tailOffset: 3 } } })), [7, 8, 9]);
  assert.deepEqual(seqs(await stream.read({ start: { from: { tailOffset: 100 } }, stop: { limits: { count: 2 } } })), [0, 1]);
  assert.deepEqual(seqs(await stream.read({ start: { from: { seqNum: 0 } }, stop: { untilTimestamp: base + 3000 } })), [0, 1, 2]);
  assert.deepEqual(
    seqs(await stream.read({ start: { from: { seqNum: 2 } }, stop: { untilTimestamp: new Date(base + 9000), limits: { count: 3 } } })),
    [2, 3, 4],
  );
  // Bodies and timestamps come back exactly.
  const one = await stream.read({ start: { from: { seqNum: 7 } }, stop: { limits: { count: 1 } } });
  assert.equal(one.records[0].body, "r7");
  assert.equal(ms(one.records[0].timestamp), base + 7000);

  // Past the tail without clamp: 416. With clamp but no wait, the start becomes the tail,
  // which a unary read may not follow: still 416. With wait: 200 and no records.
  err = await rejectsWith(() => stream.read({ start: { from: { seqNum: 11 } } }), { status: 416, type: RangeNotSatisfiableError });
  assert.equal(err.tail.seqNum, 10);
  assert.equal(ms(err.tail.timestamp), base + 9000);
  await rejectsWith(() => stream.read({ start: { from: { seqNum: 11 }, clamp: true } }), { status: 416, type: RangeNotSatisfiableError });
  await rejectsWith(() => stream.read({ start: { from: { seqNum: 10 } } }), { status: 416, type: RangeNotSatisfiableError });
  await rejectsWith(() => stream.read({ start: { from: { tailOffset: 0 } } }), { status: 416, type: RangeNotSatisfiableError });
  await rejectsWith(() => stream.read(), { status: 416, type: RangeNotSatisfiableError });
  await rejectsWith(() => stream.read({ start: { from: { timestamp: Date.now() + 3_600_000 } } }), {
    status: 416,
    type: RangeNotSatisfiableError,
  });
  let got = await stream.read({ start: { from: { seqNum: 1000 }, clamp: true }, stop: { waitSecs: 1 } });
  assert.deepEqual(got.records, []);
  got = await stream.read({ start: { from: { seqNum: 10 } }, stop: { waitSecs: 1 } });
  assert.deepEqual(got.records, []);
  // timestamp >= until is a validation error.
  await rejectsWith(() => stream.read({ start: { from: { timestamp: base + 5000 } }, stop: { untilTimestamp: base + 5000 } }), {
    status: 422,
    code: "invalid",
  });
  // A missing stream is 404.
  await rejectsWith(() => basin.stream("missing").read({ start: { from: { seqNum: 0 } } }), { status: 404, code: "stream_not_found" });
});

test("unary read with wait returns a record appended while it waits, with the live tail", async () => {
  const basin = await newBasin("longpoll");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  await stream.append(AppendInput.create([str("zero")]));
  const pending = stream.read({ start: { from: { seqNum: 1 } }, stop: { waitSecs: 20 } });
  await untilInFlight(fx.weir, 1); // the read has begun on the server and waits
  const ack = await stream.append(AppendInput.create([str("one")]));
  const got = await pending;
  assert.deepEqual(got.records.map((r) => [r.seqNum, r.body]), [[1, "one"]]);
  assert.ok(got.tail, "a batch delivered live carries the tail (§3.7)");
  assert.equal(got.tail.seqNum, ack.end.seqNum);
});

test("check tail tracks the last record", async () => {
  const basin = await newBasin("tail");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s");
  const ts = Date.now() - 5000;
  await stream.append(AppendInput.create([str("a", { timestamp: ts - 1 }), str("b", { timestamp: ts })]));
  const { tail } = await stream.checkTail();
  assert.equal(tail.seqNum, 2);
  assert.equal(ms(tail.timestamp), ts);
  await rejectsWith(() => basin.stream("missing").checkTail(), { status: 404, code: "stream_not_found" });
});

// ---------------------------------------------------------------------------------------------
// Sessions over the fetch transport (SSE reads, sequential unary appends)

test("read session with a count limit ends by itself; bytes format over SSE", async () => {
  const basin = await newBasin("rsess");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s", { forceTransport: "fetch" });
  await stream.append(AppendInput.create(Array.from({ length: 20 }, (_, i) => str(`m${i}`, { headers: [["i", String(i)]] }))));
  const session = await stream.readSession({ start: { from: { seqNum: 5 } }, stop: { limits: { count: 10 } } });
  const seen = [];
  for await (const r of session) seen.push([r.seqNum, r.body, r.headers]);
  assert.deepEqual(seen, Array.from({ length: 10 }, (_, k) => [k + 5, `m${k + 5}`, [["i", String(k + 5)]]]));

  const bytes = await stream.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 2 } } }, { as: "bytes" });
  const raw = [];
  for await (const r of bytes) raw.push([r.seqNum, Buffer.from(r.body).toString(), Buffer.from(r.headers[0][0]).toString()]);
  assert.deepEqual(raw, [
    [0, "m0", "i"],
    [1, "m1", "i"],
  ]);
  await stream.close();
});

test("Producer writes 64 records while a concurrent read session sees all 64, no gap or duplicate, and is caught up", async () => {
  const basin = await newBasin("producer");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s", { forceTransport: "fetch" });
  const N = 64;

  // The reader starts first, at the (empty) tail, so it follows the producer live.
  const session = await stream.readSession({ start: { from: { seqNum: 0 } } });
  const it = session[Symbol.asyncIterator]();
  const reader = readRecordsOf(it, N);

  const producer = new Producer(new BatchTransform({ lingerDurationMillis: 2, maxBatchRecords: 8 }), await stream.appendSession());
  const acks = [];
  for (let i = 0; i < N; i++) {
    const ticket = await producer.submit(str(`p${i}`, { headers: [["n", String(i)]] }));
    acks.push(ticket.ack());
    if (i % 16 === 15) await new Promise((r) => setTimeout(r, 20));
  }
  const indexed = await Promise.all(acks);
  await producer.close(); // also closes the append session
  assert.deepEqual(indexed.map((a) => a.seqNum()), Array.from({ length: N }, (_, i) => i));

  const got = await reader;
  assert.deepEqual(got.map((r) => r.seqNum), Array.from({ length: N }, (_, i) => i), "no gap, no duplicate, in order");
  assert.deepEqual(got.map((r) => r.body), Array.from({ length: N }, (_, i) => `p${i}`));
  assert.deepEqual(got.map((r) => r.headers), Array.from({ length: N }, (_, i) => [["n", String(i)]]));
  // Every record was delivered live (or a ping followed), so the session knows it is at the tail.
  const tail = await session.caughtUp();
  assert.equal(tail.seqNum, N);
  assert.equal(session.isCaughtUp(), true);
  await it.return();
  await stream.close();
});

test("a following read session reports caught-up at the tail and then sees new records", async () => {
  const basin = await newBasin("caught");
  await basin.streams.create({ stream: "s" });
  const stream = basin.stream("s", { forceTransport: "fetch" });
  await stream.append(AppendInput.create([str("a"), str("b"), str("c")]));
  const session = await stream.readSession({ start: { from: { seqNum: 0 } } });
  const it = session[Symbol.asyncIterator]();
  const firstThree = [];
  for (let i = 0; i < 3; i++) firstThree.push((await it.next()).value.seqNum);
  assert.deepEqual(firstThree, [0, 1, 2]);
  // Reaching the tail triggers a ping carrying the tail (§4.1), which is what caughtUp() needs.
  const tail = await session.caughtUp();
  assert.equal(tail.seqNum, 3);
  assert.equal(session.isCaughtUp(), true);
  await stream.append(AppendInput.create([str("d")]));
  const next = (await it.next()).value;
  assert.equal(next.seqNum, 3);
  assert.equal(next.body, "d");
  assert.equal(session.lastObservedTail().seqNum, 4);
  await it.return();
  await stream.close();
});
