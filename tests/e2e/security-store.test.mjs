// security-store.test.mjs — the store findings of the security review (issue #13, items 7 and 8)
// against a real `weir serve` started with small limits through the environment:
//  - item 7: a basin holds at most WEIR_MAX_STREAMS_PER_BASIN streams and a realtime environment
//    at most WEIR_MAX_STREAMS_PER_ENV; one more, whether created explicitly (official S2 SDK,
//    raw HTTP /v1) or by auto-create on append or read, is 403 `quota_exhausted` and leaves no
//    stream behind; a deleted stream's slot is free again once its deletion has finished. The
//    stream cache holds 2 entries, so the streams used here are evicted and reloaded all along.
//  - item 8: command records without a body (JSON without "body", protobuf without field 3)
//    get a proper answer — an empty fence clears the token, a trim without its 8 bytes is 422 —
//    instead of crashing the server (an ASan/UBSan report would make stop() fail: it requires
//    exit status 0).
//
// Expected values come from the contract (../shared/docs/s2-api.md §1.4 errors, §3.2 command
// records, §3.5 fencing) and docs/configuration.md.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { AppendInput, AppendRecord, S2Error } from "@s2-dev/streamstore";
import { startWeir, runWeir } from "./harness.mjs";
import { answerOf, eventually, sdkClient } from "./helpers.mjs";

const BASIN_MAX = 5;
const ENV_MAX = 3;
const GLOBAL = "weir-shared"; // the realtime layer's shared basin, created at start

let weir;
let s2;
before(async () => {
  weir = await startWeir({
    env: {
      WEIR_MAX_STREAMS_PER_BASIN: String(BASIN_MAX),
      WEIR_MAX_STREAMS_PER_ENV: String(ENV_MAX),
      WEIR_STREAM_CACHE_ENTRIES: "2",
      // Deletions finish at the next maintenance pass: make that one second away, not a minute.
      WEIR_MAINTENANCE_INTERVAL: "1s",
    },
  });
  s2 = sdkClient(weir);
});
after(async () => {
  await weir.stop();
});

// ---------------------------------------------------------------------------------------------
// Helpers

async function http(method, path, { basin, body, headers = {} } = {}) {
  const h = { ...weir.auth, ...headers };
  if (basin) h["s2-basin"] = basin;
  let payload = body;
  if (body !== undefined && !(body instanceof Uint8Array)) {
    payload = JSON.stringify(body);
    h["content-type"] ??= "application/json";
  }
  const res = await fetch(`${weir.url}${path}`, { method, headers: h, body: payload });
  return answerOf(res);
}

async function newBasin(name, config = {}) {
  const res = await http("POST", "/v1/basins", { body: { basin: name, config } });
  assert.equal(res.status, 201, res.text);
}

const createStream = (basin, stream) => http("POST", "/v1/streams", { basin, body: { stream } });
const getStream = (basin, stream) => http("GET", `/v1/streams/${encodeURIComponent(stream)}`, { basin });
const appendJson = (basin, stream, body, headers) =>
  http("POST", `/v1/streams/${encodeURIComponent(stream)}/records`, { basin, body, headers });

function assertQuota(res, option) {
  assert.equal(res.status, 403, res.text);
  assert.equal(res.json?.code, "quota_exhausted", res.text);
  assert.match(res.json.message, new RegExp(option), res.text);
}

// ---------------------------------------------------------------------------------------------
// Item 7: stream limits

