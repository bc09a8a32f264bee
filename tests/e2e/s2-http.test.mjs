// s2-http.test.mjs — the S2 v1 API over raw HTTP/1.1 (node:http, so paths go out byte for byte):
// a table of bad inputs with their exact status and `code`; the exact JSON shapes of infos,
// configs and records (explicit nulls, omitted empties, s2-provision-result, 202 deletes, list
// paging); SSE read sessions (event format, ping with tail, [DONE], Last-Event-ID resume); and
// that a reader that stops reading does not make the server buffer without bound.
//
// Every expectation comes from the contract, ../shared/docs/s2-api.md (§1.4 error model, §2
// endpoints, §3 semantics, §4.1 SSE, §8 pitfalls), not from what weir happens to answer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFileSync } from "node:fs";
import { startWeir } from "./harness.mjs";
import { exactRequest } from "./helpers.mjs";
import { SseParser } from "./sse.mjs";

let weir;
const B = "http-main-basin"; // the basin most tests use
const DOOMED_BASIN = "http-doomed-basin"; // deleted in setup: deletion pending
const BASE_TS = Date.now() - 1_000_000; // timestamps of the records in stream "s"
const TAIL_S = { seq_num: 3, timestamp: BASE_TS + 2 };

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * One HTTP request with node:http (no path normalization, exact headers).
 * `body`: an object is sent as JSON with Content-Type application/json; a string or Buffer as is
 * (Content-Type application/json unless headers say otherwise; a null header value omits it).
 * Resolves to { status, headers, text, json } (json is undefined if the body is not JSON).
 */
function request(method, path, { headers = {}, body, url = weir.url } = {}) {
  const h = { ...weir.auth, ...headers };
  let payload;
  if (body !== undefined) {
    payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["content-type"] = "application/json";
  }
  for (const k of Object.keys(h)) if (h[k] === null) delete h[k];
  return exactRequest(url, method, path, h, payload);
}

const basinHdr = (basin = B, extra = {}) => ({ "s2-basin": basin, ...extra });
const rec = (body, extra = {}) => ({ body, ...extra });

async function ok(method, path, opts, status = 200) {
  const res = await request(method, path, opts);
  assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
  return res;
}

async function append(stream, records, { basin = B, headers = {}, extra = {} } = {}) {
  const res = await ok("POST", `/v1/streams/${encodeURIComponent(stream)}/records`, {
    headers: basinHdr(basin, headers),
    body: { records, ...extra },
  });
  return res.json;
}

/** Metered size of a raw-format record (§3.2): 8 + 2H + Σ(name+value) + body. */
function metered({ headers = [], body = "" }) {
  let n = 8 + 2 * headers.length + Buffer.byteLength(body);
  for (const [k, v] of headers) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}


/**
 * Opens an SSE read. Resolves once the response head arrives to
 * { status, headers, next(), collect(), close() }: next() resolves to the next event (or null at
 * the end of the body); collect() to every remaining event once the body ends. A guard timer
 * fails a test that would otherwise hang; it is not a timing assertion.
 */
function openSse(path, { headers = {}, basin = B } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      weir.url + path,
      { headers: { ...weir.auth, accept: "text/event-stream", "s2-basin": basin, ...headers }, agent: false },
      (res) => {
        const parser = new SseParser();
        const queue = [];
        let ended = false;
        let waiter = null;
        const wake = () => {
          if (waiter) {
            const w = waiter;
            waiter = null;
            w();
          }
        };
        res.setEncoding("utf8");
        res.on("data", (d) => {
          queue.push(...parser.push(d));
          wake();
        });
        res.on("end", () => {
          ended = true;
          wake();
        });
        res.on("error", () => {
          ended = true;
          wake();
        });
        const next = async (guardMs = 30000) => {
          const deadline = Date.now() + guardMs;
          while (queue.length === 0 && !ended) {
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`no SSE event within ${guardMs} ms on ${path}`);
            await new Promise((r) => {
              waiter = r;
              setTimeout(r, left);
            });
          }
          return queue.length ? queue.shift() : null;
        };
        const collect = async (guardMs = 30000) => {
          const out = [];
          for (;;) {
            const ev = await next(guardMs);
            if (ev === null) return out;
            out.push(ev);
          }
        };
        let text = "";
        if (res.statusCode !== 200) {
          res.removeAllListeners("data");
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text, json: JSON.parse(text || "null") }));
          return;
        }
        resolve({ status: res.statusCode, headers: res.headers, res, next, collect, close: () => req.destroy() });
      },
    );
    req.on("error", reject);
  });
}

