// s2-h2-robust.test.mjs — the HTTP/2 and s2s session contract under stress and misuse:
//  - the SDK's default transport (s2s over h2c) round-trips headers; trim and fence command records
//    go through unary protobuf and take effect (fence enforced, trimmed records unreadable);
//  - a pipelined append session whose middle input fails writes nothing after it;
//  - raw node:http2: a stream reset mid-frame leaves the connection's other streams working and
//    leaks nothing (server RSS over 200 resets), client GOAWAY, sane SETTINGS, and flow control on
//    a paused 20 MB read session (server RSS bounded, every record delivered in order on resume);
//  - the h2c preface on a connection that already spoke HTTP/1.1 is a 400.
// Memory checks read the server's VmRSS from /proc; they run against a dedicated server whose
// ASan quarantine is off (otherwise freed memory is parked, not reused, and RSS grows anyway).
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AppendInput,
  AppendRecord,
  FencingTokenMismatchError,
  SeqNumMismatchError,
} from "@s2-dev/streamstore";
import { startWeir } from "./harness.mjs";
import { h2connect, h2request, newBasinWithStream, rssKb, sdkSuite, uniqueBasin, untilDurable } from "./helpers.mjs";

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2.constants;

const fx = sdkSuite();

/** Creates a fresh basin with stream "s" on `server` (default: the shared one). */
const newStream = (tag, server = fx.weir) => newBasinWithStream(server, uniqueBasin("h2r", tag));

async function tailOf(server, basin) {
  const res = await fetch(`${server.url}/v1/streams/s/records/tail`, { headers: { ...server.auth, "s2-basin": basin } });
  assert.equal(res.status, 200);
  return (await res.json()).tail.seq_num;
}

// --- hand-rolled protobuf (s2-api.md §4.2) and s2s framing ----------------------------------

function varint(n) {
  let v = BigInt(n);
  const out = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const fLen = (no, buf) => Buffer.concat([varint((no << 3) | 2), varint(buf.length), buf]);
const fInt = (no, n) => Buffer.concat([varint(no << 3), varint(n)]);

/** AppendInput{records, match_seq_num?, fencing_token?}; a record is {body, headers?}. */
function appendInput(records, { matchSeqNum, fencingToken } = {}) {
  const parts = records.map((r) => {
    const hs = (r.headers ?? []).map(([k, v]) => fLen(2, Buffer.concat([fLen(1, Buffer.from(k)), fLen(2, Buffer.from(v))])));
    return fLen(1, Buffer.concat([...hs, fLen(3, Buffer.from(r.body))]));
  });
  if (matchSeqNum !== undefined) parts.push(fInt(2, matchSeqNum));
  if (fencingToken !== undefined) parts.push(fLen(3, Buffer.from(fencingToken)));
  return Buffer.concat(parts);
}

/** Decodes one message into {fieldNo: [values]} (varints as Number, LEN fields as Buffer). */
function decode(buf) {
  const out = {};
  let i = 0;
  const rv = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(rv());
    const no = key >> 3;
    let val;
    if ((key & 7) === 0) val = Number(rv());
    else if ((key & 7) === 2) {
      const n = Number(rv());
      val = buf.subarray(i, i + n);
      i += n;
    } else throw new Error(`unexpected wire type ${key & 7}`);
    (out[no] ??= []).push(val);
  }
  return out;
}
const pos = (buf) => {
  const d = decode(buf);
  return { seqNum: d[1]?.[0] ?? 0, timestamp: d[2]?.[0] ?? 0 };
};
const decodeAck = (buf) => {
  const d = decode(buf);
  return { start: pos(d[1][0]), end: pos(d[2][0]), tail: pos(d[3][0]) };
};
function decodeReadBatch(buf) {
  const d = decode(buf);
  const records = (d[1] ?? []).map((r) => {
    const x = decode(r);
    return {
      seqNum: x[1]?.[0] ?? 0,
      headers: (x[3] ?? []).map((h) => {
        const hd = decode(h);
        return [hd[1]?.[0] ?? Buffer.alloc(0), hd[2]?.[0] ?? Buffer.alloc(0)];
      }),
      body: x[4]?.[0] ?? Buffer.alloc(0),
    };
  });
  return { records, tail: d[2] ? pos(d[2][0]) : undefined };
}