test("the 6th stream of a basin is 403 quota_exhausted through the S2 SDK and raw HTTP", async () => {
  const basin = "sec-limit-explicit";
  await s2.basins.create({ basin });
  const b = s2.basin(basin);
  for (let i = 0; i < BASIN_MAX; i++) await b.streams.create({ stream: `s${i}` });

  let err;
  try {
    await b.streams.create({ stream: "one-too-many" });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof S2Error, `expected S2Error, got ${err}`);
  assert.equal(err.status, 403);
  assert.equal(err.code, "quota_exhausted");

  const res = await createStream(basin, "one-too-many");
  assertQuota(res, `basin \`${basin}\` holds the maximum of ${BASIN_MAX} streams \\(--max-streams-per-basin\\)`);
  assert.equal((await getStream(basin, "one-too-many")).status, 404);
  // An existing name is still a conflict; other basins are not affected.
  assert.equal((await createStream(basin, "s0")).status, 409);
  await newBasin("sec-limit-other");
  assert.equal((await createStream("sec-limit-other", "s0")).status, 201);
  const listed = await b.streams.list();
  assert.equal(listed.streams.length, BASIN_MAX);
});

test("auto-create on append and on read is refused at the limit and creates nothing", async () => {
  const basin = "sec-limit-auto";
  await newBasin(basin, { create_stream_on_append: true, create_stream_on_read: true });
  for (let i = 0; i < BASIN_MAX - 1; i++) {
    const res = await appendJson(basin, `a${i}`, { records: [{ body: "x" }] });
    assert.equal(res.status, 200, res.text);
  }
  // The last slot through a read (check-tail auto-creates with create_stream_on_read).
  const tail = await http("GET", "/v1/streams/r0/records/tail", { basin });
  assert.equal(tail.status, 200, tail.text);

  const rows = [
    { name: "append", req: () => appendJson(basin, "over-a", { records: [{ body: "x" }] }), stream: "over-a" },
    { name: "SDK append", req: () => sdkAppend(basin, "over-s"), stream: "over-s" },
    { name: "unary read", req: () => http("GET", "/v1/streams/over-r/records?seq_num=0", { basin }), stream: "over-r" },
    { name: "check-tail", req: () => http("GET", "/v1/streams/over-t/records/tail", { basin }), stream: "over-t" },
  ];
  for (const row of rows) {
    const res = await row.req();
    assert.equal(res.status, 403, `${row.name}: ${res.text}`);
    assert.equal(res.json?.code ?? res.code, "quota_exhausted", `${row.name}: ${res.text}`);
    assert.equal((await getStream(basin, row.stream)).status, 404, row.name);
  }
  // Existing streams keep working.
  const res = await appendJson(basin, "a0", { records: [{ body: "y" }] });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.start.seq_num, 1);
});

/** An SDK append whose failure is returned as { status, code, text } like http(). */
async function sdkAppend(basin, stream) {
  try {
    await s2.basin(basin).stream(stream).append(AppendInput.create([AppendRecord.string({ body: "x" })]));
    return { status: 200, text: "ok" };
  } catch (e) {
    assert.ok(e instanceof S2Error, `expected S2Error, got ${e}`);
    return { status: e.status, code: e.code, text: e.message };
  }
}