/** Checks the batch events of a finished session; returns the records they carried. */
function batchesToRecords(events) {
  const records = [];
  let count = 0;
  let bytes = 0;
  for (const ev of events) {
    if (ev.event !== "batch") continue;
    const batch = JSON.parse(ev.data);
    assert.ok(batch.records.length > 0 && batch.records.length <= 1000, "a batch holds 1..1000 records");
    for (const r of batch.records) {
      count += 1;
      bytes += metered(r);
      records.push(r);
    }
    const last = batch.records[batch.records.length - 1].seq_num;
    assert.equal(ev.id, `${last},${count},${bytes}`, "id: <last seq_num>,<records so far>,<bytes so far>");
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// Setup: one server; a basin with streams in known states.

before(async () => {
  weir = await startWeir();
  await ok("POST", "/v1/basins", { body: { basin: B } }, 201);
  for (const s of ["s", "empty", "cond", "doomed", "sse", "resume"]) {
    await ok("POST", "/v1/streams", { headers: basinHdr(), body: { stream: s } }, 201);
  }
  await ok("POST", "/v1/streams", {
    headers: basinHdr(),
    body: { stream: "require", config: { timestamping: { mode: "client-require" } } },
  }, 201);
  // "s": three records, timestamps BASE_TS..BASE_TS+2, so its tail is TAIL_S.
  await append("s", [0, 1, 2].map((i) => rec(`s${i}`, { timestamp: BASE_TS + i })));
  // "cond": three records, then a fence: next seq_num 4, token "tok".
  await append("cond", [rec("a"), rec("b"), rec("c"), rec("tok", { headers: [["", "fence"]] })]);
  await ok("DELETE", "/v1/streams/doomed", { headers: basinHdr() }, 202);
  await ok("POST", "/v1/basins", { body: { basin: DOOMED_BASIN } }, 201);
  await ok("DELETE", `/v1/basins/${DOOMED_BASIN}`, {}, 202);
});

after(async () => {
  await weir.stop();
});

// ---------------------------------------------------------------------------------------------
// The bad-input table. Each row: method, path, headers, body, expected status and `code` (or the
// exact body for 412/416). Rows are independent: none of them changes state.

const bigBody = (n) => "x".repeat(n);
const S = "/v1/streams/s/records";
const longName = "x".repeat(513);

function badInputRows() {
  const H = basinHdr();
  const sse = { ...H, accept: "text/event-stream" };
  return [
    // --- parse failures: JSON (400 bad_json) ---
    { name: "basin create: bad JSON syntax", method: "POST", path: "/v1/basins", body: '{"basin":', status: 400, code: "bad_json" },
    { name: "basin create: empty body", method: "POST", path: "/v1/basins", body: "", status: 400, code: "bad_json" },
    { name: "basin create: non-JSON content type", method: "POST", path: "/v1/basins", headers: { "content-type": "text/plain" }, body: '{"basin":"valid-basin-01"}', status: 400, code: "bad_json" },
    { name: "basin create: missing basin field", method: "POST", path: "/v1/basins", body: {}, status: 400, code: "bad_json" },
    { name: "basin create: basin is a number", method: "POST", path: "/v1/basins", body: { basin: 12345678 }, status: 400, code: "bad_json" },
    { name: "basin create: config is an array", method: "POST", path: "/v1/basins", body: { basin: "valid-basin-01", config: [] }, status: 400, code: "bad_json" },
    { name: "basin create: create_stream_on_append is a string", method: "POST", path: "/v1/basins", body: { basin: "valid-basin-01", config: { create_stream_on_append: "yes" } }, status: 400, code: "bad_json" },
    { name: "basin create: name too short (7)", method: "POST", path: "/v1/basins", body: { basin: "abcdefg" }, status: 400, code: "bad_json" },
    { name: "basin create: name too long (49)", method: "POST", path: "/v1/basins", body: { basin: "a".repeat(49) }, status: 400, code: "bad_json" },
    { name: "basin create: uppercase name", method: "POST", path: "/v1/basins", body: { basin: "Upper-case-basin" }, status: 400, code: "bad_json" },
    { name: "basin create: leading dash", method: "POST", path: "/v1/basins", body: { basin: "-leading-dash" }, status: 400, code: "bad_json" },
    { name: "basin create: trailing dash", method: "POST", path: "/v1/basins", body: { basin: "trailing-dash-" }, status: 400, code: "bad_json" },
    { name: "basin create: underscore", method: "POST", path: "/v1/basins", body: { basin: "under_score_basin" }, status: 400, code: "bad_json" },
    { name: "basin patch: bad JSON syntax", method: "PATCH", path: `/v1/basins/${B}`, body: "{", status: 400, code: "bad_json" },
    { name: "basin patch: create_stream_on_read is a string", method: "PATCH", path: `/v1/basins/${B}`, body: { create_stream_on_read: "yes" }, status: 400, code: "bad_json" },
    { name: "stream create: bad JSON syntax", method: "POST", path: "/v1/streams", headers: H, body: "[1,2", status: 400, code: "bad_json" },
    { name: "stream create: stream is a number", method: "POST", path: "/v1/streams", headers: H, body: { stream: 5 }, status: 400, code: "bad_json" },
    { name: "stream create: name '.'", method: "POST", path: "/v1/streams", headers: H, body: { stream: "." }, status: 400, code: "bad_json" },
    { name: "stream create: name '..'", method: "POST", path: "/v1/streams", headers: H, body: { stream: ".." }, status: 400, code: "bad_json" },
    { name: "stream create: empty name", method: "POST", path: "/v1/streams", headers: H, body: { stream: "" }, status: 400, code: "bad_json" },
    { name: "stream create: name of 513 bytes", method: "POST", path: "/v1/streams", headers: H, body: { stream: longName }, status: 400, code: "bad_json" },
    { name: "stream create: name of 513 UTF-8 bytes", method: "POST", path: "/v1/streams", headers: H, body: { stream: "é".repeat(256) + "x" }, status: 400, code: "bad_json" },
    { name: "stream create: unknown storage class", method: "POST", path: "/v1/streams", headers: H, body: { stream: "t1", config: { storage_class: "gold" } }, status: 400, code: "bad_json" },
    { name: "stream create: retention age is a string", method: "POST", path: "/v1/streams", headers: H, body: { stream: "t1", config: { retention_policy: { age: "60" } } }, status: 400, code: "bad_json" },
    { name: "stream create: retention age negative", method: "POST", path: "/v1/streams", headers: H, body: { stream: "t1", config: { retention_policy: { age: -5 } } }, status: 400, code: "bad_json" },
    { name: "stream create: unknown timestamping mode", method: "POST", path: "/v1/streams", headers: H, body: { stream: "t1", config: { timestamping: { mode: "whenever" } } }, status: 400, code: "bad_json" },
    { name: "stream create: uncapped is a string", method: "POST", path: "/v1/streams", headers: H, body: { stream: "t1", config: { timestamping: { uncapped: "no" } } }, status: 400, code: "bad_json" },
    { name: "stream create: min_age_secs is a string", method: "POST", path: "/v1/streams", headers: H, body: { stream: "t1", config: { delete_on_empty: { min_age_secs: "x" } } }, status: 400, code: "bad_json" },
    { name: "stream put: bad JSON syntax", method: "PUT", path: "/v1/streams/s", headers: H, body: "{", status: 400, code: "bad_json" },
    { name: "stream patch: not JSON", method: "PATCH", path: "/v1/streams/s", headers: H, body: "nope", status: 400, code: "bad_json" },
    { name: "stream patch: storage_class is a number", method: "PATCH", path: "/v1/streams/s", headers: H, body: { storage_class: 5 }, status: 400, code: "bad_json" },
    { name: "append: bad JSON syntax", method: "POST", path: S, headers: H, body: '{"records":[', status: 400, code: "bad_json" },
    { name: "append: empty body", method: "POST", path: S, headers: H, body: "", status: 400, code: "bad_json" },
    { name: "append: missing records", method: "POST", path: S, headers: H, body: {}, status: 400, code: "bad_json" },
    { name: "append: records is a string", method: "POST", path: S, headers: H, body: { records: "x" }, status: 400, code: "bad_json" },
    { name: "append: body is a number", method: "POST", path: S, headers: H, body: { records: [{ body: 5 }] }, status: 400, code: "bad_json" },
    { name: "append: header of one element", method: "POST", path: S, headers: H, body: { records: [{ headers: [["a"]] }] }, status: 400, code: "bad_json" },
    { name: "append: header of three elements", method: "POST", path: S, headers: H, body: { records: [{ headers: [["a", "b", "c"]] }] }, status: 400, code: "bad_json" },
    { name: "append: headers as an object", method: "POST", path: S, headers: H, body: { records: [{ headers: { a: "b" } }] }, status: 400, code: "bad_json" },
    { name: "append: timestamp is a string", method: "POST", path: S, headers: H, body: { records: [{ body: "x", timestamp: "now" }] }, status: 400, code: "bad_json" },
    { name: "append: match_seq_num is a string", method: "POST", path: S, headers: H, body: { records: [rec("x")], match_seq_num: "3" }, status: 400, code: "bad_json" },
    { name: "append: match_seq_num negative", method: "POST", path: S, headers: H, body: { records: [rec("x")], match_seq_num: -1 }, status: 400, code: "bad_json" },
    { name: "append: fencing_token is a number", method: "POST", path: S, headers: H, body: { records: [rec("x")], fencing_token: 5 }, status: 400, code: "bad_json" },

    // --- parse failures: path (400 bad_path) ---
    { name: "basin path: too short", method: "GET", path: "/v1/basins/abcdefg", status: 400, code: "bad_path" },
    { name: "basin path: uppercase", method: "GET", path: "/v1/basins/Upper-case-basin", status: 400, code: "bad_path" },
    { name: "basin path: leading dash", method: "GET", path: "/v1/basins/-leading-dash", status: 400, code: "bad_path" },
    { name: "basin path: too long (49)", method: "DELETE", path: `/v1/basins/${"a".repeat(49)}`, status: 400, code: "bad_path" },
    { name: "basin path: PUT with a bad name", method: "PUT", path: "/v1/basins/short", status: 400, code: "bad_path" },
    { name: "stream path: '.'", method: "GET", path: "/v1/streams/.", headers: H, status: 400, code: "bad_path" },
    { name: "stream path: '..'", method: "GET", path: "/v1/streams/..", headers: H, status: 400, code: "bad_path" },
    { name: "stream path: '%2E' decodes to '.'", method: "GET", path: "/v1/streams/%2E", headers: H, status: 400, code: "bad_path" },
    { name: "stream path: '%2e%2E' decodes to '..'", method: "GET", path: "/v1/streams/%2e%2E/records/tail", headers: H, status: 400, code: "bad_path" },
    { name: "stream path: '..' on append", method: "POST", path: "/v1/streams/../records", headers: H, body: { records: [rec("x")] }, status: 400, code: "bad_path" },
    { name: "stream path: 513 bytes", method: "GET", path: `/v1/streams/${longName}`, headers: H, status: 400, code: "bad_path" },
    { name: "stream path: 513 bytes on read", method: "GET", path: `/v1/streams/${longName}/records?seq_num=0`, headers: H, status: 400, code: "bad_path" },
    // A NUL must be rejected, never truncated: "s%00junk" must not alias the existing stream "s".
    { name: "stream path: percent-encoded NUL", method: "GET", path: "/v1/streams/s%00junk", headers: H, status: 400, code: "bad_path" },
    { name: "stream path: percent-encoded NUL on tail", method: "GET", path: "/v1/streams/s%00/records/tail", headers: H, status: 400, code: "bad_path" },
    { name: "stream path: bad percent-encoding", method: "GET", path: "/v1/streams/a%zzb", headers: H, status: 400, code: "bad_path" },

    // --- parse failures: headers (400 bad_header) ---
    { name: "streams list without s2-basin", method: "GET", path: "/v1/streams", status: 400, code: "bad_header" },
    { name: "stream create without s2-basin", method: "POST", path: "/v1/streams", body: { stream: "x" }, status: 400, code: "bad_header" },
    { name: "stream config without s2-basin", method: "GET", path: "/v1/streams/s", status: 400, code: "bad_header" },
    { name: "append without s2-basin", method: "POST", path: S, body: { records: [rec("x")] }, status: 400, code: "bad_header" },
    { name: "read without s2-basin", method: "GET", path: `${S}?seq_num=0`, status: 400, code: "bad_header" },
    { name: "tail without s2-basin", method: "GET", path: `${S}/tail`, status: 400, code: "bad_header" },
    { name: "SSE read without s2-basin", method: "GET", path: `${S}?seq_num=0`, headers: { accept: "text/event-stream" }, status: 400, code: "bad_header" },
    { name: "s2-basin too short", method: "GET", path: "/v1/streams", headers: { "s2-basin": "abcdefg" }, status: 400, code: "bad_header" },
    { name: "s2-basin uppercase", method: "GET", path: "/v1/streams", headers: { "s2-basin": "HTTP-MAIN-BASIN" }, status: 400, code: "bad_header" },
    { name: "s2-basin leading dash", method: "GET", path: `${S}/tail`, headers: { "s2-basin": "-http-main-basin" }, status: 400, code: "bad_header" },
    { name: "s2-basin trailing dash", method: "GET", path: `${S}/tail`, headers: { "s2-basin": "http-main-basin-" }, status: 400, code: "bad_header" },
    { name: "s2-format unknown on append", method: "POST", path: S, headers: { ...H, "s2-format": "hex" }, body: { records: [rec("x")] }, status: 400, code: "bad_header" },
    { name: "s2-format unknown on read", method: "GET", path: `${S}?seq_num=0`, headers: { ...H, "s2-format": "hex" }, status: 400, code: "bad_header" },
    { name: "SSE: malformed Last-Event-ID", method: "GET", path: `${S}?seq_num=0`, headers: { ...sse, "last-event-id": "garbage" }, status: 400, code: "bad_header" },
    { name: "s2-request-token over 36 bytes", method: "POST", path: "/v1/basins", headers: { "s2-request-token": "t".repeat(37) }, body: { basin: "token-too-long" }, status: 400, code: "bad_header" },

    // --- parse failures: query (400 bad_query) ---
    ...[
      "seq_num=abc", "seq_num=-1", "seq_num=1.5", "seq_num=18446744073709551616", "timestamp=x", "tail_offset=-2",
      "count=x", "count=-1", "bytes=1e3", "clamp=maybe", "wait=abc", "wait=-1", "wait=4294967296", "until=soon",
    ].map((q) => ({ name: `read query ${q}`, method: "GET", path: `${S}?${q}`, headers: H, status: 400, code: "bad_query" })),
    { name: "SSE read query seq_num=abc", method: "GET", path: `${S}?seq_num=abc`, headers: sse, status: 400, code: "bad_query" },
    { name: "basins list limit=abc", method: "GET", path: "/v1/basins?limit=abc", status: 400, code: "bad_query" },
    { name: "streams list limit=-1", method: "GET", path: "/v1/streams?limit=-1", headers: H, status: 400, code: "bad_query" },

    // --- semantic validation (422 invalid) ---
    { name: "append: batch of 0 records", method: "POST", path: S, headers: H, body: { records: [] }, status: 422, code: "invalid" },
    { name: "append: batch of 1001 records", method: "POST", path: S, headers: H, body: { records: Array.from({ length: 1001 }, () => rec("x")) }, status: 422, code: "invalid" },
    { name: "append: one record of 1 MiB + 1 metered", method: "POST", path: S, headers: H, body: { records: [rec(bigBody(1048576 - 8 + 1))] }, status: 422, code: "invalid" },
    { name: "append: headers push a record over 1 MiB", method: "POST", path: S, headers: H, body: { records: [rec(bigBody(1048576 - 8 - 2 - 2 + 1), { headers: [["a", "b"]] })] }, status: 422, code: "invalid" },
    { name: "append: batch over 1 MiB metered", method: "POST", path: S, headers: H, body: { records: [rec(bigBody(600000)), rec(bigBody(600000))] }, status: 422, code: "invalid" },
    { name: "append: invalid base64 body", method: "POST", path: S, headers: { ...H, "s2-format": "base64" }, body: { records: [rec("!!!not base64!!!")] }, status: 422, code: "invalid" },
    { name: "append: base64 without padding", method: "POST", path: S, headers: { ...H, "s2-format": "base64" }, body: { records: [rec("YWJj" + "ZA")] }, status: 422, code: "invalid" },
    { name: "append: invalid base64 header name", method: "POST", path: S, headers: { ...H, "s2-format": "base64" }, body: { records: [rec("eA==", { headers: [["*", "eA=="]] })] }, status: 422, code: "invalid" },
    { name: "append: command header with another header", method: "POST", path: S, headers: H, body: { records: [rec("t", { headers: [["", "fence"], ["a", "b"]] })] }, status: 422, code: "invalid" },
    { name: "append: unknown command", method: "POST", path: S, headers: H, body: { records: [rec("t", { headers: [["", "explode"]] })] }, status: 422, code: "invalid" },
    { name: "append: fence token over 36 bytes", method: "POST", path: S, headers: H, body: { records: [rec("f".repeat(37), { headers: [["", "fence"]] })] }, status: 422, code: "invalid" },
    { name: "append: trim body not 8 bytes", method: "POST", path: S, headers: H, body: { records: [rec("abc", { headers: [["", "trim"]] })] }, status: 422, code: "invalid" },
    { name: "append: client-require without timestamp", method: "POST", path: "/v1/streams/require/records", headers: H, body: { records: [rec("x")] }, status: 422, code: "invalid" },
    { name: "read: timestamp == until", method: "GET", path: `${S}?timestamp=5&until=5`, headers: H, status: 422, code: "invalid" },
    { name: "read: timestamp > until", method: "GET", path: `${S}?timestamp=6&until=5`, headers: H, status: 422, code: "invalid" },
    { name: "read: seq_num and timestamp", method: "GET", path: `${S}?seq_num=0&timestamp=0`, headers: H, status: 422, code: "invalid" },
    { name: "read: seq_num and tail_offset", method: "GET", path: `${S}?seq_num=0&tail_offset=1`, headers: H, status: 422, code: "invalid" },
    { name: "read: timestamp and tail_offset", method: "GET", path: `${S}?timestamp=0&tail_offset=1`, headers: H, status: 422, code: "invalid" },
    { name: "SSE read: two start parameters", method: "GET", path: `${S}?seq_num=0&tail_offset=1`, headers: sse, status: 422, code: "invalid" },
    { name: "SSE read: timestamp >= until", method: "GET", path: `${S}?timestamp=9&until=9`, headers: sse, status: 422, code: "invalid" },
    { name: "stream create: retention age 0", method: "POST", path: "/v1/streams", headers: H, body: { stream: "t2", config: { retention_policy: { age: 0 } } }, status: 422, code: "invalid" },
    { name: "stream put: retention age 0", method: "PUT", path: "/v1/streams/t3", headers: H, body: { retention_policy: { age: 0 } }, status: 422, code: "invalid" },
    { name: "stream patch: retention age 0", method: "PATCH", path: "/v1/streams/s", headers: H, body: { retention_policy: { age: 0 } }, status: 422, code: "invalid" },
    { name: "basin patch: default retention age 0", method: "PATCH", path: `/v1/basins/${B}`, body: { default_stream_config: { retention_policy: { age: 0 } } }, status: 422, code: "invalid" },
    { name: "basin create: default retention age 0", method: "POST", path: "/v1/basins", body: { basin: "zero-age-basin", config: { default_stream_config: { retention_policy: { age: 0 } } } }, status: 422, code: "invalid" },

    // --- unknown resources (404) ---
    { name: "unknown basin config", method: "GET", path: "/v1/basins/unknown-basin-01", status: 404, code: "basin_not_found" },
    { name: "unknown basin patch", method: "PATCH", path: "/v1/basins/unknown-basin-01", body: {}, status: 404, code: "basin_not_found" },
    { name: "unknown basin delete", method: "DELETE", path: "/v1/basins/unknown-basin-01", status: 404, code: "basin_not_found" },
    { name: "stream create in an unknown basin", method: "POST", path: "/v1/streams", headers: basinHdr("unknown-basin-01"), body: { stream: "x" }, status: 404, code: "basin_not_found" },
    { name: "unknown stream config", method: "GET", path: "/v1/streams/nope", headers: H, status: 404, code: "stream_not_found" },
    { name: "unknown stream patch", method: "PATCH", path: "/v1/streams/nope", headers: H, body: {}, status: 404, code: "stream_not_found" },
    { name: "unknown stream delete", method: "DELETE", path: "/v1/streams/nope", headers: H, status: 404, code: "stream_not_found" },
    { name: "append to an unknown stream", method: "POST", path: "/v1/streams/nope/records", headers: H, body: { records: [rec("x")] }, status: 404, code: "stream_not_found" },
    { name: "read an unknown stream", method: "GET", path: "/v1/streams/nope/records?seq_num=0", headers: H, status: 404, code: "stream_not_found" },
    { name: "SSE read an unknown stream", method: "GET", path: "/v1/streams/nope/records?seq_num=0", headers: sse, status: 404, code: "stream_not_found" },
    { name: "tail of an unknown stream", method: "GET", path: "/v1/streams/nope/records/tail", headers: H, status: 404, code: "stream_not_found" },
    { name: "tail in an unknown basin", method: "GET", path: "/v1/streams/s/records/tail", headers: basinHdr("unknown-basin-01"), status: 404, codes: ["basin_not_found", "stream_not_found"] },

    // --- deletion pending (409) ---
    { name: "deleted stream: config", method: "GET", path: "/v1/streams/doomed", headers: H, status: 409, code: "stream_deletion_pending" },
    { name: "deleted stream: patch", method: "PATCH", path: "/v1/streams/doomed", headers: H, body: {}, status: 409, code: "stream_deletion_pending" },
    { name: "deleted stream: re-create", method: "POST", path: "/v1/streams", headers: H, body: { stream: "doomed" }, status: 409, code: "stream_deletion_pending" },
    { name: "deleted stream: append", method: "POST", path: "/v1/streams/doomed/records", headers: H, body: { records: [rec("x")] }, status: 409, code: "stream_deletion_pending" },
    { name: "deleted stream: read", method: "GET", path: "/v1/streams/doomed/records?seq_num=0", headers: H, status: 409, code: "stream_deletion_pending" },
    { name: "deleted stream: SSE read", method: "GET", path: "/v1/streams/doomed/records?seq_num=0", headers: sse, status: 409, code: "stream_deletion_pending" },
    { name: "deleted basin: re-create", method: "POST", path: "/v1/basins", body: { basin: DOOMED_BASIN }, status: 409, code: "basin_deletion_pending" },
    { name: "deleted basin: ensure", method: "PUT", path: `/v1/basins/${DOOMED_BASIN}`, status: 409, code: "basin_deletion_pending" },
    { name: "deleted basin: reconfigure", method: "PATCH", path: `/v1/basins/${DOOMED_BASIN}`, body: { create_stream_on_read: true }, status: 409, code: "basin_deletion_pending" },
    { name: "deleted basin: stream create", method: "POST", path: "/v1/streams", headers: basinHdr(DOOMED_BASIN), body: { stream: "x" }, status: 409, code: "basin_deletion_pending" },

    // --- append conditions (412, exact bodies; the fence is checked before seq_num) ---
    { name: "412 seq_num mismatch", method: "POST", path: "/v1/streams/cond/records", headers: H, body: { records: [rec("x")], match_seq_num: 0 }, status: 412, exact: { seq_num_mismatch: 4 } },
    { name: "412 fencing token mismatch", method: "POST", path: "/v1/streams/cond/records", headers: H, body: { records: [rec("x")], fencing_token: "nope" }, status: 412, exact: { fencing_token_mismatch: "tok" } },
    { name: "412 seq_num mismatch: match_seq_num is a u64 above 2^63", method: "POST", path: "/v1/streams/cond/records", headers: H, body: '{"records":[{"body":"x"}],"match_seq_num":18446744073709551615}', status: 412, exact: { seq_num_mismatch: 4 } },
    { name: "412 both wrong: fence first", method: "POST", path: "/v1/streams/cond/records", headers: H, body: { records: [rec("x")], fencing_token: "", match_seq_num: 99 }, status: 412, exact: { fencing_token_mismatch: "tok" } },

    // --- read range (416 with the tail) ---
    { name: "416 seq_num past the tail", method: "GET", path: `${S}?seq_num=4`, headers: H, status: 416, exact: { tail: TAIL_S } },
    { name: "416 clamp=true past the tail without wait", method: "GET", path: `${S}?seq_num=4&clamp=true`, headers: H, status: 416, exact: { tail: TAIL_S } },
    { name: "416 seq_num at the tail without wait", method: "GET", path: `${S}?seq_num=3`, headers: H, status: 416, exact: { tail: TAIL_S } },
    { name: "416 clamp=true at the tail with a count", method: "GET", path: `${S}?seq_num=3&clamp=true&count=5`, headers: H, status: 416, exact: { tail: TAIL_S } },
    { name: "416 no start parameter (tail_offset=0)", method: "GET", path: S, headers: H, status: 416, exact: { tail: TAIL_S } },
    { name: "416 tail_offset=0", method: "GET", path: `${S}?tail_offset=0`, headers: H, status: 416, exact: { tail: TAIL_S } },
    { name: "416 timestamp past the tail timestamp", method: "GET", path: `${S}?timestamp=${BASE_TS + 3}`, headers: H, status: 416, exact: { tail: TAIL_S } },
    { name: "416 empty stream from seq_num=0", method: "GET", path: "/v1/streams/empty/records?seq_num=0", headers: H, status: 416, exact: { tail: { seq_num: 0, timestamp: 0 } } },
    { name: "416 SSE past the tail", method: "GET", path: `${S}?seq_num=9`, headers: sse, status: 416, exact: { tail: TAIL_S } },
    { name: "416 SSE clamp at the tail with count and no wait", method: "GET", path: `${S}?seq_num=9&clamp=true&count=1`, headers: sse, status: 416, exact: { tail: TAIL_S } },

    // --- tokens and auth ---
    { name: "issue access token with an empty scope", method: "POST", path: "/v1/access-tokens", body: { id: "t", scope: {} }, status: 422, code: "invalid" },
    { name: "revoke an unknown access token", method: "DELETE", path: "/v1/access-tokens/t", status: 404, code: "access_token_not_found" },
    { name: "no Authorization header", method: "GET", path: "/v1/basins", headers: { authorization: null }, status: 401, code: "authn" },
    { name: "unknown bearer token", method: "GET", path: "/v1/basins", headers: { authorization: "Bearer nope" }, status: 401, code: "authn" },
    { name: "not a bearer token", method: "GET", path: "/v1/basins", headers: { authorization: "Basic dXNlcjpwYXNz" }, status: 401, code: "authn" },
    // Metrics (metrics.test.mjs has the full table): start and end are required (422, as S2).
    { name: "account metrics without a range", method: "GET", path: "/v1/metrics?set=active-basins", status: 422, code: "invalid" },
    { name: "basin metrics without a range", method: "GET", path: `/v1/metrics/${B}?set=storage`, status: 422, code: "invalid" },
    { name: "stream metrics without a range", method: "GET", path: `/v1/metrics/${B}/s?set=storage`, status: 422, code: "invalid" },
  ];
}

test("bad inputs: each row gets its exact status and code (table)", async () => {
  const failures = [];
  for (const row of badInputRows()) {
    const res = await request(row.method, row.path, { headers: row.headers, body: row.body });
    const problems = [];
    if (res.status !== row.status) problems.push(`status ${res.status} (want ${row.status})`);
    if (row.exact) {
      try {
        assert.deepEqual(res.json, row.exact);
      } catch {
        problems.push(`body ${res.text} (want ${JSON.stringify(row.exact)})`);
      }
    } else {
      const codes = row.codes ?? [row.code];
      if (!res.json || !codes.includes(res.json.code)) problems.push(`code in ${res.text.slice(0, 200)} (want ${codes.join("|")})`);
      else if (typeof res.json.message !== "string") problems.push(`no message string in ${res.text}`);
    }
    if (!/^application\/json/.test(res.headers["content-type"] ?? "")) problems.push(`content-type ${res.headers["content-type"]}`);
    if (problems.length) failures.push(`${row.name}: ${row.method} ${row.path.slice(0, 80)} -> ${problems.join("; ")}`);
  }
  // Nothing in the table changed state.
  const tail = await ok("GET", `${S}/tail`, { headers: basinHdr() });
  assert.deepEqual(tail.json, { tail: TAIL_S });
  assert.deepEqual(failures, [], `${failures.length} rows failed:\n${failures.join("\n")}`);
});

// ---------------------------------------------------------------------------------------------
// Exact JSON shapes (§2, §3.8)

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function assertBasinInfo(info, name, { deleted = false } = {}) {
  const keys = Object.keys(info).sort();
  const allowed = ["created_at", "deleted_at", "location", "name", "state"];
  assert.ok(keys.every((k) => allowed.includes(k)), `BasinInfo keys ${keys}`);
  for (const k of ["created_at", "deleted_at", "location", "name"]) assert.ok(k in info, `BasinInfo has ${k}`);
  assert.equal(info.name, name);
  assert.equal(info.location, "local", "the configured location (--location)");
  assert.match(info.created_at, RFC3339);
  if (deleted) {
    assert.match(info.deleted_at, RFC3339);
    if ("state" in info) assert.equal(info.state, "deleting");
  } else {
    assert.equal(info.deleted_at, null);
    if ("state" in info) assert.equal(info.state, "active");
  }
}

function assertStreamInfo(info, name, { deleted = false } = {}) {
  assert.deepEqual(Object.keys(info).sort(), ["cipher", "created_at", "deleted_at", "name"]);
  assert.equal(info.name, name);
  assert.equal(info.cipher, null);
  assert.match(info.created_at, RFC3339);
  if (deleted) assert.match(info.deleted_at, RFC3339);
  else assert.equal(info.deleted_at, null);
}

// S2 shows the default storage class of a basin created without one (issue 17), not null.
const UNSET_BASIN_CONFIG = {
  default_stream_config: { storage_class: "express", retention_policy: null, timestamping: null, delete_on_empty: null },
  stream_cipher: null,
  create_stream_on_append: false,
  create_stream_on_read: false,
};
const DEFAULT_STREAM_CONFIG = {
  storage_class: "express",
  retention_policy: { age: 604800 },
  timestamping: { mode: "client-prefer", uncapped: false },
  delete_on_empty: { min_age_secs: 0 },
};

test("basin shapes: create 201, config with explicit nulls, PUT created/updated/noop, PATCH, DELETE 202", async () => {
  const name = "shape-basin-01";
  let res = await ok("POST", "/v1/basins", { body: { basin: name } }, 201);
  assert.equal(res.headers["s2-provision-result"], "created");
  assert.match(res.headers["content-type"], /^application\/json/);
  assertBasinInfo(res.json, name);

  res = await ok("GET", `/v1/basins/${name}`);
  assert.deepEqual(res.json, UNSET_BASIN_CONFIG);

  // Partially set defaults: unset ones are explicit nulls; timestamping shows null for the unset half.
  res = await ok("PATCH", `/v1/basins/${name}`, {
    body: { default_stream_config: { retention_policy: { age: 3600 }, timestamping: { mode: "arrival" } } },
  });
  const partial = {
    default_stream_config: {
      storage_class: "express",
      retention_policy: { age: 3600 },
      timestamping: { mode: "arrival", uncapped: null },
      delete_on_empty: null,
    },
    stream_cipher: null,
    create_stream_on_append: false,
    create_stream_on_read: false,
  };
  assert.deepEqual(res.json, partial);
  assert.deepEqual((await ok("GET", `/v1/basins/${name}`)).json, partial);
  res = await ok("PATCH", `/v1/basins/${name}`, { body: {} });
  assert.deepEqual(res.json, partial, "PATCH {} is a no-op");
  res = await ok("PATCH", `/v1/basins/${name}`, {
    body: { default_stream_config: { timestamping: { uncapped: true }, delete_on_empty: { min_age_secs: 60 } }, create_stream_on_append: true },
  });
  assert.deepEqual(res.json.default_stream_config, {
    storage_class: "express",
    retention_policy: { age: 3600 },
    timestamping: { mode: "arrival", uncapped: true },
    delete_on_empty: { min_age_secs: 60 },
  });
  assert.equal(res.json.create_stream_on_append, true);

  // PUT ensure replaces the config; an empty body means all defaults.
  res = await ok("PUT", `/v1/basins/${name}`, { body: { config: { create_stream_on_read: true } } }, 200);
  assert.equal(res.headers["s2-provision-result"], "updated");
  assertBasinInfo(res.json, name);
  assert.deepEqual((await ok("GET", `/v1/basins/${name}`)).json, { ...UNSET_BASIN_CONFIG, create_stream_on_read: true });
  res = await ok("PUT", `/v1/basins/${name}`, { body: { config: { create_stream_on_read: true } } }, 200);
  assert.equal(res.headers["s2-provision-result"], "noop");
  res = await ok("PUT", `/v1/basins/${name}`, {}, 200);
  assert.equal(res.headers["s2-provision-result"], "updated");
  assert.deepEqual((await ok("GET", `/v1/basins/${name}`)).json, UNSET_BASIN_CONFIG);
  res = await ok("PUT", "/v1/basins/shape-basin-02", {}, 201);
  assert.equal(res.headers["s2-provision-result"], "created");
  assertBasinInfo(res.json, "shape-basin-02");
  res = await ok("PUT", "/v1/basins/shape-basin-03", { body: { config: null, location: null } }, 201);
  assert.equal(res.headers["s2-provision-result"], "created");

  // DELETE: 202 with an empty body (Content-Length: 0, which the SDK relies on), again 202;
  // the basin stays listed with deleted_at; its config is still readable.
  for (let i = 0; i < 2; i++) {
    res = await ok("DELETE", "/v1/basins/shape-basin-02", {}, 202);
    assert.equal(res.text, "");
    assert.equal(res.headers["content-length"], "0");
  }
  res = await ok("GET", "/v1/basins?prefix=shape-basin-02");
  assert.equal(res.json.basins.length, 1);
  assertBasinInfo(res.json.basins[0], "shape-basin-02", { deleted: true });
  await ok("GET", "/v1/basins/shape-basin-02");
  res = await ok("GET", `/v1/basins?prefix=${DOOMED_BASIN}`);
  assertBasinInfo(res.json.basins[0], DOOMED_BASIN, { deleted: true });
  await ok("DELETE", `/v1/basins/${DOOMED_BASIN}`, {}, 202);
});

test("basin create idempotency: same s2-request-token and config is a noop, anything else 409", async () => {
  const name = "idem-basin-01";
  const body = { basin: name, config: { create_stream_on_read: true } };
  let res = await ok("POST", "/v1/basins", { headers: { "s2-request-token": "tok-a" }, body }, 201);
  assert.equal(res.headers["s2-provision-result"], "created");
  res = await ok("POST", "/v1/basins", { headers: { "s2-request-token": "tok-a" }, body }, 201);
  assert.equal(res.headers["s2-provision-result"], "noop");
  assertBasinInfo(res.json, name);
  for (const [hdr, b] of [
    [{ "s2-request-token": "tok-b" }, body],
    [{}, body],
    [{ "s2-request-token": "tok-a" }, { basin: name }],
  ]) {
    res = await request("POST", "/v1/basins", { headers: hdr, body: b });
    assert.equal(res.status, 409, JSON.stringify(hdr));
    assert.equal(res.json.code, "resource_already_exists");
  }
  // Streams follow the same rule.
  const H = basinHdr();
  res = await ok("POST", "/v1/streams", { headers: { ...H, "s2-request-token": "st-1" }, body: { stream: "idem" } }, 201);
  assert.equal(res.headers["s2-provision-result"], "created");
  res = await ok("POST", "/v1/streams", { headers: { ...H, "s2-request-token": "st-1" }, body: { stream: "idem" } }, 201);
  assert.equal(res.headers["s2-provision-result"], "noop");
  res = await request("POST", "/v1/streams", { headers: { ...H, "s2-request-token": "st-2" }, body: { stream: "idem" } });
  assert.equal(res.status, 409);
  assert.equal(res.json.code, "resource_already_exists");
});

test("basin list: sorted, prefix, exclusive start_after, limit and has_more, limit 0 and >1000 mean 1000", async () => {
  const names = ["lst-cccc-03", "lst-aaaa-01", "lst-bbbb-02", "lst-bbbb-02-x", "lst-dddd-04"];
  for (const n of names) await ok("POST", "/v1/basins", { body: { basin: n } }, 201);
  const sorted = [...names].sort();
  const list = async (q) => (await ok("GET", `/v1/basins?${q}`)).json;
  let res = await list("prefix=lst-");
  assert.deepEqual(Object.keys(res).sort(), ["basins", "has_more"]);
  assert.deepEqual(res.basins.map((b) => b.name), sorted);
  assert.equal(res.has_more, false);
  res.basins.forEach((b, i) => assertBasinInfo(b, sorted[i]));
  res = await list("prefix=lst-&limit=2");
  assert.deepEqual(res.basins.map((b) => b.name), sorted.slice(0, 2));
  assert.equal(res.has_more, true);
  res = await list("prefix=lst-&limit=2&start_after=lst-bbbb-02");
  assert.deepEqual(res.basins.map((b) => b.name), ["lst-bbbb-02-x", "lst-cccc-03"]);
  assert.equal(res.has_more, true);
  res = await list("prefix=lst-&start_after=lst-cccc-03&limit=2");
  assert.deepEqual(res.basins.map((b) => b.name), ["lst-dddd-04"]);
  assert.equal(res.has_more, false);
  res = await list("prefix=lst-&start_after=lst-c");
  assert.deepEqual(res.basins.map((b) => b.name), ["lst-cccc-03", "lst-dddd-04"], "start_after need not be a valid name");
  res = await list("prefix=lst-bbbb-");
  assert.deepEqual(res.basins.map((b) => b.name), ["lst-bbbb-02", "lst-bbbb-02-x"], "a prefix may end with '-'");
  for (const q of ["prefix=lst-&limit=0", "prefix=lst-&limit=1001", "prefix=lst-&limit=100000"]) {
    res = await list(q);
    assert.equal(res.basins.length, names.length, q);
    assert.equal(res.has_more, false, q);
  }
  res = await list("prefix=zzz-nothing");
  assert.deepEqual(res, { basins: [], has_more: false });
});

test("stream shapes: create 201, resolved config, PUT bare config, PATCH, list, DELETE 202, percent-decoded names", async () => {
  const H = basinHdr();
  let res = await ok("POST", "/v1/streams", { headers: H, body: { stream: "shape" } }, 201);
  assert.equal(res.headers["s2-provision-result"], "created");
  assertStreamInfo(res.json, "shape");
  res = await ok("GET", "/v1/streams/shape", { headers: H });
  assert.deepEqual(res.json, DEFAULT_STREAM_CONFIG);
  res = await ok("POST", "/v1/streams", { headers: H, body: { stream: "shape-null", config: null } }, 201);
  assert.deepEqual((await ok("GET", "/v1/streams/shape-null", { headers: H })).json, DEFAULT_STREAM_CONFIG);
  res = await ok("POST", "/v1/streams", {
    headers: H,
    body: { stream: "shape-nulls", config: { storage_class: null, retention_policy: null, timestamping: { mode: null, uncapped: null }, delete_on_empty: null } },
  }, 201);
  assert.deepEqual((await ok("GET", "/v1/streams/shape-nulls", { headers: H })).json, DEFAULT_STREAM_CONFIG);

  // PUT: a bare StreamConfig body (not wrapped).
  const cfg = { storage_class: "standard", retention_policy: { infinite: {} }, timestamping: { mode: "arrival", uncapped: true }, delete_on_empty: { min_age_secs: 5 } };
  res = await ok("PUT", "/v1/streams/put-me", { headers: H, body: cfg }, 201);
  assert.equal(res.headers["s2-provision-result"], "created");
  assertStreamInfo(res.json, "put-me");
  assert.deepEqual((await ok("GET", "/v1/streams/put-me", { headers: H })).json, cfg);
  res = await ok("PUT", "/v1/streams/put-me", { headers: H, body: cfg }, 200);
  assert.equal(res.headers["s2-provision-result"], "noop");
  res = await ok("PUT", "/v1/streams/put-me", { headers: H, body: { storage_class: "standard" } }, 200);
  assert.equal(res.headers["s2-provision-result"], "updated");
  assert.deepEqual((await ok("GET", "/v1/streams/put-me", { headers: H })).json, { ...DEFAULT_STREAM_CONFIG, storage_class: "standard" });
  res = await ok("PUT", "/v1/streams/put-me", { headers: H }, 200);
  assert.equal(res.headers["s2-provision-result"], "updated");
  assert.deepEqual((await ok("GET", "/v1/streams/put-me", { headers: H })).json, DEFAULT_STREAM_CONFIG);

  // PATCH returns the resolved config; nested objects patch recursively.
  res = await ok("PATCH", "/v1/streams/put-me", { headers: H, body: { timestamping: { uncapped: true } } });
  assert.deepEqual(res.json, { ...DEFAULT_STREAM_CONFIG, timestamping: { mode: "client-prefer", uncapped: true } });
  res = await ok("PATCH", "/v1/streams/put-me", { headers: H, body: { timestamping: null, retention_policy: { age: 10 } } });
  assert.deepEqual(res.json, { ...DEFAULT_STREAM_CONFIG, retention_policy: { age: 10 } });

  // Names: the {stream} segment is percent-decoded; '/' and Unicode are allowed; 512 bytes is fine.
  const odd = "a/b c é?#";
  res = await ok("PUT", `/v1/streams/${encodeURIComponent(odd)}`, { headers: H }, 201);
  assertStreamInfo(res.json, odd);
  await ok("GET", `/v1/streams/${encodeURIComponent(odd)}`, { headers: H });
  await ok("POST", `/v1/streams/${encodeURIComponent(odd)}/records`, { headers: H, body: { records: [rec("x")] } });
  const max = "é".repeat(256);
  res = await ok("POST", "/v1/streams", { headers: H, body: { stream: max } }, 201);
  assertStreamInfo(res.json, max);
  await ok("GET", `/v1/streams/${encodeURIComponent(max)}/records/tail`, { headers: H });

  // List: bytewise order, prefix, start_after, limit, has_more; deleted streams carry deleted_at.
  res = await ok("GET", "/v1/streams?prefix=shape", { headers: H });
  assert.deepEqual(Object.keys(res.json).sort(), ["has_more", "streams"]);
  assert.deepEqual(res.json.streams.map((s) => s.name), ["shape", "shape-null", "shape-nulls"]);
  res.json.streams.forEach((s) => assertStreamInfo(s, s.name));
  res = await ok("GET", "/v1/streams?prefix=shape&limit=1&start_after=shape", { headers: H });
  assert.deepEqual(res.json.streams.map((s) => s.name), ["shape-null"]);
  assert.equal(res.json.has_more, true);
  res = await ok("GET", "/v1/streams?prefix=a%2F", { headers: H });
  assert.deepEqual(res.json.streams.map((s) => s.name), [odd]);
  const all = (await ok("GET", "/v1/streams", { headers: H })).json.streams.map((s) => s.name);
  const bytewise = [...all].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(all, bytewise);
  assert.ok(all.includes(max) && all.includes("doomed"));
  res = await ok("GET", "/v1/streams?prefix=doomed", { headers: H });
  assertStreamInfo(res.json.streams[0], "doomed", { deleted: true });
  // An unknown basin lists no streams (the spec also allows 404).
  res = await request("GET", "/v1/streams", { headers: basinHdr("unknown-basin-01") });
  if (res.status === 200) assert.deepEqual(res.json, { streams: [], has_more: false });
  else assert.equal(res.json.code, "basin_not_found");

  for (let i = 0; i < 2; i++) {
    res = await ok("DELETE", "/v1/streams/shape-null", { headers: H }, 202);
    assert.equal(res.text, "");
    assert.equal(res.headers["content-length"], "0");
  }
  res = await ok("DELETE", "/v1/streams/doomed", { headers: H }, 202);
});

test("basin from the Host subdomain when s2-basin is absent", async () => {
  const res = await ok("GET", `${S}/tail`, { headers: { host: `${B}.b.localhost` } });
  assert.deepEqual(res.json, { tail: TAIL_S });
  // s2-basin wins over Host.
  const res2 = await request("GET", "/v1/streams/s/records/tail", { headers: { host: "unknown-basin-01.b.localhost", ...basinHdr() } });
  assert.equal(res2.status, 200);
});

test("record shapes: ack positions, [name,value] headers, omitted empties, no tail on catch-up reads", async () => {
  const H = basinHdr();
  await ok("POST", "/v1/streams", { headers: H, body: { stream: "rshape" } }, 201);
  const ts = Date.now() - 50_000;
  let res = await ok("POST", "/v1/streams/rshape/records", {
    headers: H,
    body: {
      records: [
        { headers: [["type", "created"], ["type", "again"]], body: "hello", timestamp: ts },
        { body: "world", timestamp: null },
        { headers: [], body: "", timestamp: ts },
        { headers: [["only", ""]] },
      ],
      match_seq_num: 0,
      fencing_token: null,
    },
  });
  const ack = res.json;
  assert.deepEqual(Object.keys(ack).sort(), ["end", "start", "tail"]);
  for (const k of ["start", "end", "tail"]) {
    assert.deepEqual(Object.keys(ack[k]).sort(), ["seq_num", "timestamp"]);
    assert.ok(Number.isInteger(ack[k].seq_num) && Number.isInteger(ack[k].timestamp));
  }
  assert.deepEqual(ack.start, { seq_num: 0, timestamp: ts });
  assert.equal(ack.end.seq_num, 4);
  assert.ok(ack.tail.seq_num >= 4);
  const tsWorld = ack.end.timestamp;
  res = await ok("GET", "/v1/streams/rshape/records?seq_num=0", { headers: H });
  // Record 1 gets the arrival time; record 2's older client timestamp is raised to it; record 3
  // gets the arrival time too (monotonic, at most the ack's end).
  const t = res.json.records.map((r) => r.timestamp);
  assert.ok(t[1] > ts && t[2] === t[1] && t[3] >= t[2] && t[3] === tsWorld, `timestamps ${t}`);
  assert.deepEqual(res.json, {
    records: [
      { seq_num: 0, timestamp: ts, headers: [["type", "created"], ["type", "again"]], body: "hello" },
      { seq_num: 1, timestamp: t[1], body: "world" },
      { seq_num: 2, timestamp: t[1] },
      { seq_num: 3, timestamp: t[3], headers: [["only", ""]] },
    ],
  });
  res = await ok("GET", "/v1/streams/rshape/records/tail", { headers: H });
  assert.deepEqual(res.json, { tail: { seq_num: 4, timestamp: tsWorld } });
  res = await ok("GET", "/v1/streams/empty/records/tail", { headers: H });
  assert.deepEqual(res.json, { tail: { seq_num: 0, timestamp: 0 } });
  // count=0 / bytes=0 at a valid start: 200 with no records.
  for (const q of ["seq_num=0&count=0", "seq_num=1&bytes=0"]) {
    res = await ok("GET", `/v1/streams/rshape/records?${q}`, { headers: H });
    assert.deepEqual(res.json, { records: [] }, q);
  }
  // With wait, a read at the tail long-polls and returns 200 with no records.
  res = await ok("GET", "/v1/streams/rshape/records?seq_num=4&wait=1", { headers: H });
  assert.deepEqual(res.json.records, []);
  res = await ok("GET", "/v1/streams/rshape/records?seq_num=99&clamp=true&wait=1", { headers: H });
  assert.deepEqual(res.json.records, []);
});

test("s2-format: base64 round-trips bytes; raw output replaces invalid UTF-8 with U+FFFD", async () => {
  const H = basinHdr();
  await ok("POST", "/v1/streams", { headers: H, body: { stream: "b64" } }, 201);
  const bytes = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x41]);
  const name = Buffer.from([0xc3, 0x28]); // invalid UTF-8
  await ok("POST", "/v1/streams/b64/records", {
    headers: { ...H, "s2-format": "base64" },
    body: { records: [{ headers: [[name.toString("base64"), Buffer.from("v").toString("base64")]], body: bytes.toString("base64") }] },
  });
  let res = await ok("GET", "/v1/streams/b64/records?seq_num=0", { headers: { ...H, "s2-format": "base64" } });
  assert.equal(res.json.records[0].body, bytes.toString("base64"));
  assert.deepEqual(res.json.records[0].headers, [[name.toString("base64"), "dg=="]]);
  res = await ok("GET", "/v1/streams/b64/records?seq_num=0", { headers: { ...H, "s2-format": "raw" } });
  assert.equal(res.json.records[0].body, "\u0000\u0001\uFFFD\uFFFDA");
  assert.equal(res.json.records[0].headers[0][1], "v");
  assert.ok(res.json.records[0].headers[0][0].includes("\uFFFD"));
  // Raw input stores the JSON string's UTF-8 bytes as-is; base64 output shows them.
  await ok("POST", "/v1/streams/b64/records", { headers: H, body: { records: [rec("é☃")] } });
  res = await ok("GET", "/v1/streams/b64/records?seq_num=1", { headers: { ...H, "s2-format": "base64" } });
  assert.equal(res.json.records[0].body, Buffer.from("é☃").toString("base64"));
  // Metering counts decoded bytes: a base64 record of exactly 1 MiB metered is accepted.
  const exact = Buffer.alloc(1048576 - 8, 7).toString("base64");
  const ack = await ok("POST", "/v1/streams/b64/records", { headers: { ...H, "s2-format": "base64" }, body: { records: [{ body: exact }] } });
  assert.equal(ack.json.start.seq_num, 2);
});