function frame(msg) {
  const h = Buffer.alloc(4);
  h.writeUIntBE(msg.length + 1, 0, 3);
  h[3] = 0;
  return Buffer.concat([h, msg]);
}

/**
 * Splits an s2s response body into frames as data arrives. next() resolves to
 * {terminal, status, json} | {msg} | null (clean end of stream).
 */
class FrameReader {
  constructor(req) {
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    this.error = null;
    req.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.#parse();
    });
    req.on("end", () => {
      this.ended = true;
      this.#wake();
    });
    req.on("error", (e) => {
      this.error = e;
      this.#wake();
    });
  }
  #parse() {
    while (this.buf.length >= 3) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 3 + len) break;
      const flag = this.buf[3];
      const body = this.buf.subarray(4, 3 + len);
      this.buf = this.buf.subarray(3 + len);
      assert.equal(flag & 0x60, 0, "no compression was offered");
      if (flag & 0x80) {
        this.frames.push({ terminal: true, status: body.readUInt16BE(0), json: JSON.parse(body.subarray(2).toString()) });
      } else {
        this.frames.push({ msg: Buffer.from(body) });
      }
    }
    this.#wake();
  }
  #wake() {
    while (this.waiters.length && (this.frames.length || this.ended || this.error)) {
      const w = this.waiters.shift();
      if (this.frames.length) w.resolve(this.frames.shift());
      else if (this.error) w.reject(this.error);
      else w.resolve(null);
    }
  }
  next() {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.#wake();
    });
  }
}

/** An s2s session on stream "s" of `basin`: `method` and `path` say which (append or read). */
function s2sSession(client, basin, method, path) {
  const req = client.request({
    ...client.auth,
    ":method": method,
    ":path": path,
    "s2-basin": basin,
    "content-type": "s2s/proto",
    accept: "application/protobuf",
  });
  const response = new Promise((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
  return { req, reader: new FrameReader(req), response };
}

const s2sAppend = (client, basin) => s2sSession(client, basin, "POST", "/v1/streams/s/records");
const s2sRead = (client, basin, query) => s2sSession(client, basin, "GET", `/v1/streams/s/records?${query}`);

/** Reads s2s ReadBatch frames until `n` records have arrived; returns them (heartbeats skipped). */
async function readRecords(reader, n) {
  const got = [];
  while (got.length < n) {
    const f = await reader.next();
    assert.ok(f, `read session ended after ${got.length} of ${n} records`);
    assert.ok(!f.terminal, `terminal frame ${JSON.stringify(f)}`);
    got.push(...decodeReadBatch(f.msg).records);
  }
  return got;
}

/* Room for the 20 MB flow-control test's writes (node's default session budget is 10 MB). */
const connect = (server) => h2connect(server, { maxSessionMemory: 64 });

// --- SDK default transport ------------------------------------------------------------------

test("SDK default transport: appendSession and readSession round-trip headers", async () => {
  const basin = await newStream("rt");
  const stream = fx.s2.basin(basin).stream("s");
  const sess = await stream.appendSession();
  const inputs = [
    [AppendRecord.string({ body: "one", headers: [["k", "v1"], ["k", "v2"], ["other", ""]] })],
    [AppendRecord.string({ body: "", headers: [["empty-body", "yes"]] }), AppendRecord.string({ body: "three" })],
    [AppendRecord.bytes({ body: Uint8Array.from([0, 255, 7]), headers: [[Uint8Array.from([1, 2]), Uint8Array.from([0])]] })],
  ];
  const tickets = [];
  for (const recs of inputs) tickets.push(await sess.submit(AppendInput.create(recs)));
  const acks = await Promise.all(tickets.map((t) => t.ack()));
  assert.deepEqual(acks.map((a) => [a.start.seqNum, a.end.seqNum]), [[0, 1], [1, 3], [3, 4]]);
  await sess.close();

  const rs = await stream.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 4 } } }, { as: "bytes" });
  const got = [];
  for await (const r of rs) got.push(r);
  const str = (u) => Buffer.from(u).toString();
  assert.deepEqual(got.map((r) => r.seqNum), [0, 1, 2, 3]);
  assert.deepEqual(got[0].headers.map(([k, v]) => [str(k), str(v)]), [["k", "v1"], ["k", "v2"], ["other", ""]]);
  assert.equal(str(got[0].body), "one");
  assert.deepEqual(got[1].headers.map(([k, v]) => [str(k), str(v)]), [["empty-body", "yes"]]);
  assert.equal(got[1].body.length, 0);
  assert.equal(str(got[2].body), "three");
  assert.deepEqual(got[2].headers, []);
  assert.deepEqual([...got[3].body], [0, 255, 7]);
  assert.deepEqual(got[3].headers.map(([k, v]) => [[...k], [...v]]), [[[1, 2], [0]]]);
  await stream.close();
});