test("a realtime environment holds at most WEIR_MAX_STREAMS_PER_ENV streams of the shared basin", async () => {
  const env1 = "org/o1/env/dev/e1";
  for (let i = 0; i < ENV_MAX; i++) {
    const res = await appendJson(GLOBAL, `${env1}/runs/r${i}/chat`, { records: [{ body: "x" }] });
    assert.equal(res.status, 200, res.text);
  }
  const over = await appendJson(GLOBAL, `${env1}/runs/over/chat`, { records: [{ body: "x" }] });
  assertQuota(over, "--max-streams-per-env");
  assert.match(over.json.message, /org\/o1\/env\/dev\/e1\//);
  assertQuota(await createStream(GLOBAL, `${env1}/sessions/k/out`), "--max-streams-per-env");
  // Another environment of the same organization has its own count.
  const other = await appendJson(GLOBAL, "org/o1/env/dev/e2/runs/r0/chat", { records: [{ body: "x" }] });
  assert.equal(other.status, 200, other.text);
});

test("deleting a stream frees its slot once the deletion has finished", async () => {
  const basin = "sec-limit-delete";
  await newBasin(basin);
  for (let i = 0; i < BASIN_MAX; i++) assert.equal((await createStream(basin, `s${i}`)).status, 201);
  assertQuota(await createStream(basin, "late"), "--max-streams-per-basin");
  assert.equal((await http("DELETE", "/v1/streams/s3", { basin })).status, 202);
  // Until the maintenance pass has removed it, the deleted stream keeps its slot: every create
  // is refused until one succeeds, and then the stream is gone.
  await eventually(async () => {
    const res = await createStream(basin, "late");
    if (res.status === 201) return true;
    assertQuota(res, "--max-streams-per-basin");
    return false;
  });
  assert.equal((await getStream(basin, "s3")).status, 404);
  assertQuota(await createStream(basin, "later"), "--max-streams-per-basin");
});

test("the limit options are listed by --help and bad values stop weir with exit 2", async () => {
  const help = await runWeir(["serve", "--help"]);
  assert.equal(help.code, 0);
  for (const opt of [
    "--max-streams-per-basin N",
    "WEIR_MAX_STREAMS_PER_BASIN, default 1000000",
    "--max-streams-per-env N",
    "WEIR_MAX_STREAMS_PER_ENV, default 100000",
    "--stream-cache-entries N",
    "WEIR_STREAM_CACHE_ENTRIES, default 100000",
    "--maintenance-interval DURATION",
    "WEIR_MAINTENANCE_INTERVAL, default 60s",
    "--commit-mode auto|thread|loop",
    "WEIR_COMMIT_MODE, default auto",
  ])
    assert.ok(help.stdout.includes(opt), opt);
  const rows = [
    { args: ["--max-streams-per-basin", "0"], env: {}, msg: "--max-streams-per-basin: must be at least 1" },
    { args: [], env: { WEIR_MAX_STREAMS_PER_BASIN: "-1" }, msg: "WEIR_MAX_STREAMS_PER_BASIN: must be a non-negative integer" },
    { args: ["--max-streams-per-env", "many"], env: {}, msg: "--max-streams-per-env: must be a non-negative integer" },
    { args: [], env: { WEIR_MAX_STREAMS_PER_ENV: "0" }, msg: "WEIR_MAX_STREAMS_PER_ENV: must be at least 1" },
    { args: ["--stream-cache-entries", "0"], env: {}, msg: "--stream-cache-entries: must be between 1 and 100000000" },
    { args: [], env: { WEIR_STREAM_CACHE_ENTRIES: "100000001" }, msg: "WEIR_STREAM_CACHE_ENTRIES: must be between 1 and 100000000" },
    { args: ["--maintenance-interval", "0s"], env: {}, msg: "--maintenance-interval: must be between 1s and 1d" },
    { args: [], env: { WEIR_MAINTENANCE_INTERVAL: "5" }, msg: "WEIR_MAINTENANCE_INTERVAL: must be a duration" },
    { args: ["--commit-mode", "fast"], env: {}, msg: "--commit-mode: must be auto, thread or loop" },
    { args: [], env: { WEIR_COMMIT_MODE: "Loop" }, msg: "WEIR_COMMIT_MODE: must be auto, thread or loop" },
    { args: ["--commit-mode", ""], env: {}, msg: "--commit-mode: must be auto, thread or loop" },
  ];
  for (const row of rows) {
    const { code, stderr } = await runWeir(["serve", "--data-dir", "/nonexistent/never-created", ...row.args], row.env);
    assert.equal(code, 2, `${row.msg}: ${stderr}`);
    assert.ok(stderr.includes(row.msg), `${row.msg} in: ${stderr}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Item 8: command records without a body

/** AppendInput{records: [AppendRecord{headers: [Header{value: op}]}]} with no body field. */
function protoBodyless(op) {
  const value = Buffer.from(op);
  const header = Buffer.concat([Buffer.from([0x12, value.length]), value]);
  const record = Buffer.concat([Buffer.from([0x12, header.length]), header]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x0a, record.length]), record]));
}

test("command records without a body: an empty fence clears the token, a bodyless trim is 422", async () => {
  const basin = "sec-cmd-body";
  await newBasin(basin, { create_stream_on_append: true });
  const fenceNoBody = { headers: [["", "fence"]] };
  const trimNoBody = { headers: [["", "trim"]] };
  const b64 = { "s2-format": "base64" };
  const proto = { "content-type": "application/protobuf" };
  const rows = [
    { name: "JSON fence, no body", body: { records: [fenceNoBody] }, status: 200, token: "" },
    { name: "JSON fence, no body, old token given", body: { records: [fenceNoBody], fencing_token: "tok" }, status: 200, token: "" },
    { name: "JSON fence, no body, wrong token", body: { records: [fenceNoBody], fencing_token: "nope" }, status: 412, token: "tok" },
    { name: "JSON fence, null body", body: { records: [{ ...fenceNoBody, body: null }] }, status: 200, token: "" },
    { name: "JSON fence, empty body", body: { records: [{ ...fenceNoBody, body: "" }] }, status: 200, token: "" },
    { name: "JSON fence, no body, base64", body: { records: [{ headers: [["", "ZmVuY2U="]] }] }, headers: b64, status: 200, token: "" },
    { name: "JSON fence, empty body, base64", body: { records: [{ headers: [["", "ZmVuY2U="]], body: "" }] }, headers: b64, status: 200, token: "" },
    { name: "JSON fence, no body, among other records", body: { records: [{ body: "a" }, fenceNoBody, { body: "b" }] }, status: 200, token: "" },
    { name: "protobuf fence, no body", body: protoBodyless("fence"), headers: proto, status: 200, token: "" },
    { name: "JSON trim, no body", body: { records: [trimNoBody] }, status: 422, code: "invalid", token: "tok" },
    { name: "JSON trim, empty body", body: { records: [{ ...trimNoBody, body: "" }] }, status: 422, code: "invalid", token: "tok" },
    { name: "JSON trim, no body, base64", body: { records: [{ headers: [["", "dHJpbQ=="]] }] }, headers: b64, status: 422, code: "invalid", token: "tok" },
    { name: "protobuf trim, no body", body: protoBodyless("trim"), headers: proto, status: 422, token: "tok" },
  ];
  // One stream for every row (the basin may hold only BASIN_MAX streams).
  const stream = "cmd";
  let clearedAt;
  for (const row of rows) {
    // Every row starts from token "tok", set by a fence record with a body.
    const set = await appendJson(basin, stream, { records: [{ headers: [["", "fence"]], body: "tok" }] });
    assert.equal(set.status, 200, `${row.name}: ${set.text}`);
    const res = await appendJson(basin, stream, row.body, row.headers);
    assert.equal(res.status, row.status, `${row.name}: ${res.text}`);
    if (row.code) assert.equal(res.json?.code, row.code, `${row.name}: ${res.text}`);
    if (clearedAt === undefined && res.status === 200) clearedAt = res.json.start.seq_num;
    if (res.status === 412) assert.deepEqual(res.json, { fencing_token_mismatch: "tok" }, row.name);
    const token = res.status === 200 ? row.token : "tok";
    // The token is what the row says: a condition on it passes, on another one it fails.
    const wrong = await appendJson(basin, stream, { records: [{ body: "p" }], fencing_token: token ? "" : "tok" });
    assert.equal(wrong.status, 412, `${row.name}: ${wrong.text}`);
    assert.deepEqual(wrong.json, { fencing_token_mismatch: token }, row.name);
    const right = await appendJson(basin, stream, { records: [{ body: "p" }], fencing_token: token });
    assert.equal(right.status, 200, `${row.name}: ${right.text}`);
  }
  // The cleared fence is a record like any other: read back as a command record without body.
  const read = await http("GET", `/v1/streams/${stream}/records?seq_num=${clearedAt}&count=1`, { basin });
  assert.equal(read.status, 200, read.text);
  assert.deepEqual(read.json.records[0].headers, [["", "fence"]]);
  assert.equal(read.json.records[0].body, undefined);
});
