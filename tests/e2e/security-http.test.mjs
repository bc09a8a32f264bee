// security-http.test.mjs — regression tests for the HTTP/1.1 findings of the black-box attack
// (issue #13), each through the real binary with raw sockets, so that what goes over the wire is
// exactly what an attacker sends:
//   2. pipelining without reading must not make the server buffer answers without bound;
//   6. SSE readers that never read must not each hold a copy of every live batch;
//   9. header names that are not RFC 9110 tokens ("Content-Length : 5") are 400, not a second
//      request hidden in the body (request smuggling behind a lenient proxy starts there);
//  10. a body trickled one byte at a time cannot keep a connection open past --body-timeout.
// Memory checks read the server's VmRSS from /proc and compare against bounds far below what
// the unbounded behaviour reaches (hundreds of MiB), so that noise cannot flip them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startWeir } from "./harness.mjs";
import { rssKb } from "./helpers.mjs";

let weir;
const BASIN = "security-http-basin";

async function api(method, path, body, headers = {}) {
  const res = await fetch(weir.url + path, {
    method,
    headers: { ...weir.auth, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

async function appendRecords(stream, bodies) {
  const r = await api("POST", `/v1/streams/${stream}/records`, { records: bodies.map((body) => ({ body })) }, { "s2-basin": BASIN });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Opens a raw connection; resolves once connected. */
function connect() {
  return new Promise((resolve, reject) => {
    const s = net.connect(weir.port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
}

/** Sends raw bytes on a new connection and collects everything until the server closes it. */
function rawExchange(bytes, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(weir.port, "127.0.0.1", () => s.write(bytes));
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ out, closed: false });
    }, timeoutMs);
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ out, closed: true });
    });
    s.on("error", reject);
  });
}

/** The largest RSS seen while polling every 100 ms until it has not grown for `quietMs`. */
async function settledPeak(quietMs = 1500, capMs = 20000) {
  let peak = rssKb(weir);
  let since = Date.now();
  const start = Date.now();
  while (Date.now() - since < quietMs && Date.now() - start < capMs) {
    await new Promise((r) => setTimeout(r, 100));
    const v = rssKb(weir);
    if (v > peak + 256) {
      peak = v;
      since = Date.now();
    }
  }
  return peak;
}

before(async () => {
  // A small ASan quarantine, so that RSS measures what the server holds rather than what it
  // freed recently (under ASan freed memory is kept out of reuse for a while).
  const asan = [process.env.ASAN_OPTIONS, "quarantine_size_mb=8"].filter(Boolean).join(":");
  weir = await startWeir({ env: { WEIR_BODY_TIMEOUT: "2s", ASAN_OPTIONS: asan } });
  const r = await api("POST", "/v1/basins", { basin: BASIN });
  assert.equal(r.status, 201, r.text);
  for (const s of ["big", "live"]) assert.equal((await api("POST", "/v1/streams", { stream: s }, { "s2-basin": BASIN })).status, 201);
  // ~1 MiB of records, so that one read answer is ~1 MiB.
  const kb = "x".repeat(1000);
  for (let i = 0; i < 4; i++) await appendRecords("big", Array.from({ length: 250 }, () => kb));
});

after(async () => {
  await weir?.stop();
});

// ---------------------------------------------------------------------------------------------
// 2. Pipelining