test("unary protobuf: fence and trim command records take effect", async () => {
  const basin = await newStream("cmd");
  const stream = fx.s2.basin(basin).stream("s");
  // seq 0..9: plain JSON appends.
  await stream.append(AppendInput.create(Array.from({ length: 10 }, (_, i) => AppendRecord.string({ body: `r${i}` }))));
  // seq 10 fence, seq 11 trim(5). trim is a bytes record, so the SDK sends the batch as protobuf.
  const ack = await stream.append(AppendInput.create([AppendRecord.fence("tok-1"), AppendRecord.trim(5)]));
  assert.equal(ack.start.seqNum, 10);
  assert.equal(ack.end.seqNum, 12);

  // The fence is enforced on the next append, over both encodings.
  const bytesRec = () => AppendRecord.bytes({ body: Uint8Array.from([9]) });
  await assert.rejects(stream.append(AppendInput.create([bytesRec()], { fencingToken: "tok-0" })), (e) => {
    assert.ok(e instanceof FencingTokenMismatchError, String(e));
    assert.equal(e.status, 412);
    assert.equal(e.expectedFencingToken, "tok-1");
    return true;
  });
  await assert.rejects(stream.append(AppendInput.create([AppendRecord.string({ body: "x" })], { fencingToken: "" })), (e) => {
    assert.ok(e instanceof FencingTokenMismatchError, String(e));
    assert.equal(e.expectedFencingToken, "tok-1");
    return true;
  });
  assert.equal((await stream.checkTail()).tail.seqNum, 12, "rejected appends wrote nothing");
  const ok = await stream.append(AppendInput.create([bytesRec()], { fencingToken: "tok-1" }));
  assert.equal(ok.start.seqNum, 12);

  // Trimmed records are gone from reads at once: a read from 0 starts at the trim point.
  const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 100 } } }, { as: "bytes" });
  assert.deepEqual(batch.records.map((r) => r.seqNum), [5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(Buffer.from(batch.records[0].body).toString(), "r5");
  const fence = batch.records[5];
  assert.deepEqual(fence.headers.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]), [["", "fence"]]);
  assert.equal(Buffer.from(fence.body).toString(), "tok-1");
  const trim = batch.records[6];
  assert.deepEqual(trim.headers.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]), [["", "trim"]]);
  assert.equal(Buffer.from(trim.body).readBigUInt64BE(0), 5n);
  assert.deepEqual([...batch.records[7].body], [9]);
  // ... and from an s2s read session too.
  const rs = await stream.readSession({ start: { from: { seqNum: 2 } }, stop: { limits: { count: 2 } } });
  const firsts = [];
  for await (const r of rs) firsts.push(r.seqNum);
  assert.deepEqual(firsts, [5, 6]);
  // A fence may be replaced by an append carrying the current token; an empty body clears it.
  await stream.append(AppendInput.create([AppendRecord.fence(""), bytesRec()], { fencingToken: "tok-1" }));
  const after = await stream.append(AppendInput.create([bytesRec()], { fencingToken: "" }));
  assert.equal(after.start.seqNum, 15);
  await stream.close();
});