test("u64 numbers above 2^63 are integers on the wire, in and out", async () => {
  const H = basinHdr();
  await ok("POST", "/v1/streams", { headers: H, body: { stream: "u64", config: { timestamping: { uncapped: true } } } }, 201);
  // JSON.parse cannot hold these exactly, so compare the response text.
  const big = "9223372036854775808"; // 2^63
  const res = await ok("POST", "/v1/streams/u64/records", { headers: H, body: `{"records":[{"body":"b","timestamp":${big}}]}` });
  assert.match(res.text, new RegExp(`"start":\\{"seq_num":0,"timestamp":${big}\\}`));
  const read = await ok("GET", "/v1/streams/u64/records?seq_num=0", { headers: H });
  assert.equal(read.text, `{"records":[{"seq_num":0,"timestamp":${big},"body":"b"}]}`);
  const tail = await ok("GET", "/v1/streams/u64/records/tail", { headers: H });
  assert.equal(tail.text, `{"tail":{"seq_num":1,"timestamp":${big}}}`);
});

test("append limits: exactly 1000 records and exactly 1 MiB metered are accepted", async () => {
  const H = basinHdr();
  await ok("POST", "/v1/streams", { headers: H, body: { stream: "limits" } }, 201);
  let res = await ok("POST", "/v1/streams/limits/records", { headers: H, body: { records: Array.from({ length: 1000 }, (_, i) => rec(String(i))) } });
  assert.deepEqual([res.json.start.seq_num, res.json.end.seq_num], [0, 1000]);
  res = await ok("POST", "/v1/streams/limits/records", { headers: H, body: { records: [rec(bigBody(1048576 - 8))] } });
  assert.deepEqual([res.json.start.seq_num, res.json.end.seq_num], [1000, 1001]);
  res = await ok("POST", "/v1/streams/limits/records", {
    headers: H,
    body: { records: [rec(bigBody(524288 - 8)), rec(bigBody(524288 - 8 - 2 - 2), { headers: [["k", "v"]] })] },
  });
  assert.deepEqual([res.json.start.seq_num, res.json.end.seq_num], [1001, 1003]);
  // A unary read is capped at 1 MiB: the 1 MiB record comes alone.
  res = await ok("GET", "/v1/streams/limits/records?seq_num=999", { headers: H });
  assert.deepEqual(res.json.records.map((r) => r.seq_num), [999]);
  res = await ok("GET", "/v1/streams/limits/records?seq_num=1000", { headers: H });
  assert.deepEqual(res.json.records.map((r) => r.seq_num), [1000]);
});

