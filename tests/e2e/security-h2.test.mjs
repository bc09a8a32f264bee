// security-h2.test.mjs — resource bounds of HTTP/2 (h2c) connections under a hostile client
// (issue #13, item 3). Every row drives the real binary with short limits passed by environment:
//  - time: a stream whose request does not complete within the body timeout gets 408 and is
//    reset; a connection without streams is closed after the idle timeout, and one that never
//    completes its first request head after the header timeout — PINGs keep neither alive; with
//    --max-connections small, slots held that way free up. Streaming bodies (s2s append
//    sessions) are long-lived by design and are not cut;
//  - request bodies: 40 streams × 8 MiB without END_STREAM on one connection stay within the
//    connection's body budget plus its receive window (server RSS), and the youngest held body is
//    refused (503, retryable) so that the others can make progress;
//  - responses: 250 zero-window readers following a stream that receives large (or many small)
//    batches hold references to the shared batches, not copies (server RSS); readers paused by
//    the connection's budget resume, in order, once the client reads;
//  - afterwards ordinary traffic on the same servers works, and each server exits 0 (ASan).
// Memory rows run against a server whose ASan quarantine is off, so RSS reflects live memory.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { startWeir } from "./harness.mjs";
import { h2connect, h2request, newBasinWithStream, rssKb, uniqueBasin } from "./helpers.mjs";

const { NGHTTP2_CANCEL } = http2.constants;

// The smallest timeouts the options allow. Tests wait for the server's own timers (no fake
// clock reaches a running server) and assert what happened, never how long it took: the
// guards below only bound a hang, generously, for a loaded and sanitized server.
const BODY_TIMEOUT_MS = 1000;
const HEADER_TIMEOUT_MS = 1000;
const IDLE_TIMEOUT_MS = 1000;
const SLACK_MS = 4000;

let timed; // short body/header/idle timeouts
let mem; // default timeouts, ASan quarantine off
before(async () => {
  timed = await startWeir({
    env: { WEIR_BODY_TIMEOUT: "1s", WEIR_HEADER_TIMEOUT: "1s", WEIR_IDLE_TIMEOUT: "1s" },
  });
  const asan = process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : "";
  mem = await startWeir({ env: { ASAN_OPTIONS: `${asan}quarantine_size_mb=0:thread_local_quarantine_size_kb=0` } });
});
after(async () => {
  await timed?.stop();
  await mem?.stop();
});

// --- helpers ----------------------------------------------------------------------------------

