// s2-h2.test.mjs — HTTP/2 (h2c prior knowledge) on the same port, s2s append/read sessions and
// unary protobuf, through the official SDK's default transport (which in Node is s2s over
// HTTP/2 with no fallback) and through raw node:http2 for framing edge cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { AppendInput, AppendRecord, BatchTransform, Producer } from "@s2-dev/streamstore";
import { h2connect, h2request, readRecordsOf, sdkSuite, uniqueBasin } from "./helpers.mjs";

const fx = sdkSuite();

async function newStream(tag) {
  const name = uniqueBasin("h2", tag);
  await fx.s2.basins.create({ basin: name });
  const basin = fx.s2.basin(name);
  await basin.streams.create({ stream: "s" });
  return { name, stream: basin.stream("s") };
}

const text = (s, headers) => AppendRecord.string({ body: s, ...(headers ? { headers } : {}) });

test("SDK default transport: Producer over an s2s append session, read session over s2s", async () => {
  const { stream } = await newStream("prod");
  const N = 100;
  const session = await stream.readSession({ start: { from: { seqNum: 0 } } });
  const it = session[Symbol.asyncIterator]();
  const reader = readRecordsOf(it, N);
  const producer = new Producer(new BatchTransform({ lingerDurationMillis: 2, maxBatchRecords: 10 }), await stream.appendSession());
  const acks = [];
  for (let i = 0; i < N; i++) acks.push((await producer.submit(text(`r${i}`, [["i", String(i)]]))).ack());
  const done = await Promise.all(acks);
  await producer.close();
  assert.deepEqual(done.map((a) => a.seqNum()), Array.from({ length: N }, (_, i) => i));
  const got = await reader;
  assert.deepEqual(got.map((r) => r.seqNum), Array.from({ length: N }, (_, i) => i));
  assert.deepEqual(got.map((r) => r.body), Array.from({ length: N }, (_, i) => `r${i}`));
  const tail = await session.caughtUp();
  assert.equal(tail.seqNum, N);
  await it.return();
  await stream.close();
});

test("append session: pipelined inputs are acked in order; a seq mismatch ends it with 412", async () => {
  const { stream } = await newStream("pipe");
  const sess = await stream.appendSession();
  const tickets = [];
  for (let i = 0; i < 20; i++) tickets.push(await sess.submit(AppendInput.create([text(`a${i}`), text(`b${i}`)])));
  const acks = await Promise.all(tickets.map((t) => t.ack()));
  assert.deepEqual(acks.map((a) => a.start.seqNum), Array.from({ length: 20 }, (_, i) => i * 2));
  assert.deepEqual(acks.map((a) => a.end.seqNum), Array.from({ length: 20 }, (_, i) => i * 2 + 2));
  const bad = await sess.submit(AppendInput.create([text("x")], { matchSeqNum: 7 }));
  await assert.rejects(bad.ack(), (e) => e.status === 412);
  await sess.close().catch(() => {});
  const tail = await stream.checkTail();
  assert.equal(tail.tail.seqNum, 40, "nothing after the failed input was written");
  await stream.close();
});

test("unary protobuf: bytes records append and read as bytes", async () => {
  const { stream } = await newStream("proto");
  const bodies = [Uint8Array.from([0, 1, 2, 255]), Uint8Array.from([]), Uint8Array.from([0xc3, 0x28])];
  const ack = await stream.append(AppendInput.create(bodies.map((b) => AppendRecord.bytes({ body: b, headers: [[new Uint8Array([1]), new Uint8Array([2, 3])]] }))));
  assert.equal(ack.end.seqNum, 3);
  const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } }, { as: "bytes" });
  assert.equal(batch.records.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(Buffer.from(batch.records[i].body), Buffer.from(bodies[i]));
    assert.deepEqual(Buffer.from(batch.records[i].headers[0][1]), Buffer.from([2, 3]));
  }
  await stream.close();
});

test("raw HTTP/2: many concurrent streams on one connection, JSON routes work", async () => {
  const { name } = await newStream("raw");
  const client = h2connect(fx.weir);
  try {
    const posts = Array.from({ length: 50 }, (_, i) =>
      h2request(
        client,
        { ":method": "POST", ":path": "/v1/streams/s/records", "s2-basin": name, "content-type": "application/json" },
        JSON.stringify({ records: [{ body: `c${i}` }] }),
      ),
    );
    const results = await Promise.all(posts);
    for (const r of results) assert.equal(r.status, 200, r.body.toString());
    const seqs = results.map((r) => JSON.parse(r.body).start.seq_num).sort((a, b) => a - b);
    assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i));
    const nf = await h2request(client, { ":method": "GET", ":path": "/nope" });
    assert.equal(nf.status, 404);
    assert.equal(JSON.parse(nf.body).code, "not_found");
  } finally {
    client.close();
  }
});

test("raw s2s: a zero-length frame gets a terminal bad_frame", async () => {
  const { name } = await newStream("frame");
  const client = h2connect(fx.weir);
  try {
    const r = await h2request(
      client,
      { ":method": "POST", ":path": "/v1/streams/s/records", "s2-basin": name, "content-type": "s2s/proto" },
      Buffer.from([0, 0, 0]),
    );
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "s2s/proto");
    // terminal frame: 3-byte length, flag 0x80, 2-byte status 400, JSON body
    assert.equal(r.body[3], 0x80);
    assert.equal(r.body.readUInt16BE(4), 400);
    assert.equal(JSON.parse(r.body.subarray(6).toString()).code, "bad_frame");
  } finally {
    client.close();
  }
});

test("raw HTTP/2: a client that resets a read session mid-stream does not disturb others", async () => {
  const { name } = await newStream("rst");
  const client = h2connect(fx.weir);
  try {
    const req = client.request({ ...fx.weir.auth, ":method": "GET", ":path": "/v1/streams/s/records?seq_num=0", "s2-basin": name, accept: "text/event-stream" });
    await new Promise((resolve) => req.on("response", resolve));
    req.close(http2.constants.NGHTTP2_CANCEL);
    const ok = await h2request(client, { ":method": "GET", ":path": "/health" });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), "OK");
  } finally {
    client.close();
  }
});