// ---------------------------------------------------------------------------------------------
// SSE read sessions (§4.1)

test("SSE: headers, batch events with id seq,count,bytes, data-only [DONE] when the count is reached", async () => {
  const records = Array.from({ length: 5 }, (_, i) => ({ headers: [["i", String(i)]], body: `e${i}`, timestamp: BASE_TS + i }));
  await append("sse", records);
  const s = await openSse("/v1/streams/sse/records?seq_num=0&count=5");
  assert.equal(s.status, 200);
  assert.match(s.headers["content-type"], /^text\/event-stream/);
  assert.match(s.headers["cache-control"], /no-cache/);
  assert.equal(s.headers["x-accel-buffering"], "no");
  const events = await s.collect();
  const last = events[events.length - 1];
  assert.deepEqual(last, { event: undefined, id: undefined, data: "[DONE]" }, "the session ends with data: [DONE]");
  const batches = events.filter((e) => e.event === "batch");
  assert.ok(batches.length >= 1);
  assert.ok(events.slice(0, -1).every((e) => e.event === "batch" || e.event === "ping"), JSON.stringify(events));
  const got = batchesToRecords(events);
  assert.deepEqual(got, records.map((r, i) => ({ seq_num: i, ...r })));
  for (const b of batches) assert.equal(JSON.parse(b.data).tail, undefined, "catch-up batches carry no tail");

  // bytes and until end sessions too; a start mid-stream keeps counting from the session start.
  const byBytes = await (await openSse(`/v1/streams/sse/records?seq_num=1&bytes=${2 * metered(records[1])}`)).collect();
  assert.deepEqual(batchesToRecords(byBytes).map((r) => r.seq_num), [1, 2]);
  assert.equal(byBytes.at(-1).data, "[DONE]");
  const byUntil = await (await openSse(`/v1/streams/sse/records?seq_num=0&until=${BASE_TS + 3}`)).collect();
  assert.deepEqual(batchesToRecords(byUntil).map((r) => r.seq_num), [0, 1, 2]);
  assert.equal(byUntil.at(-1).data, "[DONE]");
  const byTs = await (await openSse(`/v1/streams/sse/records?timestamp=${BASE_TS + 3}&count=10&wait=1`)).collect();
  assert.deepEqual(batchesToRecords(byTs).map((r) => r.seq_num), [3, 4]);
  assert.equal(byTs.at(-1).data, "[DONE]");
  // Batches hold at most 1000 records.
  await append("sse", Array.from({ length: 1000 }, (_, i) => rec(`bulk${i}`)));
  await append("sse", Array.from({ length: 600 }, (_, i) => rec(`bulk${1000 + i}`)));
  const bulk = await (await openSse("/v1/streams/sse/records?seq_num=5&count=1600")).collect();
  const bulkRecs = batchesToRecords(bulk);
  assert.equal(bulkRecs.length, 1600);
  bulkRecs.forEach((r, i) => assert.equal(r.seq_num, 5 + i));
});