test("SDK append session: a failed middle input poisons the session, nothing after it lands", async () => {
  const basin = await newStream("poison");
  const stream = fx.s2.basin(basin).stream("s");
  const sess = await stream.appendSession();
  const rec = (i) => [AppendRecord.string({ body: `a${i}` }), AppendRecord.string({ body: `b${i}` })];
  // Inputs 0..4 match seq 0,2,..,8; input 5 claims 999; inputs 6..9 would be valid if the session
  // carried on after the failure (they match 10,12,14,16 and 10 is the tail after input 4).
  const matches = [0, 2, 4, 6, 8, 999, 10, 12, 14, 16];
  const tickets = [];
  for (let i = 0; i < matches.length; i++) {
    tickets.push(await sess.submit(AppendInput.create(rec(i), { matchSeqNum: matches[i] })).catch((e) => e));
  }
  const results = await Promise.allSettled(tickets.map((t) => (t instanceof Error ? Promise.reject(t) : t.ack())));
  for (let i = 0; i < 5; i++) {
    assert.equal(results[i].status, "fulfilled", String(results[i].reason));
    assert.equal(results[i].value.start.seqNum, i * 2);
  }
  assert.equal(results[5].status, "rejected");
  assert.ok(results[5].reason instanceof SeqNumMismatchError, String(results[5].reason));
  assert.equal(results[5].reason.expectedSeqNum, 10);
  for (let i = 6; i < 10; i++) assert.equal(results[i].status, "rejected", `input ${i} must not be acked`);
  await sess.close().catch(() => {});
  assert.equal((await stream.checkTail()).tail.seqNum, 10);
  const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 100 } } });
  assert.deepEqual(batch.records.map((r) => r.body), Array.from({ length: 5 }, (_, i) => [`a${i}`, `b${i}`]).flat());
  await stream.close();
});

test("raw s2s append: inputs pipelined in one write, a failed middle input stops the rest", async () => {
  const basin = await newStream("poison-raw");
  const client = connect(fx.weir);
  try {
    const { req, reader, response } = s2sAppend(client, basin);
    const matches = [0, 1, 2, 77, 3, 4, 5];
    req.end(Buffer.concat(matches.map((m, i) => frame(appendInput([{ body: `p${i}` }], { matchSeqNum: m })))));
    assert.equal((await response)[":status"], 200);
    for (let i = 0; i < 3; i++) {
      const f = await reader.next();
      assert.ok(f && f.msg, `ack ${i}: ${JSON.stringify(f)}`);
      assert.equal(decodeAck(f.msg).start.seqNum, i);
    }
    const t = await reader.next();
    assert.deepEqual(t, { terminal: true, status: 412, json: { seq_num_mismatch: 3 } });
    assert.equal(await reader.next(), null, "the response ends after the terminal frame");
    assert.equal(await tailOf(fx.weir, basin), 3);
  } finally {
    client.close();
  }
});

test("unary protobuf read: read(..., {as: 'bytes'}) with limits and a 416 beyond the tail", async () => {
  const basin = await newStream("rb");
  const stream = fx.s2.basin(basin).stream("s");
  const bodies = Array.from({ length: 5 }, (_, i) => Uint8Array.from([i, 0, 255 - i]));
  await stream.append(AppendInput.create(bodies.map((b) => AppendRecord.bytes({ body: b }))));
  const b1 = await stream.read({ start: { from: { seqNum: 1 } }, stop: { limits: { count: 3 } } }, { as: "bytes" });
  assert.deepEqual(b1.records.map((r) => r.seqNum), [1, 2, 3]);
  assert.deepEqual(b1.records.map((r) => [...r.body]), bodies.slice(1, 4).map((b) => [...b]));
  const b2 = await stream.read({ start: { from: { tailOffset: 2 } }, stop: { limits: { count: 10 } } }, { as: "bytes" });
  assert.deepEqual(b2.records.map((r) => r.seqNum), [3, 4]);
  await assert.rejects(stream.read({ start: { from: { seqNum: 9 } }, stop: { limits: { count: 1 } } }, { as: "bytes" }), (e) => {
    assert.equal(e.status, 416);
    assert.equal(e.tail?.seqNum, 5);
    return true;
  });
  await stream.close();
});

