// bench/append-s2s.mjs — load generator for bench/append-s2s.sh: durable appends through s2s
// append sessions over h2c (raw node:http2, protobuf AppendInput frames encoded by hand, no SDK).
// Each of --sessions sessions runs on its own HTTP/2 connection and keeps --window inputs in
// flight (pipelined): every ack releases the next input. An input is --records records with a
// --size-byte body each. After --secs seconds no new input is sent; the outstanding acks are
// awaited and each session is half-closed and must end cleanly.
//
// Measures acknowledged records/s (records acked / time from the first send to the last ack)
// and ack latency per input (send → its AppendAck, so it includes waiting behind the window).
// Checks that every ack covers exactly --records seq_nums and that acks of a session are in
// increasing seq_num order within the session. Any terminal frame, HTTP error or early end fails.
//
// Usage: node bench/append-s2s.mjs --url http://127.0.0.1:PORT --basin B --stream S
//          [--sessions 8] [--window 4] [--records 100] [--size 200] [--secs 5]
// Env: WEIR_TOKEN, sent as `Authorization: Bearer <token>` when set.
// Prints one machine-readable line:
//   RESULT <records/s> <ack p50 ms> <ack p99 ms> <inputs acked> <records acked>
import http2 from "node:http2";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" },
    basin: { type: "string" },
    stream: { type: "string" },
    sessions: { type: "string", default: "8" },
    window: { type: "string", default: "4" },
    records: { type: "string", default: "100" },
    size: { type: "string", default: "200" },
    secs: { type: "string", default: "5" },
  },
});
const SESSIONS = Number(opt.sessions);
const WINDOW = Number(opt.window);
const RECORDS = Number(opt.records);
const SIZE = Number(opt.size);
const SECS = Number(opt.secs);
if (!opt.url || !opt.basin || !opt.stream) {
  console.error("usage: append-s2s.mjs --url URL --basin B --stream S [--sessions N] [--window W]");
  process.exit(2);
}

// --- protobuf (s2-api.md §4.2) -----------------------------------------------------------

function varint(n) {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}
const lenField = (no, buf) => Buffer.concat([varint((no << 3) | 2), varint(buf.length), buf]);

/** One s2s frame holding AppendInput{records: RECORDS × AppendRecord{body: SIZE bytes}}. */
function inputFrame() {
  const record = lenField(3, Buffer.alloc(SIZE, "x")); // AppendRecord.body
  const input = Buffer.concat(Array.from({ length: RECORDS }, () => lenField(1, record)));
  const head = Buffer.alloc(4);
  head.writeUIntBE(input.length + 1, 0, 3); // length counts the flag byte
  head[3] = 0; // no compression, not terminal
  return Buffer.concat([head, input]);
}

/** Reads varint fields 1 (seq_num) of the StreamPositions in AppendAck fields 1 (start), 2 (end). */
function decodeAck(buf) {
  let i = 0;
  const rv = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++];
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return v;
      mul *= 128;
    }
  };
  const seqOf = (end) => {
    let seq = 0;
    while (i < end) {
      const key = rv();
      const val = rv();
      if (key === 0x08) seq = val;
    }
    return seq;
  };
  const ack = {};
  while (i < buf.length) {
    const key = rv();
    if ((key & 7) !== 2) throw new Error(`unexpected AppendAck field key ${key}`);
    const n = rv();
    const s = seqOf(i + n);
    if (key >> 3 === 1) ack.start = s;
    else if (key >> 3 === 2) ack.end = s;
  }
  return ack;
}

// --- sessions ----------------------------------------------------------------------------

const FRAME = inputFrame();
const latencies = [];
let stopAt = 0;

function runSession() {
  return new Promise((resolve, reject) => {
    const client = http2.connect(opt.url);
    client.on("error", reject);
    const req = client.request({
      ...(process.env.WEIR_TOKEN ? { authorization: `Bearer ${process.env.WEIR_TOKEN}` } : {}),
      ":method": "POST",
      ":path": `/v1/streams/${encodeURIComponent(opt.stream)}/records`,
      "s2-basin": opt.basin,
      "content-type": "s2s/proto",
      accept: "application/protobuf",
    });
    const sent = []; // send times of unacknowledged inputs, oldest first
    let buf = Buffer.alloc(0);
    let acked = 0;
    let lastEnd = -1;
    let lastAckAt = 0;
    let closing = false;
    const fail = (msg) => {
      client.destroy();
      reject(new Error(msg));
    };
    const send = () => {
      sent.push(performance.now());
      req.write(FRAME);
    };
    const maybeClose = () => {
      if (!closing && sent.length === 0 && performance.now() >= stopAt) {
        closing = true;
        req.end();
      }
    };
    req.on("response", (h) => {
      if (h[":status"] !== 200) fail(`session answered HTTP ${h[":status"]}`);
    });
    req.on("data", (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 3) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 3 + len) break;
        const flag = buf[3];
        const body = buf.subarray(4, 3 + len);
        buf = buf.subarray(3 + len);
        if (flag & 0x80) {
          return fail(`terminal frame ${body.readUInt16BE(0)} ${body.subarray(2).toString()}`);
        }
        const now = performance.now();
        const ack = decodeAck(body);
        if (sent.length === 0) return fail("an ack for an input that was not sent");
        latencies.push(now - sent.shift());
        if (ack.end - ack.start !== RECORDS) return fail(`ack covers ${ack.end - ack.start} records`);
        if (lastEnd >= 0 && ack.start < lastEnd) return fail("acks out of order");
        lastEnd = ack.end;
        acked += 1;
        lastAckAt = now;
        if (now < stopAt) send();
      }
      maybeClose();
    });
    req.on("end", () => {
      client.close();
      if (sent.length) return reject(new Error(`session ended with ${sent.length} inputs unacknowledged`));
      resolve({ acked, lastAckAt });
    });
    req.on("error", reject);
    for (let k = 0; k < WINDOW; k++) send();
  });
}

const start = performance.now();
stopAt = start + SECS * 1000;
const results = await Promise.all(Array.from({ length: SESSIONS }, runSession));
const inputs = results.reduce((a, r) => a + r.acked, 0);
const elapsed = (Math.max(...results.map((r) => r.lastAckAt)) - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(
  `RESULT ${((inputs * RECORDS) / elapsed).toFixed(0)} ${pct(50).toFixed(3)} ${pct(99).toFixed(3)} ${inputs} ${inputs * RECORDS}`,
);