test("SSE: following at the tail sends a ping with the tail at once, then live batches carrying tail", async () => {
  const H = basinHdr();
  await ok("POST", "/v1/streams", { headers: H, body: { stream: "live" } }, 201);
  const ack0 = await append("live", [rec("a"), rec("b")]);
  const s = await openSse("/v1/streams/live/records?seq_num=0");
  assert.equal(s.status, 200);
  try {
    // Catch-up first (no tail), then the ping on switching to following.
    const seen = [];
    let ev;
    while ((ev = await s.next()).event === "batch") seen.push(...JSON.parse(ev.data).records.map((r) => r.seq_num));
    assert.deepEqual(seen, [0, 1]);
    assert.equal(ev.event, "ping");
    const ping = JSON.parse(ev.data);
    assert.ok(Number.isInteger(ping.timestamp));
    assert.deepEqual(ping.tail, { seq_num: 2, timestamp: ack0.end.timestamp });
    const ack = await append("live", [rec("c"), rec("d", { headers: [["h", "v"]] })]);
    const live = [];
    let batch;
    while (live.length < 2) {
      ev = await s.next();
      if (ev.event === "ping") continue;
      assert.equal(ev.event, "batch");
      batch = JSON.parse(ev.data);
      live.push(...batch.records.map((r) => r.seq_num));
      const end = batch.records.at(-1).seq_num + 1;
      assert.equal(batch.tail?.seq_num, end, "a live batch carries the tail after it");
    }
    assert.deepEqual(live, [2, 3]);
    assert.deepEqual(batch.tail, { seq_num: 4, timestamp: ack.end.timestamp });
    // Metered: "a", "b", "c" are 9 bytes each, "d" with header (h, v) is 8 + 2 + 2 + 1 = 13.
    assert.equal(ev.id, `3,4,${9 + 9 + 9 + 13}`);
  } finally {
    s.close();
  }
  // An SSE read with wait at the tail: ping, then [DONE] once the wait expires.
  const w = await openSse("/v1/streams/live/records?seq_num=4&wait=1");
  const events = await w.collect();
  assert.equal(events[0].event, "ping");
  assert.deepEqual(JSON.parse(events[0].data).tail.seq_num, 4);
  assert.equal(events.at(-1).data, "[DONE]");
  assert.equal(events.filter((e) => e.event === "batch").length, 0);
  // clamp=true past the tail starts following at the tail.
  const c = await openSse("/v1/streams/live/records?seq_num=100&clamp=true&wait=1");
  assert.equal(c.status, 200);
  const cev = await c.collect();
  assert.equal(cev[0].event, "ping");
  assert.equal(cev.at(-1).data, "[DONE]");
});