// --- raw HTTP/2 robustness ------------------------------------------------------------------

test("raw HTTP/2: a stream reset mid-frame leaves the connection's other streams working", async () => {
  const dst = await newStream("rst-dst");
  const victim = await newStream("rst-victim");
  const client = connect(fx.weir);
  try {
    // A follower that reads everything the appender writes, on the same connection.
    const total = 40;
    // count bounds the session, so it would not follow without wait (s2-api.md §3.6).
    const reader = s2sRead(client, dst, `seq_num=0&count=${total}&wait=30`);
    const app = s2sAppend(client, dst);
    const sendBatch = async (from, n) => {
      for (let i = from; i < from + n; i++) app.req.write(frame(appendInput([{ body: `d${i}` }])));
      for (let i = from; i < from + n; i++) {
        const f = await app.reader.next();
        assert.ok(f && f.msg, `ack ${i}: ${JSON.stringify(f)}`);
        assert.equal(decodeAck(f.msg).start.seqNum, i);
      }
    };
    await sendBatch(0, 20);

    // The victim: one complete input (acked), then half of the next frame, then RST_STREAM.
    const v = s2sAppend(client, victim);
    v.req.write(frame(appendInput([{ body: "whole" }])));
    const vack = await v.reader.next();
    assert.equal(decodeAck(vack.msg).end.seqNum, 1);
    const partial = frame(appendInput([{ body: "x".repeat(500) }]));
    v.req.write(partial.subarray(0, 200));
    const closed = new Promise((resolve) => v.req.on("close", resolve));
    v.req.close(NGHTTP2_CANCEL);
    await closed;

    await sendBatch(20, 20);
    app.req.end();
    assert.equal(await app.reader.next(), null, "append session ends cleanly after half-close");
    const got = await readRecords(reader.reader, total);
    assert.deepEqual(got.map((r) => r.seqNum), Array.from({ length: total }, (_, i) => i));
    assert.deepEqual(got.map((r) => r.body.toString()), Array.from({ length: total }, (_, i) => `d${i}`));
    assert.equal(await reader.reader.next(), null, "read session ends at its count");
    const ping = await h2request(client, { ":method": "GET", ":path": "/ping" });
    assert.equal(ping.status, 200);
    assert.equal(await tailOf(fx.weir, victim), 1, "the partial frame was not written");
  } finally {
    client.close();
  }
});

test("raw HTTP/2: client GOAWAY; the server finishes open streams and stays healthy", async () => {
  const basin = await newStream("goaway");
  // Graceful: GOAWAY(NO_ERROR) with an append session open; the session still completes.
  const c1 = connect(fx.weir);
  const app = s2sAppend(c1, basin);
  app.req.write(frame(appendInput([{ body: "g0" }])));
  assert.equal(decodeAck((await app.reader.next()).msg).start.seqNum, 0);
  c1.goaway(NGHTTP2_NO_ERROR);
  app.req.end(frame(appendInput([{ body: "g1" }])));
  const f = await app.reader.next();
  assert.ok(f && f.msg, JSON.stringify(f));
  assert.equal(decodeAck(f.msg).start.seqNum, 1);
  assert.equal(await app.reader.next(), null);
  await new Promise((resolve) => c1.close(resolve));

  // Abrupt: GOAWAY(PROTOCOL_ERROR) then the socket is destroyed with sessions mid-flight.
  const c2 = connect(fx.weir);
  const a2 = s2sAppend(c2, basin);
  a2.req.on("error", () => {});
  const r2 = s2sRead(c2, basin, "seq_num=0");
  r2.req.on("error", () => {});
  a2.req.write(frame(appendInput([{ body: "g2" }])));
  await a2.reader.next();
  await r2.response;
  a2.req.write(frame(appendInput([{ body: "g3" }])).subarray(0, 5));
  c2.goaway(NGHTTP2_PROTOCOL_ERROR);
  c2.destroy();

  const c3 = connect(fx.weir);
  try {
    const ping = await h2request(c3, { ":method": "GET", ":path": "/ping" });
    assert.equal(ping.status, 200);
    assert.equal(await tailOf(fx.weir, basin), 3);
  } finally {
    c3.close();
  }
});