/** Resolves to the value of `p`, or rejects with `msg` after `ms`. */
function within(p, ms, msg) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${msg} (not within ${ms} ms)`)), ms);
    }),
  ]);
}

/** Creates a fresh basin with stream "s" on `server` over HTTP/1.1. */
const newStream = (server, tag) => newBasinWithStream(server, uniqueBasin("sec-h2", tag));

/** A unary JSON append over HTTP/1.1 of `n` records of `size` bytes each. */
async function appendJson(server, basin, n, size, tag = "r") {
  const records = Array.from({ length: n }, (_, i) => ({ body: `${tag}${i}:`.padEnd(size, "z") }));
  const res = await fetch(`${server.url}/v1/streams/s/records`, {
    method: "POST",
    headers: { ...server.auth, "content-type": "application/json", "s2-basin": basin },
    body: JSON.stringify({ records }),
  });
  assert.equal(res.status, 200, await res.text());
}

const connect = (server, options = {}) => h2connect(server, { maxSessionMemory: 64, ...options });

/** A request whose body is never ended. `answer` resolves to {status, body, rstCode} once it closes. */
function openRequest(client, server, headers, body) {
  const req = client.request({ ...server.auth, ...headers }, { endStream: false });
  const chunks = [];
  let status;
  req.on("response", (h) => (status = h[":status"]));
  req.on("data", (d) => chunks.push(d));
  req.on("error", () => {}); // an RST after the answer is expected
  const answer = new Promise((resolve) =>
    req.on("close", () => resolve({ status, body: Buffer.concat(chunks), rstCode: req.rstCode })),
  );
  if (body) req.write(body);
  return { req, answer };
}

// Raw frames, for what node:http2 will not send (a HEADERS frame with no CONTINUATION).
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
function h2frame(type, flags, streamId, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}
const SETTINGS = h2frame(4, 0, 0);
const PING = h2frame(6, 0, 0, Buffer.alloc(8));
// HPACK static-table entries :method GET, :scheme http, :path / — a header block that is
// never finished, because END_HEADERS is not set and no CONTINUATION follows.
const HEADERS_UNFINISHED = h2frame(1, 0, 1, Buffer.from([0x82, 0x86, 0x84]));

/** Opens a raw socket, runs `act`, resolves to true once the server closed it, or null if it
 * did not within `waitMs` (a guard). */
async function rawConnection(server, act, waitMs) {
  const sock = net.connect(server.port, "127.0.0.1");
  sock.on("error", () => {});
  sock.on("data", () => {});
  await new Promise((resolve) => sock.once("connect", resolve));
  const closed = new Promise((resolve) => sock.once("close", () => resolve(true)));
  const stop = act(sock);
  const closedInTime = await Promise.race([closed, sleep(waitMs).then(() => null)]);
  if (typeof stop === "function") stop();
  sock.destroy();
  return closedInTime;
}

// --- time -------------------------------------------------------------------------------------

const rawRows = [
  {
    name: "preface and SETTINGS, then silence",
    act: (sock) => sock.write(Buffer.concat([PREFACE, SETTINGS])),
  },
  {
    name: "PING every 200 ms, never a request",
    act: (sock) => {
      sock.write(Buffer.concat([PREFACE, SETTINGS]));
      const iv = setInterval(() => sock.write(PING), 200);
      return () => clearInterval(iv);
    },
  },
  {
    name: "a HEADERS frame whose CONTINUATION never comes",
    act: (sock) => sock.write(Buffer.concat([PREFACE, SETTINGS, HEADERS_UNFINISHED])),
  },
];

for (const row of rawRows) {
  test(`time: no complete request head within the header timeout closes the connection — ${row.name}`, async () => {
    const closedInTime = await rawConnection(timed, row.act, HEADER_TIMEOUT_MS + SLACK_MS);
    assert.ok(closedInTime, "the server never closed the connection");
  });
}

const bodyRows = [
  { name: "POST head without END_STREAM", headers: { ":method": "POST", ":path": "/v1/basins" } },
  {
    name: "POST with part of a body",
    headers: { ":method": "POST", ":path": "/v1/basins", "content-type": "application/json" },
    body: Buffer.from('{"basin": "never-finished'),
  },
  { name: "GET head without END_STREAM", headers: { ":method": "GET", ":path": "/ping" } },
];

for (const row of bodyRows) {
  test(`time: a request not complete within the body timeout gets 408 — ${row.name}`, async () => {
    const client = connect(timed);
    try {
      // Several at once, to show each stream has its own deadline and the connection serves others.
      // Frames of one connection arrive in order: the ping follows the three heads.
      const open = [0, 1, 2].map(() => openRequest(client, timed, row.headers, row.body));
      const ping = await h2request(client, { ":method": "GET", ":path": "/ping" });
      assert.equal(ping.status, 200);
      for (const { answer } of open) {
        const a = await within(answer, BODY_TIMEOUT_MS + SLACK_MS, "no answer to the unfinished request");
        assert.equal(a.status, 408, `${a.status} ${a.body}`);
        assert.equal(JSON.parse(a.body.toString()).code, "request_timeout");
      }
      // With every stream over, the idle timeout closes the connection.
      await within(client.gone, IDLE_TIMEOUT_MS + SLACK_MS, "the idle connection was not closed");
    } finally {
      client.destroy();
    }
  });
}

test("time: the idle timeout also fires after the client reset all its streams, and PINGs do not extend it", async () => {
  for (const how of ["reset", "ping"]) {
    const client = connect(timed);
    try {
      if (how === "reset") {
        const { req, answer } = openRequest(client, timed, { ":method": "POST", ":path": "/v1/basins" });
        await once(req, "ready"); // the HEADERS frame is out: the server has a stream to reset
        req.close(NGHTTP2_CANCEL);
        await answer;
      } else {
        assert.equal((await h2request(client, { ":method": "GET", ":path": "/ping" })).status, 200);
      }
      // PINGs every 300 ms: were they to extend the idle timeout, the guard would fail.
      const iv = setInterval(() => {
        if (!client.closed && !client.destroyed) client.ping(() => {});
      }, 300);
      try {
        await within(client.gone, IDLE_TIMEOUT_MS + SLACK_MS, `${how}: the idle connection was not closed`);
      } finally {
        clearInterval(iv);
      }
    } finally {
      client.destroy();
    }
  }
});

test("time: an s2s append session is not cut by the body timeout", async () => {
  const basin = await newStream(timed, "quiet");
  const client = connect(timed);
  try {
    const req = client.request({
      ...timed.auth,
      ":method": "POST",
      ":path": "/v1/streams/s/records",
      "s2-basin": basin,
      "content-type": "s2s/proto",
    });
    const acks = [];
    let buf = Buffer.alloc(0);
    req.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 3 && buf.length >= 3 + buf.readUIntBE(0, 3)) {
        acks.push(buf[3]);
        buf = buf.subarray(3 + buf.readUIntBE(0, 3));
      }
    });
    // AppendInput{records: [{body: "q"}]} in one s2s frame.
    const record = Buffer.from([0x1a, 0x01, 0x71]);
    const input = Buffer.concat([Buffer.from([0x0a, record.length]), record]);
    const frame = Buffer.concat([Buffer.from([0, 0, input.length + 1, 0]), input]);
    req.write(frame);
    await within((async () => { while (acks.length < 1) await sleep(20); })(), 5000, "first ack");
    await sleep(BODY_TIMEOUT_MS * 2.5); // quiet for longer than the body timeout
    req.end(frame);
    await within((async () => { while (acks.length < 2) await sleep(20); })(), 5000, "second ack");
    assert.deepEqual(acks, [0, 0], "two acks, no terminal frame");
  } finally {
    client.destroy();
  }
});

test("time: connections held by unfinished requests free their --max-connections slots", async () => {
  const small = await startWeir({
    args: ["--max-connections", "3"],
    env: { WEIR_BODY_TIMEOUT: "1s", WEIR_HEADER_TIMEOUT: "1s", WEIR_IDLE_TIMEOUT: "1s" },
  });
  const clients = [];
  try {
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const c = connect(small);
      clients.push(c);
      // The first answer proves the connection is established and counted.
      assert.equal((await h2request(c, { ":method": "GET", ":path": "/ping" })).status, 200);
      answers.push(openRequest(c, small, { ":method": "POST", ":path": "/v1/basins" }).answer);
    }
    const extra = connect(small);
    clients.push(extra);
    await assert.rejects(h2request(extra, { ":method": "GET", ":path": "/ping" }), "all 3 slots are taken");
    for (const a of answers) assert.equal((await within(a, BODY_TIMEOUT_MS + SLACK_MS, "no 408")).status, 408);
    await within(Promise.all(clients.slice(0, 3).map((c) => c.gone)), IDLE_TIMEOUT_MS + SLACK_MS, "slots not freed");
    const fresh = connect(small);
    clients.push(fresh);
    assert.equal((await h2request(fresh, { ":method": "GET", ":path": "/ping" })).status, 200);
  } finally {
    for (const c of clients) c.destroy();
    await small.stop();
  }
});

// --- request bodies ---------------------------------------------------------------------------

/** Writes `total` bytes to `req` in 64 KiB chunks, honouring back-pressure; never ends it. */
async function pump(req, total, progress) {
  const chunk = Buffer.alloc(64 * 1024, "x");
  let sent = 0;
  while (sent < total && !req.closed && !req.destroyed) {
    const n = Math.min(chunk.length, total - sent);
    const ok = req.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    sent += n;
    progress.bytes += n;
    if (!ok) {
      await new Promise((resolve) => {
        const done = () => {
          req.off("drain", done);
          req.off("close", done);
          resolve();
        };
        req.on("drain", done);
        req.on("close", done);
      });
    }
  }
}

test("request bodies: 40 streams × 8 MiB without END_STREAM stay within the connection's budget", async (t) => {
  const basin = await newStream(mem, "bodies");
  const client = connect(mem);
  try {
    // Warm up the code paths and allocator pools.
    for (let i = 0; i < 5; i++) {
      const r = await h2request(
        client,
        { ":method": "POST", ":path": "/v1/streams/s/records", "s2-basin": basin, "content-type": "application/json" },
        JSON.stringify({ records: [{ body: "w".repeat(200 * 1024) }] }),
      );
      assert.equal(r.status, 200, r.body.toString());
    }
    await sleep(300);
    const base = rssKb(mem);
    const progress = { bytes: 0 };
    const streams = Array.from({ length: 40 }, () =>
      openRequest(client, mem, {
        ":method": "POST",
        ":path": "/v1/streams/s/records",
        "s2-basin": basin,
        "content-type": "application/json",
      }),
    );
    // Just under the route's 8 MiB limit, so that no stream ends in a 413.
    const pumps = streams.map(({ req }) => pump(req, 8 * 1024 * 1024 - 1024, progress));
    let minWindow = Infinity;
    const watch = setInterval(() => {
      if (!client.destroyed) minWindow = Math.min(minWindow, client.state.remoteWindowSize ?? Infinity);
    }, 2);
    let peak = base;
    let last = -1;
    let still = 0;
    for (let i = 0; i < 200 && still < 15; i++) {
      await sleep(100);
      peak = Math.max(peak, rssKb(mem));
      still = progress.bytes === last ? still + 1 : 0;
      last = progress.bytes;
    }
    clearInterval(watch);
    const growth = peak - base;
    t.diagnostic(
      `RSS ${base} KB; peak growth ${growth} KB; client wrote ${Math.round(progress.bytes / 1048576)} MiB of 320; ` +
        `smallest connection window seen ${minWindow}`,
    );
    // Budget (8 MiB: one maximal body) + receive window (8 MiB) + slack for the allocator;
    // buffering everything would grow RSS by 320 MiB.
    assert.ok(growth < 64 * 1024, `server RSS grew by ${growth} KB`);
    assert.ok(minWindow < 64 * 1024, `the connection window never closed (smallest ${minWindow})`);
    client.destroy();
    const answers = await Promise.all(streams.map((s) => s.answer));
    await Promise.all(pumps);
    const statuses = answers.map((a) => a.status).filter((s) => s !== undefined);
    t.diagnostic(`answers: ${JSON.stringify(statuses.reduce((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {}))}`);
    // No body ever ended, so nothing may have been dispatched; the youngest held bodies were
    // refused (retryable) so that older ones could progress.
    assert.ok(statuses.length >= 1, "no stream was refused: the connection buffered every body");
    for (const a of answers.filter((x) => x.status !== undefined)) {
      assert.equal(a.status, 503, a.body.toString());
      assert.equal(JSON.parse(a.body.toString()).code, "unavailable");
    }
  } finally {
    client.destroy();
  }
});

test("request bodies: concurrent bodies within the budget all complete on one connection", async () => {
  const basin = await newStream(mem, "legit");
  const client = connect(mem);
  try {
    const one = (i) =>
      h2request(
        client,
        { ":method": "POST", ":path": "/v1/streams/s/records", "s2-basin": basin, "content-type": "application/json" },
        JSON.stringify({ records: Array.from({ length: 4 }, (_, k) => ({ body: `${i}.${k}:`.padEnd(240 * 1024, "y") })) }),
      );
    const res = await Promise.all(Array.from({ length: 8 }, (_, i) => one(i)));
    for (const r of res) assert.equal(r.status, 200, r.body.toString());
  } finally {
    client.close();
  }
});

// --- responses --------------------------------------------------------------------------------

const readerRows = [
  { name: "s2s, 3 batches of 1 MB", s2s: true, batches: 3, records: 4, size: 250_000 },
  { name: "SSE, 3 batches of 1 MB", s2s: false, batches: 3, records: 4, size: 250_000 },
  { name: "SSE, 200 batches of 8 KB", s2s: false, batches: 200, records: 2, size: 4000 },
];

for (const row of readerRows) {
  test(`responses: 250 zero-window readers stay bounded — ${row.name}`, async (t) => {
    const basin = await newStream(mem, "zw");
    // The client grants no stream window: no DATA can ever reach it.
    const client = connect(mem, { settings: { initialWindowSize: 0 } });
    try {
      const headers = {
        ...mem.auth,
        ":method": "GET",
        ":path": "/v1/streams/s/records?tail_offset=0",
        "s2-basin": basin,
        ...(row.s2s ? { "content-type": "s2s/proto" } : { accept: "text/event-stream" }),
      };
      const reqs = Array.from({ length: 250 }, () => {
        const req = client.request(headers);
        req.on("error", () => {});
        return req;
      });
      const statuses = await within(
        Promise.all(reqs.map((req) => new Promise((resolve) => req.once("response", (h) => resolve(h[":status"]))))),
        20000,
        "read sessions did not start",
      );
      assert.deepEqual([...new Set(statuses)], [200]);
      await sleep(300);
      const base = rssKb(mem);
      let peak = base;
      for (let b = 0; b < row.batches; b++) {
        await appendJson(mem, basin, row.records, row.size, `b${b}.`);
        peak = Math.max(peak, rssKb(mem));
      }
      for (let i = 0; i < 15; i++) {
        await sleep(100);
        peak = Math.max(peak, rssKb(mem));
      }
      const growth = peak - base;
      const appended = Math.round((row.batches * row.records * row.size) / 1024);
      t.diagnostic(`RSS ${base} KB; peak growth ${growth} KB; ${appended} KB appended, 250 readers`);
      // Copies per reader would be 250 × (a batch, or 256 KiB of small ones) ≥ 60 MiB.
      assert.ok(growth < 32 * 1024, `server RSS grew by ${growth} KB`);
    } finally {
      client.destroy();
    }
  });
}

test("responses: readers paused by the connection's budget resume in order once the client reads", async () => {
  const basin = await newStream(mem, "resume");
  const client = connect(mem, { settings: { initialWindowSize: 0 } });
  try {
    const N = 20;
    const BATCHES = 40;
    const readers = Array.from({ length: N }, () => {
      const req = client.request({
        ...mem.auth,
        ":method": "GET",
        ":path": "/v1/streams/s/records?tail_offset=0",
        "s2-basin": basin,
        accept: "text/event-stream",
      });
      req.on("error", () => {});
      const r = { req, text: "", seqs: [] };
      req.setEncoding("utf8");
      req.on("data", (d) => {
        r.text += d;
        let i;
        while ((i = r.text.indexOf("\n\n")) >= 0) {
          const ev = r.text.slice(0, i);
          r.text = r.text.slice(i + 2);
          if (!/^event: batch$/m.test(ev)) continue;
          const data = ev.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("");
          for (const rec of JSON.parse(data).records) r.seqs.push(rec.seq_num);
        }
      });
      r.response = new Promise((resolve) => req.once("response", resolve));
      return r;
    });
    await within(Promise.all(readers.map((r) => r.response)), 10000, "read sessions did not start");
    // 40 × 2 × 16 KB queued per reader: each is past STREAM_HIGH_WATER, and all of them together
    // far past the connection's budget, so every session pauses.
    for (let b = 0; b < BATCHES; b++) await appendJson(mem, basin, 2, 16_000, `p${b}.`);
    await sleep(300);
    client.settings({ initialWindowSize: 1 << 20 }); // now read everything
    const want = Array.from({ length: BATCHES * 2 }, (_, i) => i);
    await within(
      (async () => {
        while (readers.some((r) => r.seqs.length < want.length)) await sleep(50);
      })(),
      30000,
      "paused readers did not resume",
    );
    for (const r of readers) assert.deepEqual(r.seqs, want);
  } finally {
    client.destroy();
  }
});

// --- afterwards -------------------------------------------------------------------------------

test("afterwards: ordinary HTTP/2 and HTTP/1.1 traffic works on both servers", async () => {
  for (const server of [timed, mem]) {
    const basin = await newStream(server, "after");
    const client = connect(server);
    try {
      assert.equal((await h2request(client, { ":method": "GET", ":path": "/ping" })).status, 200);
      const big = JSON.stringify({ records: [{ body: "a".repeat(900 * 1024) }, { body: "b" }] });
      const r = await h2request(
        client,
        { ":method": "POST", ":path": "/v1/streams/s/records", "s2-basin": basin, "content-type": "application/json" },
        big,
      );
      assert.equal(r.status, 200, r.body.toString());
      const read = await h2request(client, {
        ":method": "GET",
        ":path": "/v1/streams/s/records?seq_num=0&count=2",
        "s2-basin": basin,
      });
      assert.equal(read.status, 200);
      const recs = JSON.parse(read.body.toString()).records;
      assert.deepEqual(recs.map((x) => x.body.length), [900 * 1024, 1]);
      const h1 = await fetch(`${server.url}/ping`);
      assert.equal(h1.status, 200);
    } finally {
      client.close();
    }
  }
});
