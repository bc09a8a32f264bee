// s2-retention.test.mjs — age retention through the real read paths: once a record's retention
// age has passed since it was written, unary JSON, SSE and s2s (SDK default transport) reads no
// longer return it, and a record written with an old client timestamp is kept for the full age.
// The retention age is 1 s (the smallest S2 allows); the tests poll until expiry instead of
// asserting any timing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWeir } from "./harness.mjs";
import { eventually, sdkClient } from "./helpers.mjs";

let weir;
const B = "retention-basin-01";
const H = () => ({ ...weir.auth, "s2-basin": B, "content-type": "application/json" });

before(async () => {
  weir = await startWeir();
  const res = await fetch(`${weir.url}/v1/basins`, {
    method: "POST",
    headers: { ...weir.auth, "content-type": "application/json" },
    body: JSON.stringify({ basin: B }),
  });
  assert.equal(res.status, 201);
});
after(async () => {
  await weir.stop();
});

async function createStream(name, ageSecs) {
  const res = await fetch(`${weir.url}/v1/streams`, {
    method: "POST",
    headers: H(),
    body: JSON.stringify({ stream: name, config: { retention_policy: { age: ageSecs } } }),
  });
  assert.equal(res.status, 201);
}

async function append(name, records) {
  const res = await fetch(`${weir.url}/v1/streams/${name}/records`, { method: "POST", headers: H(), body: JSON.stringify({ records }) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

async function readUnary(name) {
  const res = await fetch(`${weir.url}/v1/streams/${name}/records?seq_num=0`, { headers: H() });
  return { status: res.status, body: await res.json() };
}

async function sseRecords(name) {
  const res = await fetch(`${weir.url}/v1/streams/${name}/records?seq_num=0&wait=0&count=100`, {
    headers: { ...H(), accept: "text/event-stream" },
  });
  if (res.status !== 200) return { status: res.status, records: [] };
  const text = await res.text();
  const records = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    const data = JSON.parse(line.slice(6));
    if (data.records) records.push(...data.records);
  }
  return { status: 200, records };
}

test("expired records vanish from unary, SSE and s2s reads; newer ones stay", async () => {
  await createStream("short", 1);
  await append("short", [{ body: "old-1" }, { body: "old-2" }]);
  assert.deepEqual((await readUnary("short")).body.records.map((r) => r.body), ["old-1", "old-2"]);
  await eventually(async () => (await readUnary("short")).status === 416);
  const unary = await readUnary("short");
  assert.equal(unary.status, 416);
  assert.equal(unary.body.tail.seq_num, 2, "the tail stays where it was");
  // A new record is readable; the expired ones stay gone on every path.
  await append("short", [{ body: "new" }]);
  const after = await readUnary("short");
  assert.deepEqual(after.body.records.map((r) => [r.seq_num, r.body]), [[2, "new"]]);
  const sse = await sseRecords("short");
  assert.deepEqual(sse.records.map((r) => r.body), ["new"]);
  const s2 = sdkClient(weir);
  const stream = s2.basin(B).stream("short"); // default transport: s2s over HTTP/2
  const session = await stream.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 1 } } });
  const seen = [];
  for await (const r of session) seen.push([r.seqNum, r.body]);
  assert.deepEqual(seen, [[2, "new"]]);
  await stream.close();
});

test("a record written with an old client timestamp is kept for the whole age after it was written", async () => {
  await createStream("backdated", 3600);
  const old = Date.now() - 7 * 86400 * 1000; // a week ago, far beyond the 1 h age
  await append("backdated", [{ body: "history", timestamp: old }]);
  const res = await readUnary("backdated");
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.records.map((r) => [r.body, r.timestamp]), [["history", old]]);
});