test("raw HTTP/2: the server's SETTINGS are sane", async () => {
  const client = connect(fx.weir);
  try {
    const settings = await new Promise((resolve) => client.once("remoteSettings", resolve));
    // The SDK pools up to 100 streams per connection; fewer would queue its sessions.
    assert.ok(settings.maxConcurrentStreams >= 100 && settings.maxConcurrentStreams <= 2 ** 31 - 1, JSON.stringify(settings));
    assert.ok(settings.initialWindowSize >= 65535 && settings.initialWindowSize <= 2 ** 31 - 1, JSON.stringify(settings));
    assert.ok(settings.maxFrameSize >= 16384 && settings.maxFrameSize <= 2 ** 24 - 1, JSON.stringify(settings));
    assert.ok(settings.maxHeaderListSize >= 8192, JSON.stringify(settings));
    const ping = await h2request(client, { ":method": "GET", ":path": "/ping" });
    assert.equal(ping.status, 200);
    // The connection-level window the server grants is at least the protocol default.
    assert.ok(client.state.remoteWindowSize >= 65535, JSON.stringify(client.state));
  } finally {
    client.close();
  }
});

test("HTTP/1.1 then the h2c preface on the same connection is a 400, not a crash", async () => {
  const exchange = (chunks) =>
    new Promise((resolve, reject) => {
      const sock = net.connect(fx.weir.port, "127.0.0.1");
      let data = "";
      sock.on("data", (d) => (data += d.toString("latin1")));
      sock.on("error", reject);
      sock.on("close", () => resolve(data));
      (async () => {
        for (const c of chunks) {
          sock.write(c);
          await sleep(50);
        }
        sock.end();
      })();
    });
  const get = "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n";
  const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  for (const chunks of [[get, preface], [get + preface]]) {
    const out = await exchange(chunks);
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 400], out);
  }
  const again = await fetch(`${fx.weir.url}/ping`);
  assert.equal(again.status, 200);
});

// --- memory: leaks and flow control, against a dedicated server ------------------------------