test("pipelined requests from a client that never reads: the server's output stays bounded", async (t) => {
  const head =
    `GET /v1/streams/big/records?seq_num=0&count=1000 HTTP/1.1\r\nhost: x\r\n` +
    `authorization: Bearer ${weir.token}\r\ns2-basin: ${BASIN}\r\n\r\n`;
  const rss0 = rssKb(weir);
  const s = await connect();
  s.pause(); // never read a byte of the answers
  // 300 requests whose answers are ~1 MiB each: unbounded, that is ~300 MiB queued.
  s.write(head.repeat(300));
  const peak = await settledPeak();
  t.diagnostic(`RSS ${rss0} KB → peak ${peak} KB (+${peak - rss0} KB) with 300 pipelined 1 MiB answers unread`);
  assert.ok(peak - rss0 < 64 * 1024, `server RSS grew by ${peak - rss0} KB`);
  s.destroy();
  // The server is fine, and a well-behaved pipelining client gets every answer in order.
  const ok = await rawExchange(
    `GET /ping HTTP/1.1\r\nhost: x\r\n\r\nGET /health HTTP/1.1\r\nhost: x\r\n\r\nGET /ping HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
  );
  assert.equal((ok.out.match(/HTTP\/1\.1 200 OK/g) || []).length, 3, ok.out);
});

// ---------------------------------------------------------------------------------------------
// 6. Idle SSE readers and live batches

test("SSE readers that never read share live batches instead of each holding a copy", async (t) => {
  const N = 400;
  const tail = (await api("GET", "/v1/streams/live/records/tail", undefined, { "s2-basin": BASIN })).json.tail.seq_num;
  const readers = [];
  // Each reader reads until the session is following (its first ping), then stops reading.
  await Promise.all(
    Array.from({ length: N }, async () => {
      const s = await connect();
      readers.push(s);
      await new Promise((resolve, reject) => {
        let got = "";
        s.on("data", (d) => {
          got += d.toString("latin1");
          if (got.includes("event: ping")) {
            s.pause();
            resolve();
          }
        });
        s.on("error", reject);
        s.write(
          `GET /v1/streams/live/records?seq_num=${tail} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n` +
            `authorization: Bearer ${weir.token}\r\ns2-basin: ${BASIN}\r\n\r\n`,
        );
      });
    }),
  );
  const rss0 = rssKb(weir);
  // Sixteen live batches of ~960 KB each: once a reader's kernel buffers are full, a private copy
  // per stalled reader would be ~N × 1 MiB.
  const chunk = "y".repeat(120 * 1024);
  for (let i = 0; i < 16; i++) await appendRecords("live", Array.from({ length: 8 }, () => chunk));
  const peak = await settledPeak();
  t.diagnostic(`RSS ${rss0} KB → peak ${peak} KB (+${peak - rss0} KB) with ${N} stalled readers × 16 live ~1 MiB batches`);
  assert.ok(peak - rss0 < 100 * 1024, `server RSS grew by ${peak - rss0} KB`);
  for (const s of readers) s.destroy();
  // A reader that does read still gets every batch.
  const res = await fetch(`${weir.url}/v1/streams/live/records?seq_num=${tail}&count=32`, {
    headers: { ...weir.auth, "s2-basin": BASIN, accept: "text/event-stream" },
  });
  const text = await res.text();
  assert.equal((text.match(/^event: batch$/gm) || []).length >= 1, true);
  assert.match(text, /\[DONE\]/);
});

// ---------------------------------------------------------------------------------------------
// 9. Strict header names

const smuggled = "GET /admin/api/v1/orgs HTTP/1.1\r\nhost: x\r\n\r\n";
const headerNameRows = [
  { name: "space before the colon (Content-Length)", head: `Content-Length : ${smuggled.length}` },
  { name: "tab before the colon (Content-Length)", head: `Content-Length\t: ${smuggled.length}` },
  { name: "space before the colon (Transfer-Encoding)", head: "Transfer-Encoding : chunked" },
  { name: "space inside a name", head: "Content Length: 5" },
  { name: "a non-token character in a name", head: "X-Bad@Name: 1" },
  { name: "a name of only a space", head: " : 1" },
];

for (const row of headerNameRows) {
  test(`header name: ${row.name} → 400 and close, nothing smuggled`, async () => {
    const body = row.head.startsWith("Transfer-Encoding") ? `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n` : smuggled;
    const { out, closed } = await rawExchange(`POST /ping HTTP/1.1\r\nhost: x\r\n${row.head}\r\n\r\n${body}`);
    assert.ok(closed, "the connection is closed");
    const statuses = out.match(/^HTTP\/1\.1 \d{3}/gm) || [];
    assert.deepEqual(statuses, ["HTTP/1.1 400"], out);
    assert.match(out, /"code":"bad_request"/);
    assert.match(out, /header/);
  });
}

// The rest of the class: framing that proxies and servers are known to read differently.
const framingRows = [
  { name: "Content-Length and Transfer-Encoding together", head: `Content-Length: ${smuggled.length}\r\nTransfer-Encoding: chunked` },
  { name: "two different Content-Lengths", head: "Content-Length: 5\r\nContent-Length: 6" },
  { name: "a Content-Length list", head: "Content-Length: 5, 5" },
  { name: "a signed Content-Length", head: "Content-Length: +5" },
  { name: "a transfer coding other than chunked", head: "Transfer-Encoding: identity" },
  { name: "chunked not last", head: "Transfer-Encoding: chunked, identity" },
];

for (const row of framingRows) {
  test(`framing: ${row.name} → 400 and close, nothing smuggled`, async () => {
    const { out, closed } = await rawExchange(`POST /ping HTTP/1.1\r\nhost: x\r\n${row.head}\r\n\r\n0\r\n\r\n${smuggled}`);
    assert.ok(closed, "the connection is closed");
    assert.deepEqual(out.match(/HTTP\/1\.1 \d{3}/g), ["HTTP/1.1 400"], out);
    assert.match(out, /"code":"bad_request"/);
  });
}

test("well-formed headers around the edge still work (optional whitespace after the colon)", async () => {
  const { out } = await rawExchange("GET /ping HTTP/1.1\r\nhost: x\r\nX-Ok-Name:   spaced  \r\nx-tchars!#$%&'*+-.^_`|~: 1\r\nconnection: close\r\n\r\n");
  assert.match(out, /^HTTP\/1\.1 200 OK/);
});

// ---------------------------------------------------------------------------------------------
// 10. Body timeout covers the whole body

test("a body trickled one byte at a time gets 408 after --body-timeout, however often bytes arrive", async () => {
  const s = await connect();
  let out = "";
  let closed = false;
  s.on("data", (d) => (out += d.toString("latin1")));
  s.on("close", () => (closed = true));
  s.write(`POST /v1/basins HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${weir.token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n`);
  // One byte every 300 ms: a timer re-armed on every read never fires. Stop after 40 bytes
  // (12 s) at the latest.
  for (let i = 0; i < 40 && !closed && !out.includes("408"); i++) {
    s.write("{");
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.match(out, /^HTTP\/1\.1 408 /, `answer: ${JSON.stringify(out)}`);
  assert.match(out, /"code":"request_timeout"/);
  s.destroy();
});