test("SSE resume: Last-Event-ID yields exactly the records after it, with count/bytes reduced", async () => {
  const records = Array.from({ length: 10 }, (_, i) => ({ body: `r${i}`.padEnd(3 + i, "."), headers: i % 2 ? [["odd", "1"]] : [] }));
  await append("resume", records.map((r) => ({ ...r })));
  const sizes = records.map(metered);
  const upTo = (n) => sizes.slice(0, n).reduce((a, b) => a + b, 0);

  // A real id from the server: read 4, then resume from the id it sent.
  const first = await (await openSse("/v1/streams/resume/records?seq_num=0&count=4")).collect();
  const firstRecs = batchesToRecords(first);
  assert.deepEqual(firstRecs.map((r) => r.seq_num), [0, 1, 2, 3]);
  const lastId = first.filter((e) => e.event === "batch").at(-1).id;
  assert.equal(lastId, `3,4,${upTo(4)}`);
  // count=10 reduced by the 4 already read: records 4..9, then [DONE]. The original start
  // parameter (seq_num=0) is ignored in favour of the id.
  let ev = await (await openSse("/v1/streams/resume/records?seq_num=0&count=10", { headers: { "last-event-id": lastId } })).collect();
  let got = ev.filter((e) => e.event === "batch").flatMap((e) => JSON.parse(e.data).records);
  assert.deepEqual(got.map((r) => r.seq_num), [4, 5, 6, 7, 8, 9]);
  assert.deepEqual(got.map((r) => r.body), records.slice(4).map((r) => r.body));
  assert.equal(ev.at(-1).data, "[DONE]");
  // The ids of the resumed session continue the counts of the original one.
  const lastResumed = ev.filter((e) => e.event === "batch").at(-1).id;
  assert.equal(lastResumed, `9,10,${upTo(10)}`);

  // count reduced: count=6 after "1,2,b" leaves 4 records: 2..5.
  ev = await (await openSse("/v1/streams/resume/records?tail_offset=1&count=6", { headers: { "last-event-id": `1,2,${upTo(2)}` } })).collect();
  assert.deepEqual(ev.filter((e) => e.event === "batch").flatMap((e) => JSON.parse(e.data).records).map((r) => r.seq_num), [2, 3, 4, 5]);
  assert.equal(ev.at(-1).data, "[DONE]");
  // bytes reduced: bytes=upTo(7) after "2,3,upTo(3)" leaves room for records 3..6 exactly.
  ev = await (await openSse(`/v1/streams/resume/records?seq_num=0&bytes=${upTo(7)}`, { headers: { "last-event-id": `2,3,${upTo(3)}` } })).collect();
  assert.deepEqual(ev.filter((e) => e.event === "batch").flatMap((e) => JSON.parse(e.data).records).map((r) => r.seq_num), [3, 4, 5, 6]);
  assert.equal(ev.at(-1).data, "[DONE]");
  // The SDK's way: an explicit seq_num with a reduced count.
  ev = await (await openSse("/v1/streams/resume/records?seq_num=8&count=2")).collect();
  assert.deepEqual(ev.filter((e) => e.event === "batch").flatMap((e) => JSON.parse(e.data).records).map((r) => r.seq_num), [8, 9]);
  // Resuming after the last record with wait: nothing more, ping then [DONE].
  ev = await (await openSse("/v1/streams/resume/records?seq_num=0&wait=1", { headers: { "last-event-id": lastResumed } })).collect();
  assert.equal(ev.filter((e) => e.event === "batch").length, 0);
  assert.equal(ev.at(-1).data, "[DONE]");
});