test("memory: 200 append sessions reset mid-frame leak nothing; a paused 20 MB read stays bounded", async (t) => {
  const asan = process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : "";
  const mem = await startWeir({ env: { ASAN_OPTIONS: `${asan}quarantine_size_mb=0:thread_local_quarantine_size_kb=0` } });
  try {
    const basin = await newStream("leak", mem);
    const client = connect(mem);
    // Three ways to abandon a session with RST_STREAM(CANCEL), in turn:
    //  0: an append session with one acknowledged input and half of the next frame;
    //  1: an append session reset right after a whole input and half a frame (the append may
    //     still be pending in the store when the stream goes away);
    //  2: an s2s read session following at the tail (reset after its first heartbeat).
    const resetOne = async (i) => {
      let v;
      if (i % 3 === 2) {
        v = s2sRead(client, basin, "tail_offset=0");
        v.req.on("error", () => {});
        const hb = await v.reader.next();
        assert.ok(hb && hb.msg && decodeReadBatch(hb.msg).records.length === 0, JSON.stringify(hb));
      } else {
        v = s2sAppend(client, basin);
        v.req.on("error", () => {});
        const whole = frame(appendInput([{ body: `w${i}` }]));
        const half = frame(appendInput([{ body: "y".repeat(300) }])).subarray(0, 100);
        if (i % 3 === 0) {
          v.req.write(whole);
          const f = await v.reader.next();
          assert.ok(f && f.msg, JSON.stringify(f));
          v.req.write(half);
        } else {
          v.req.write(Buffer.concat([whole, half]));
        }
      }
      const closed = new Promise((resolve) => v.req.on("close", resolve));
      v.req.close(NGHTTP2_CANCEL);
      await closed;
    };
    const settle = async () => {
      // The ping is answered after every earlier frame on the connection was processed; then
      // the appends still pending in the store complete.
      assert.equal((await h2request(client, { ":method": "GET", ":path": "/ping" })).status, 200);
      await untilDurable(mem);
    };
    const unary = async (i) => {
      const r = await h2request(
        client,
        { ":method": "POST", ":path": "/v1/streams/s/records", "s2-basin": basin, "content-type": "application/json" },
        JSON.stringify({ records: [{ body: `w${i}` }] }),
      );
      assert.equal(r.status, 200, r.body.toString());
    };
    // Warm up allocator pools, caches and both code paths.
    for (let i = 0; i < 60; i++) await resetOne(i);
    for (let i = 0; i < 60; i++) await unary(i);
    await settle();
    // Every stored record grows the store's memory a little (its write buffer), so the growth
    // over the resets is compared with the growth over as many plain unary appends.
    const tail0 = await tailOf(mem, basin);
    const rss0 = rssKb(mem);
    for (let i = 60; i < 260; i++) await resetOne(i);
    await settle();
    const rss1 = rssKb(mem);
    const written = (await tailOf(mem, basin)) - tail0;
    assert.ok(written >= 67 && written <= 134, `${written} records written by 200 reset sessions`);
    for (let i = 0; i < written; i++) await unary(260 + i);
    await settle();
    const rss2 = rssKb(mem);
    const leak = rss1 - rss0 - (rss2 - rss1);
    t.diagnostic(`RSS ${rss0} KB; +${rss1 - rss0} KB over 200 resets (${written} records), +${rss2 - rss1} KB over ${written} unary appends`);
    // A leak of 3 KB per reset session would show as 600 KB.
    assert.ok(leak < 512, `server RSS grew ${leak} KB more over 200 reset sessions than over ${written} plain appends`);

    // Flow control: ~20 MB in 20 inputs of 1000 records of ~1000 bytes each.
    const big = await newStream("flow", mem);
    const n = 20000;
    const body = (i) => `${i}:`.padEnd(1000, "z");
    const app = s2sAppend(client, big);
    for (let b = 0; b < 20; b++) {
      const recs = Array.from({ length: 1000 }, (_, k) => ({ body: body(b * 1000 + k) }));
      if (!app.req.write(frame(appendInput(recs)))) await new Promise((r) => app.req.once("drain", r));
    }
    app.req.end();
    for (let b = 0; b < 20; b++) {
      const f = await app.reader.next();
      assert.ok(f && f.msg, JSON.stringify(f));
    }
    assert.equal(await app.reader.next(), null);
    assert.equal(await tailOf(mem, big), n);
    await settle();

    const base = rssKb(mem);
    const rd = s2sRead(client, big, `seq_num=0&count=${n}`);
    rd.req.pause();
    assert.equal((await rd.response)[":status"], 200);
    let peak = base;
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      peak = Math.max(peak, rssKb(mem));
    }
    t.diagnostic(`RSS ${base} KB before the paused read, peak growth ${peak - base} KB`);
    // Buffering the session's 20 MB would grow RSS by at least that much.
    assert.ok(peak - base < 8 * 1024, `server RSS grew by ${peak - base} KB while the reader was paused`);
    // The same connection still serves other streams while one is stalled.
    assert.equal((await h2request(client, { ":method": "GET", ":path": "/ping" })).status, 200);
    rd.req.resume();
    const got = await readRecords(rd.reader, n);
    assert.equal(got.length, n);
    for (let i = 0; i < n; i++) {
      if (got[i].seqNum !== i || got[i].body.toString() !== body(i)) {
        assert.fail(`record ${i}: seq ${got[i].seqNum}, body ${got[i].body.subarray(0, 12)}`);
      }
    }
    assert.equal(await rd.reader.next(), null);
    client.close();
  } finally {
    await mem.stop();
  }
});