// ---------------------------------------------------------------------------------------------
// A reader that stops reading must be paused (bounded buffer), not buffered without limit.

test("a stalled SSE reader does not grow server memory while the writer continues", async (t) => {
  // Own server, so only this test's work is in its RSS. Under ASan, freed memory sits in the
  // quarantine and inflates RSS; turn the quarantine off so RSS tracks live memory.
  const asan = [process.env.ASAN_OPTIONS, "quarantine_size_mb=0", "thread_local_quarantine_size_kb=0", "allocator_release_to_os_interval_ms=50"]
    .filter(Boolean)
    .join(":");
  const w = await startWeir({ env: { ASAN_OPTIONS: asan, WEIR_ROOT_TOKEN: weir.token } });
  const readers = [];
  let sampler;
  try {
    const pid = w.proc.pid;
    const rssMb = () => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)\s+kB/)[1]) / 1024;
    const basin = "rss-basin-01";
    const H = { "s2-basin": basin };
    await ok("POST", "/v1/basins", { url: w.url, body: { basin } }, 201);
    for (const st of ["control", "stalled"]) await ok("POST", "/v1/streams", { url: w.url, headers: H, body: { stream: st } }, 201);
    // ~1 MB per request: 1000 records of 1000 bytes (metered 1,008,000).
    const body = JSON.stringify({ records: Array.from({ length: 1000 }, () => ({ body: "x".repeat(1000) })) });
    const writeMb = async (stream, n) => {
      for (let i = 0; i < n; i++) await ok("POST", `/v1/streams/${stream}/records`, { url: w.url, headers: H, body });
    };
    let peak = 0;
    sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 25);
    const MB = 24;

    // Control: MB of appends with no reader. The store's own memory (memtable, caches) grows
    // with what is written; this phase measures that growth. Both phases together stay well
    // below the store's memtable and cache sizes, so neither phase triggers a flush or eviction.
    await writeMb("control", 2);
    await new Promise((r) => setTimeout(r, 200));
    const rss0 = rssMb();
    peak = 0;
    await writeMb("control", MB);
    const rss1 = rssMb();
    const controlGrowth = Math.max(peak, rss1) - rss0;

    // Treatment: K readers follow "stalled" from seq 0 and never read their bodies (paused
    // sockets); the same MB of appends go to that stream.
    const K = 8;
    for (let i = 0; i < K; i++) {
      readers.push(
        await new Promise((resolve, reject) => {
          const req = http.get(
            `${w.url}/v1/streams/stalled/records?seq_num=0`,
            { headers: { ...w.auth, accept: "text/event-stream", ...H }, agent: false },
            (res) => {
              res.pause();
              if (res.statusCode === 200) resolve({ req, res });
              else reject(new Error(`stalled reader got status ${res.statusCode}`));
            },
          );
          req.on("error", reject);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 200));
    const rss2 = rssMb();
    peak = 0;
    await writeMb("stalled", MB);
    await new Promise((r) => setTimeout(r, 300));
    const treatmentGrowth = Math.max(peak, rssMb()) - rss2;
    clearInterval(sampler);
    // Buffering everything for the stalled readers would add about K × MB (192 MB), less the
    // few MB each socket absorbs in the kernel; a paused reader costs a bounded buffer.
    const excess = treatmentGrowth - controlGrowth;
    t.diagnostic(`RSS growth for ${MB} MB of appends: ${controlGrowth.toFixed(1)} MB without readers, ${treatmentGrowth.toFixed(1)} MB with ${K} stalled readers`);
    assert.ok(
      excess < 40,
      `with ${K} stalled readers, ${MB} MB of appends grew server RSS by ${treatmentGrowth.toFixed(1)} MB; ` +
        `without readers the same appends grew it by ${controlGrowth.toFixed(1)} MB (excess ${excess.toFixed(1)} MB)`,
    );

    // The paused reader was paused, not cut off: resumed, it gets every record in order from 0.
    const { res } = readers[0];
    const parser = new SseParser();
    let next = 0;
    await new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`resumed reader stuck at seq ${next}`)), 60000);
      res.setEncoding("utf8");
      res.on("data", (d) => {
        for (const ev of parser.push(d)) {
          if (ev.event !== "batch") continue;
          for (const r of JSON.parse(ev.data).records) {
            if (r.seq_num !== next) {
              clearTimeout(guard);
              reject(new Error(`resumed reader got seq ${r.seq_num}, expected ${next}`));
            }
            next += 1;
          }
        }
        if (next >= MB * 1000) {
          clearTimeout(guard);
          resolve();
        }
      });
      res.on("end", () => reject(new Error(`resumed reader's body ended at seq ${next}`)));
      res.resume();
    });
    assert.equal(next, MB * 1000);
  } finally {
    clearInterval(sampler);
    for (const r of readers) r.req.destroy();
    await w.stop();
  }
});
