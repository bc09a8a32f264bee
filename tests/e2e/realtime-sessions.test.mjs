// realtime-sessions.test.mjs — the session and run-stream routes of realtime.md §5 end to end,
// through the real binary, as a browser (public token only) and an agent (secret key + the
// official SDK given only the X-S2-* headers of a PUT) would use them:
// 1. a three-turn chat (unprovisioned and provisioned org): session create returns a public
//    token; the browser appends to `.in` and follows `.out` over SSE, reconnecting mid-turn with
//    Last-Event-ID and seeing every record exactly once; the agent reads `.in` through
//    /records and /wait and writes `.out` with the SDK (chunks, a turn-complete control record,
//    a trim command); X-Peek-Settled; the records land at {prefix}/sessions/{externalId}/{io}.
// 2. the no-row race (PUT before create → one stream) and stamps (a row created before the org
//    is provisioned keeps the shared basin).
// 3. /wait: a record appended while waiting, one already there, 408, command records skipped.
// 4. X-Part-Id idempotency, 413 with CORS, the exact 1 MiB metered boundary.
// 5. run streams: PUT + SDK append, POST append, SSE; input streams; read:runs:<id> scoping.
// 6. POST /api/v1/auth/public-tokens: claims, expirationTime limits, scopes, super scopes, key
//    rotation invalidating tokens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { AppendInput, AppendRecord } from "@s2-dev/streamstore";
import { startWeir } from "./harness.mjs";
import { realtimeEnv, realtimeHelpers, SHARED } from "./realtime-helpers.mjs";
import { SseParser } from "./sse.mjs";
import { answerOf } from "./helpers.mjs";

const ORIGIN = "https://app.example.test";
const openStreams = new Set(); // SSE connections still open (closed before the server stops)
let weir;
before(async () => {
  weir = await startWeir({ env: realtimeEnv({ WEIR_WAIT_SECONDS: "2" }) });
});
after(async () => {
  for (const s of [...openStreams]) s.close();
  await weir?.stop();
});

const { call: callAs, ok, uniq, tenant, putChannel, client, str, rootRead } = realtimeHelpers(() => weir);

// ---------------------------------------------------------------------------------------------
// Helpers

/** One request with the browser Origin of this suite (realtime-helpers.mjs `call`). */
const call = (method, path, opts = {}) => callAs(method, path, { origin: ORIGIN, ...opts });

async function expectStatus(status, method, path, opts) {
  const res = await call(method, path, opts);
  assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
  return res;
}

/** Asserts a realtime error answer: status, {"error": string}, CORS. */
function assertError(res, status, what) {
  assert.equal(res.status, status, `${what}: ${res.text}`);
  assert.equal(typeof res.json?.error, "string", `${what}: {"error": string} body, got ${res.text}`);
  assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN, `${what}: CORS on the error`);
}

async function mint(key, scopes, expirationTime) {
  const body = { scopes };
  if (expirationTime !== undefined) body.expirationTime = expirationTime;
  const res = await expectStatus(200, "POST", "/api/v1/auth/public-tokens", { token: key, body });
  assert.equal(typeof res.json.token, "string");
  return res.json.token;
}

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
const headerOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString("utf8"));

const createSession = async (key, body, status = 201) =>
  (await expectStatus(status, "POST", "/api/v1/sessions", { token: key, body })).json;
const createRun = async (key, body = { taskIdentifier: "t" }) =>
  (await expectStatus(201, "POST", "/api/v1/runs", { token: key, body })).json;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


/**
 * Opens an SSE GET with fetch. Non-SSE answers resolve to {status, headers, text, json}. SSE
 * answers resolve to {status, headers, sse: true, next(), until(pred), collect(), close(),
 * lastId, records}: `records` accumulates every record of every batch event; `lastId` is the
 * last `id:` seen. Every stream is closed in the end (close() aborts the connection).
 */
async function openSse(path, { token, headers = {}, origin = ORIGIN } = {}) {
  const ac = new AbortController();
  const h = { accept: "text/event-stream", ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (origin) h.origin = origin;
  const res = await fetch(weir.url + path, { headers: h, signal: ac.signal });
  const ct = res.headers.get("content-type") || "";
  if (res.status !== 200 || !ct.startsWith("text/event-stream")) {
    return { ...(await answerOf(res)), sse: false };
  }
  const parser = new SseParser();
  const queue = [];
  let ended = false;
  let waiter = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  const s = {
    status: res.status,
    headers: res.headers,
    sse: true,
    lastId: undefined,
    records: [],
    events: [],
    close() {
      ac.abort();
      openStreams.delete(s);
    },
  };
  openStreams.add(s);
  (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        for (const ev of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (ev.id !== undefined) s.lastId = ev.id;
          if (ev.event === "batch") s.records.push(...JSON.parse(ev.data).records);
          s.events.push(ev);
          queue.push(ev);
        }
        wake();
      }
    } catch {
      // aborted
    }
    ended = true;
    openStreams.delete(s);
    wake();
  })();
  s.next = async (guardMs = 15000) => {
    const deadline = Date.now() + guardMs;
    while (queue.length === 0 && !ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE event within ${guardMs} ms on ${path}`);
      await new Promise((r) => {
        const timer = setTimeout(r, left);
        waiter = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
    return queue.length ? queue.shift() : null;
  };
  /** Reads events until pred(s) holds (checked after each event); throws at the end of stream. */
  s.until = async (pred, what = "condition", guardMs = 15000) => {
    while (!pred(s)) {
      const ev = await s.next(guardMs);
      if (ev === null) throw new Error(`SSE ${path} ended before ${what}; events: ${JSON.stringify(s.events)}`);
    }
  };
  s.collect = async (guardMs = 15000) => {
    for (;;) if ((await s.next(guardMs)) === null) return s.events;
  };
  return s;
}

const isCommand = (r) => Array.isArray(r.headers) && r.headers.length === 1 && r.headers[0][0] === "";
const TURN_COMPLETE = [["trigger-control", "turn-complete"]];
const isTurnComplete = (r) => JSON.stringify(r.headers ?? []) === JSON.stringify(TURN_COMPLETE);

// ---------------------------------------------------------------------------------------------
// 1. The chat flow

for (const kind of ["unprovisioned", "provisioned"]) {
  test(`chat flow, three turns (${kind} org): public-token browser, SDK agent, mid-turn resume, settled peek`, async () => {
    const t = await tenant(kind === "provisioned" ? { plan: "pro" } : {});
    const ext = uniq("chat");

    // The server creates the session and hands out the browser's public token.
    const sess = await createSession(t.key, { externalId: ext });
    const pat = sess.publicAccessToken;
    assert.equal(typeof pat, "string", `publicAccessToken in ${JSON.stringify(sess)}`);
    assert.deepEqual(headerOf(pat).alg, "HS256");
    const c = claimsOf(pat);
    assert.equal(c.sub, t.env.id);
    assert.equal(c.pub, true);
    for (const s of [`read:sessions:${ext}`, `write:sessions:${ext}`, `read:sessions:${sess.id}`, `write:sessions:${sess.id}`]) {
      assert.ok(c.scopes.includes(s), `scope ${s} in ${JSON.stringify(c.scopes)}`);
    }
    assert.ok(Math.abs(c.exp - c.iat - 3600) <= 1, `1 h token: iat ${c.iat} exp ${c.exp}`);
    const again = await createSession(t.key, { externalId: ext }, 200);
    assert.equal(again.id, sess.id);
    assert.equal(typeof again.publicAccessToken, "string", "the 200 answer carries a token too");

    // The agent asks for `.out` write access and writes with the SDK, given only the headers.
    const ch = await putChannel(`/realtime/v1/sessions/${ext}/out`, t.key);
    assert.equal(ch.basin, t.basin);
    assert.equal(ch.stream, `/sessions/${ext}/out`);
    const out = client(ch).basin(ch.basin).stream(ch.stream);
    const written = []; // non-command records the agent wrote: {seq, body, headers}
    const chunk = async (turn, part) => {
      const body = JSON.stringify({ data: `turn ${turn} part ${part}`, id: `c${turn}${part}` });
      const ack = await out.append(AppendInput.create([str(body)]));
      written.push({ seq: ack.start.seqNum, body, headers: [] });
      return ack.start.seqNum;
    };
    const finishTurn = async () => {
      const tc = AppendRecord.string({ body: "", headers: TURN_COMPLETE });
      // trim(0) trims nothing: a command record that readers must skip, without losing data.
      const ack = await out.append(AppendInput.create([tc, AppendRecord.trim(0)]));
      written.push({ seq: ack.start.seqNum, body: "", headers: TURN_COMPLETE });
      return ack.start.seqNum;
    };

    // The browser follows `.out` with the public token only.
    let sse = await openSse(`/realtime/v1/sessions/${ext}/out`, { token: pat, headers: { "timeout-seconds": "30" } });
    assert.equal(sse.status, 200, `browser SSE: ${sse.text}`);
    assert.equal(sse.headers.get("x-stream-version"), "v2");
    assert.equal(sse.headers.get("access-control-allow-origin"), ORIGIN);
    assert.match(sse.headers.get("cache-control") || "", /no-cache/);
    assert.equal(sse.headers.get("x-accel-buffering"), "no");
    const connections = [sse];
    const seenSeq = (seq) => (s) => s.records.some((r) => r.seq_num >= seq);

    const peek = (headers = {}) =>
      openSse(`/realtime/v1/sessions/${ext}/out`, { token: pat, headers: { "x-peek-settled": "1", ...headers } });

    let inCursor; // the agent's last seen `.in` seq
    for (let turn = 1; turn <= 3; turn++) {
      const msg = `user message ${turn} ✓`;
      // Turn 2: the agent is already waiting when the browser sends (the wait route's race).
      let waiting;
      if (turn === 2) {
        waiting = call("POST", `/api/v1/sessions/${ext}/in/wait`, { token: t.key, body: { lastSeqNum: inCursor, timeoutSeconds: 10 } });
        await sleep(100);
      }
      const ap = await call("POST", `/realtime/v1/sessions/${ext}/in/append`, {
        token: pat,
        body: msg,
        headers: { "x-part-id": `u${turn}` },
      });
      assert.equal(ap.status, 200, `browser append, turn ${turn}: ${ap.text}`);
      assert.deepEqual(ap.json, { ok: true, seq: turn - 1 });
      assert.equal(ap.headers.get("access-control-allow-origin"), ORIGIN);

      let rec;
      if (turn === 2) {
        const w = await waiting;
        assert.equal(w.status, 200, `agent wait: ${w.text}`);
        rec = w.json.record;
      } else {
        const q = inCursor === undefined ? "" : `?afterEventId=${inCursor}`;
        const r = await expectStatus(200, "GET", `/realtime/v1/sessions/${ext}/in/records${q}`, { token: t.key });
        assert.equal(r.json.records.length, 1, `one new .in record after ${inCursor}: ${r.text}`);
        rec = r.json.records[0];
      }
      assert.deepEqual(rec, { data: msg, id: `u${turn}`, seqNum: turn - 1 });
      inCursor = rec.seqNum;

      if (turn === 2) {
        // Two chunks, the browser sees them, drops the connection; two more while it is away.
        await chunk(turn, 1);
        const s2 = await chunk(turn, 2);
        await sse.until(seenSeq(s2), "turn 2 part 2");
        const lastId = sse.lastId;
        assert.match(lastId, /^\d+,\d+,\d+$/, "id: seq,count,bytes");
        assert.equal(Number(lastId.split(",")[0]), s2, "the last id names the last record seen");
        sse.close();
        await chunk(turn, 3);
        await chunk(turn, 4);
        sse = await openSse(`/realtime/v1/sessions/${ext}/out`, {
          token: pat,
          headers: { "timeout-seconds": "30", "last-event-id": lastId },
        });
        assert.equal(sse.status, 200, `reconnect: ${sse.text}`);
        connections.push(sse);
      } else {
        for (let part = 1; part <= 4; part++) await chunk(turn, part);
      }
      if (turn === 3) {
        // Mid-turn (the newest non-command record is a chunk): a normal long poll, not settled.
        await sse.until(seenSeq(written.at(-1).seq), "turn 3 part 4");
        const t0 = Date.now();
        const p = await peek({ "timeout-seconds": "1" });
        assert.equal(p.status, 200, p.text);
        assert.equal(p.headers.get("x-session-settled"), null, "not settled mid-turn");
        const evs = await p.collect();
        assert.equal(evs.at(-1).data, "[DONE]");
        assert.ok(Date.now() - t0 >= 900, `mid-turn peek long-polls for Timeout-Seconds (took ${Date.now() - t0} ms)`);
        const ping = evs.find((e) => e.event === "ping");
        assert.ok(ping, `a ping on reaching the tail: ${JSON.stringify(evs.map((e) => e.event ?? e.data))}`);
        assert.equal(JSON.parse(ping.data).tail.seq_num, written.at(-1).seq + 1, "the ping carries the tail");
        p.close();
      }
      const tcSeq = await finishTurn();
      await sse.until(seenSeq(tcSeq), `turn ${turn} complete`);

      // Settled: the newest non-command record is turn-complete (a trim command follows it).
      const t0 = Date.now();
      const p = await peek({ "timeout-seconds": "30" });
      assert.equal(p.status, 200, p.text);
      assert.equal(p.headers.get("x-session-settled"), "true", `settled after turn ${turn}`);
      const evs = await p.collect(10000);
      assert.equal(evs.at(-1).data, "[DONE]");
      assert.ok(Date.now() - t0 < 5000, `a settled peek drains and ends at once (took ${Date.now() - t0} ms)`);
      const peekedTexts = p.records.filter((r) => !isCommand(r));
      assert.equal(peekedTexts.length, written.length, "the settled peek drains the whole channel");
      p.close();
    }
    sse.close();

    // Every record exactly once across the two connections, in order.
    const all = connections.flatMap((s) => s.records);
    const seqs = all.map((r) => r.seq_num);
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `no duplicate or reordered records: ${seqs}`);
    const texts = all.filter((r) => !isCommand(r)).map((r) => ({ seq: r.seq_num, body: r.body ?? "", headers: r.headers ?? [] }));
    assert.deepEqual(texts, written);
    for (const r of all.filter(isCommand)) assert.deepEqual(r.headers, [["", "trim"]], "the only command records are the trims");
    assert.equal(connections[1].records[0].seq_num, Number(connections[0].lastId.split(",")[0]) + 1, "resumed right after the last id");

    // The agent's view of `.out` through /records: commands dropped, envelopes unwrapped.
    const outRecs = (await expectStatus(200, "GET", `/realtime/v1/sessions/${ext}/out/records`, { token: t.key })).json.records;
    assert.deepEqual(
      outRecs,
      written.map((w) =>
        w.headers.length
          ? { data: "", id: "", seqNum: w.seq, headers: TURN_COMPLETE }
          : { data: JSON.parse(w.body).data, id: JSON.parse(w.body).id, seqNum: w.seq },
      ),
    );

    // Where it all landed.
    const stored = await rootRead(t.basin, `${t.prefix}/sessions/${ext}/out`);
    assert.equal(stored.status, 200, `root read .out: ${stored.bodies}`);
    assert.equal(stored.bodies.length, 3 * 6, "4 chunks + turn-complete + trim per turn");
    assert.deepEqual(
      stored.bodies.filter((b) => (b ?? "").startsWith("{")),
      written.filter((w) => w.body).map((w) => w.body),
    );
    const storedIn = await rootRead(t.basin, `${t.prefix}/sessions/${ext}/in`);
    assert.deepEqual(
      storedIn.bodies.map((b) => JSON.parse(b)),
      [1, 2, 3].map((i) => ({ data: `user message ${i} ✓`, id: `u${i}` })),
    );
    if (kind === "provisioned") {
      const elsewhere = await rootRead(SHARED, `org/${t.org.id}/env/dev/${t.env.id}/sessions/${ext}/out`);
      assert.ok(elsewhere.status !== 200 || elsewhere.bodies.length === 0, "nothing in the shared basin");
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 2. No-row race and stamps

test("no-row race: PUT .out before the session exists, then create → one basin, one stream", async () => {
  const t = await tenant({ plan: "pro" });
  const ext = uniq("race");
  const before = await putChannel(`/realtime/v1/sessions/${ext}/out`, t.key);
  assert.equal(before.basin, t.basin, "no row: the org's basin");
  assert.equal(before.stream, `/sessions/${ext}/out`);
  await client(before).basin(before.basin).stream(before.stream).append(AppendInput.create([str("before")]));

  const sess = await createSession(t.key, { externalId: ext });
  assert.equal(sess.streamBasinName, t.basin);
  const afterCh = await putChannel(`/realtime/v1/sessions/${sess.id}/out`, t.key);
  assert.equal(afterCh.basin, before.basin);
  assert.equal(afterCh.stream, before.stream, "by session_ id, named by the externalId");
  await client(afterCh).basin(afterCh.basin).stream(afterCh.stream).append(AppendInput.create([str("after")]));

  assert.deepEqual((await rootRead(t.basin, `${t.prefix}/sessions/${ext}/out`)).bodies, ["before", "after"]);
  // Plain-text bodies (not the {data,id} envelope) come back with empty data and id.
  for (const key of [ext, sess.id]) {
    const r = await expectStatus(200, "GET", `/realtime/v1/sessions/${key}/out/records`, { token: t.key });
    assert.deepEqual(r.json, { records: [{ data: "", id: "", seqNum: 0 }, { data: "", id: "", seqNum: 1 }] }, `by ${key}`);
  }
  // Plain-text records are not turn-complete: a peek is not settled. Nor is an empty channel.
  for (const key of [ext, uniq("empty")]) {
    const p = await openSse(`/realtime/v1/sessions/${key}/out`, { token: t.key, headers: { "x-peek-settled": "1", "timeout-seconds": "1" } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.headers.get("x-session-settled"), null, `${key}: not settled`);
    p.close();
  }
  // No row and no stream yet: empty, not an error.
  const none = await expectStatus(200, "GET", `/realtime/v1/sessions/${uniq("nothing")}/in/records`, { token: t.key });
  assert.deepEqual(none.json, { records: [] });
});

test("stamps: a session created before the org is provisioned keeps the shared basin", async () => {
  const t = await tenant();
  const ext = uniq("old");
  const old = await createSession(t.key, { externalId: ext });
  assert.equal(old.streamBasinName, null);
  await ok("PUT", `/admin/api/v1/orgs/${t.org.id}/plan`, { body: { plan: "pro" } });
  const own = (await ok("GET", `/admin/api/v1/orgs/${t.org.id}`)).json.streamBasinName;
  assert.ok(own && own !== SHARED);
  const sharedPrefix = `org/${t.org.id}/env/dev/${t.env.id}`;
  const ownPrefix = `env/dev/${t.env.id}`;

  const ch = await putChannel(`/realtime/v1/sessions/${ext}/out`, t.key);
  assert.equal(ch.basin, SHARED, "the stamp (none) wins over the org's new basin");
  await client(ch).basin(ch.basin).stream(ch.stream).append(AppendInput.create([str("old-out")]));
  assert.deepEqual((await rootRead(SHARED, `${sharedPrefix}/sessions/${ext}/out`)).bodies, ["old-out"]);
  const ap = await expectStatus(200, "POST", `/realtime/v1/sessions/${ext}/in/append`, { token: t.key, body: "old-in", headers: { "x-part-id": "p" } });
  assert.equal(ap.json.seq, 0);
  assert.deepEqual((await rootRead(SHARED, `${sharedPrefix}/sessions/${ext}/in`)).bodies, ['{"data":"old-in","id":"p"}']);
  const read = await expectStatus(200, "GET", `/realtime/v1/sessions/${old.id}/in/records`, { token: t.key });
  assert.deepEqual(read.json.records, [{ data: "old-in", id: "p", seqNum: 0 }]);

  // New rows and row-less keys use the org's basin from now on.
  const fresh = await createSession(t.key, { externalId: uniq("new") });
  assert.equal(fresh.streamBasinName, own);
  const freshCh = await putChannel(`/realtime/v1/sessions/${fresh.id}/in`, t.key);
  assert.equal(freshCh.basin, own);
  const loose = uniq("loose");
  const looseCh = await putChannel(`/realtime/v1/sessions/${loose}/in`, t.key);
  assert.equal(looseCh.basin, own);
  await client(looseCh).basin(looseCh.basin).stream(looseCh.stream).append(AppendInput.create([str("x")]));
  assert.deepEqual((await rootRead(own, `${ownPrefix}/sessions/${loose}/in`)).bodies, ["x"]);
});

// ---------------------------------------------------------------------------------------------
// 3. wait

test("wait: a record already there at once, one appended while waiting, 408, commands skipped", async () => {
  const t = await tenant();
  const ext = uniq("wait");
  await createSession(t.key, { externalId: ext });
  const W = `/api/v1/sessions/${ext}/in/wait`;
  const append = (text, partId) =>
    call("POST", `/realtime/v1/sessions/${ext}/in/append`, { token: t.key, body: text, headers: partId ? { "x-part-id": partId } : {} });

  assert.equal((await append("first", "f")).json.seq, 0);
  let t0 = Date.now();
  let w = await expectStatus(200, "POST", W, { token: t.key, body: { lastSeqNum: -1, timeoutSeconds: 10 } });
  assert.deepEqual(w.json, { record: { data: "first", id: "f", seqNum: 0 } });
  assert.ok(Date.now() - t0 < 2000, "an existing record is returned at once");
  w = await expectStatus(200, "POST", W, { token: t.key, body: {} });
  assert.equal(w.json.record.seqNum, 0, "lastSeqNum defaults to -1");

  // Appended 200 ms after the wait started.
  t0 = Date.now();
  const pending = call("POST", W, { token: t.key, body: { lastSeqNum: 0, timeoutSeconds: 10 } });
  await sleep(200);
  assert.equal((await append("second", "s")).json.seq, 1);
  w = await pending;
  assert.equal(w.status, 200, w.text);
  assert.deepEqual(w.json, { record: { data: "second", id: "s", seqNum: 1 } });
  assert.ok(Date.now() - t0 < 5000);
  // lastSeqNum before an existing record: that record, at once.
  w = await expectStatus(200, "POST", W, { token: t.key, body: { lastSeqNum: 0, timeoutSeconds: 10 } });
  assert.equal(w.json.record.seqNum, 1);

  // Nothing after lastSeqNum: 408 after timeoutSeconds.
  t0 = Date.now();
  const to = await call("POST", W, { token: t.key, body: { lastSeqNum: 1, timeoutSeconds: 1 } });
  assertError(to, 408, "wait timeout");
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 5000, `408 after ~1 s (took ${took} ms)`);

  // Command records are skipped: trims first, then a text record with a header.
  const ch = await putChannel(`/realtime/v1/sessions/${ext}/out`, t.key);
  const out = client(ch).basin(ch.basin).stream(ch.stream);
  await out.append(AppendInput.create([AppendRecord.trim(0)]));
  const WO = `/api/v1/sessions/${ext}/out/wait`;
  const pendingOut = call("POST", WO, { token: t.key, body: { lastSeqNum: -1, timeoutSeconds: 10 } });
  await sleep(200);
  await out.append(AppendInput.create([AppendRecord.trim(0)]));
  await sleep(200);
  const body = JSON.stringify({ data: "chunk", id: "k1" });
  await out.append(AppendInput.create([AppendRecord.string({ body, headers: [["x-kind", "chunk"]] })]));
  w = await pendingOut;
  assert.equal(w.status, 200, w.text);
  assert.deepEqual(w.json, { record: { data: "chunk", id: "k1", seqNum: 2, headers: [["x-kind", "chunk"]] } });
  // The public token of the session may wait on it too (read scope).
  w = await expectStatus(200, "POST", WO, { token: (await createSession(t.key, { externalId: ext }, 200)).publicAccessToken, body: { lastSeqNum: 1 } });
  assert.equal(w.json.record.seqNum, 2);
});

// ---------------------------------------------------------------------------------------------
// 4. Idempotency and size limits

test("append: X-Part-Id idempotency, random ids, 413 with CORS, the exact 1 MiB boundary", async () => {
  const t = await tenant();
  const ext = uniq("idem");
  await createSession(t.key, { externalId: ext });
  const A = (io) => `/realtime/v1/sessions/${ext}/${io}/append`;
  const a1 = await expectStatus(200, "POST", A("in"), { token: t.key, body: "hello", headers: { "x-part-id": "part-1" } });
  const a2 = await expectStatus(200, "POST", A("in"), { token: t.key, body: "hello", headers: { "x-part-id": "part-1" } });
  assert.deepEqual(a1.json, { ok: true, seq: 0 });
  assert.deepEqual(a2.json, { ok: true, seq: 0 }, "same X-Part-Id: appended once, same seq");
  const a3 = await expectStatus(200, "POST", A("in"), { token: t.key, body: "hello", headers: { "x-part-id": "part-2" } });
  assert.deepEqual(a3.json, { ok: true, seq: 1 });
  // The same id on another channel is another record.
  const o1 = await expectStatus(200, "POST", A("out"), { token: t.key, body: "hello", headers: { "x-part-id": "part-1" } });
  assert.deepEqual(o1.json, { ok: true, seq: 0 });
  // No X-Part-Id: a random id each time.
  const r1 = await expectStatus(200, "POST", A("in"), { token: t.key, body: "anon" });
  const r2 = await expectStatus(200, "POST", A("in"), { token: t.key, body: "anon" });
  assert.deepEqual([r1.json.seq, r2.json.seq], [2, 3]);
  const recs = (await expectStatus(200, "GET", `/realtime/v1/sessions/${ext}/in/records`, { token: t.key })).json.records;
  assert.deepEqual(recs.slice(0, 2), [
    { data: "hello", id: "part-1", seqNum: 0 },
    { data: "hello", id: "part-2", seqNum: 1 },
  ]);
  assert.equal(recs.length, 4);
  for (const r of recs.slice(2)) {
    assert.equal(r.data, "anon");
    assert.ok(typeof r.id === "string" && r.id.length > 0, "a random id");
  }
  assert.notEqual(recs[2].id, recs[3].id);
  // afterEventId filters.
  const after1 = (await expectStatus(200, "GET", `/realtime/v1/sessions/${ext}/in/records?afterEventId=1`, { token: t.key })).json.records;
  assert.deepEqual(after1.map((r) => r.seqNum), [2, 3]);

  // Metered size = 8 + envelope bytes. Exactly 1 MiB passes; one byte more is 413.
  const partId = "boundary";
  const envelopeOverhead = JSON.stringify({ data: "", id: partId }).length; // {"data":"","id":"boundary"}
  const fits = "a".repeat(1048576 - 8 - envelopeOverhead);
  assert.equal(8 + Buffer.byteLength(JSON.stringify({ data: fits, id: partId })), 1048576);
  const big = await call("POST", A("in"), { token: t.key, body: fits, headers: { "x-part-id": partId } });
  assert.equal(big.status, 200, `exactly 1 MiB metered: ${big.text.slice(0, 200)}`);
  assert.equal(big.json.seq, 4);
  const tooBig = await call("POST", A("in"), { token: t.key, body: `${fits}a`, headers: { "x-part-id": `${partId}2` } });
  assertError(tooBig, 413, "1 MiB + 1 metered");
  // Multi-byte text is measured in bytes: 2-byte characters that fit as characters but not as bytes.
  const wide = "é".repeat(600 * 1024);
  assertError(await call("POST", A("in"), { token: t.key, body: wide, headers: { "x-part-id": "wide" } }), 413, "multi-byte body");
  const back = (await expectStatus(200, "GET", `/realtime/v1/sessions/${ext}/in/records?afterEventId=3`, { token: t.key })).json.records;
  assert.equal(back.length, 1, "the 413s appended nothing");
  assert.equal(back[0].data.length, fits.length);
  assert.equal(back[0].id, partId);

  // Concurrent appends with one X-Part-Id: one record, every caller gets its seq.
  const same = await Promise.all([1, 2, 3, 4].map(() => call("POST", A("in"), { token: t.key, body: "racy", headers: { "x-part-id": "racy" } })));
  for (const r of same) assert.equal(r.status, 200, r.text);
  assert.deepEqual(same.map((r) => r.json.seq), [5, 5, 5, 5]);
  const tail = (await expectStatus(200, "GET", `/realtime/v1/sessions/${ext}/in/records?afterEventId=4`, { token: t.key })).json.records;
  assert.deepEqual(tail, [{ data: "racy", id: "racy", seqNum: 5 }]);
});

test("records: at most 1000 per call, paged with afterEventId; no waiting", async () => {
  const t = await tenant();
  const ext = uniq("many");
  const ch = await putChannel(`/realtime/v1/sessions/${ext}/out`, t.key);
  const out = client(ch).basin(ch.basin).stream(ch.stream);
  const env = (i) => str(JSON.stringify({ data: `m${i}`, id: `i${i}` }));
  await out.append(AppendInput.create(Array.from({ length: 1000 }, (_, i) => env(i))));
  await out.append(AppendInput.create([AppendRecord.trim(0), ...Array.from({ length: 5 }, (_, i) => env(1000 + i))]));
  const R = `/realtime/v1/sessions/${ext}/out/records`;
  const t0 = Date.now();
  const first = (await expectStatus(200, "GET", R, { token: t.key })).json.records;
  assert.equal(first.length, 1000);
  assert.deepEqual(first[0], { data: "m0", id: "i0", seqNum: 0 });
  assert.equal(first.at(-1).seqNum, 999);
  const rest = (await expectStatus(200, "GET", `${R}?afterEventId=999`, { token: t.key })).json.records;
  assert.deepEqual(rest.map((r) => [r.seqNum, r.data]), [[1001, "m1000"], [1002, "m1001"], [1003, "m1002"], [1004, "m1003"], [1005, "m1004"]], "the trim (seq 1000) is dropped");
  assert.deepEqual((await expectStatus(200, "GET", `${R}?afterEventId=1005`, { token: t.key })).json, { records: [] });
  assert.ok(Date.now() - t0 < 3000, "no long-poll");
});

// ---------------------------------------------------------------------------------------------
// 5. Run streams

test("run streams: PUT + SDK append, POST append, SSE; input streams; read:runs:<id> scoping", async () => {
  const t = await tenant({ plan: "pro" });
  const run = await createRun(t.key);
  const other = await createRun(t.key);
  const ch = await putChannel(`/realtime/v1/streams/${run.id}/self/chat`, t.key);
  assert.equal(ch.basin, t.basin);
  assert.equal(ch.stream, `/runs/${run.id}/chat`);
  await client(ch).basin(ch.basin).stream(ch.stream).append(AppendInput.create([str("sdk-1")]));
  const A = `/realtime/v1/streams/${run.id}/self/chat/append`;
  const p1 = await expectStatus(200, "POST", A, { token: t.key, body: "post-1", headers: { "x-part-id": "r1" } });
  assert.deepEqual(p1.json, { ok: true, seq: 1 });
  const p2 = await expectStatus(200, "POST", A, { token: t.key, body: "post-1", headers: { "x-part-id": "r1" } });
  assert.deepEqual(p2.json, { ok: true, seq: 1 }, "X-Part-Id: once");
  assert.deepEqual((await rootRead(t.basin, `${t.prefix}/runs/${run.id}/chat`)).bodies, ["sdk-1", '{"data":"post-1","id":"r1"}']);

  const S = `/realtime/v1/streams/${run.id}/chat`;
  let sse = await openSse(S, { token: t.key, headers: { "timeout-seconds": "1" } });
  assert.equal(sse.status, 200, sse.text);
  assert.equal(sse.headers.get("access-control-allow-origin"), ORIGIN);
  let evs = await sse.collect();
  assert.equal(evs.at(-1).data, "[DONE]");
  assert.deepEqual(sse.records.map((r) => [r.seq_num, r.body]), [[0, "sdk-1"], [1, '{"data":"post-1","id":"r1"}']]);
  for (const r of sse.records) assert.equal(typeof r.timestamp, "number");
  sse.close();
  // A Last-Event-ID without leading digits reads from the start.
  sse = await openSse(S, { token: t.key, headers: { "timeout-seconds": "1", "last-event-id": "not-a-seq" } });
  assert.equal(sse.status, 200, sse.text);
  await sse.collect();
  assert.deepEqual(sse.records.map((r) => r.seq_num), [0, 1]);
  sse.close();
  // Resume after seq 0; a record appended while following arrives live.
  sse = await openSse(S, { token: t.key, headers: { "timeout-seconds": "5", "last-event-id": "0" } });
  assert.equal(sse.status, 200, sse.text);
  await sse.until((s) => s.records.length === 1, "the record after 0");
  await expectStatus(200, "POST", A, { token: t.key, body: "live", headers: { "x-part-id": "r2" } });
  await sse.until((s) => s.records.length === 2, "the live record");
  assert.deepEqual(sse.records.map((r) => r.seq_num), [1, 2]);
  sse.close();

  // The Timeout-Seconds deadline restarts after each batch; without the header,
  // WEIR_WAIT_SECONDS (2 here) applies.
  let t0 = Date.now();
  sse = await openSse(S, { token: t.key, headers: { "timeout-seconds": "1", "last-event-id": "2" } });
  assert.equal(sse.status, 200, sse.text);
  await sleep(600);
  await expectStatus(200, "POST", A, { token: t.key, body: "late-1" });
  await sse.until((s) => s.records.length === 1, "late-1");
  await sleep(600);
  await expectStatus(200, "POST", A, { token: t.key, body: "late-2" });
  evs = await sse.collect();
  let took = Date.now() - t0;
  assert.deepEqual(sse.records.map((r) => r.seq_num), [3, 4]);
  assert.equal(evs.at(-1).data, "[DONE]");
  assert.ok(took >= 2000 && took < 6000, `open ~1 s past the last batch, 2.2 s in all (took ${took} ms)`);
  sse.close();
  t0 = Date.now();
  sse = await openSse(S, { token: t.key, headers: { "last-event-id": "4" } });
  assert.equal(sse.status, 200, sse.text);
  evs = await sse.collect();
  took = Date.now() - t0;
  assert.equal(evs.at(-1).data, "[DONE]");
  assert.ok(took >= 1800 && took < 8000, `the default wait is WEIR_WAIT_SECONDS=2 (took ${took} ms)`);
  sse.close();

  // Input stream.
  const I = `/realtime/v1/streams/${run.id}/input/approve`;
  const in1 = await expectStatus(200, "POST", I, { token: t.key, body: { data: { ok: true, n: [1, 2] } } });
  assert.deepEqual(in1.json, { ok: true, seq: 0 });
  const in2 = await expectStatus(200, "POST", I, { token: t.key, body: { data: "plain" } });
  assert.deepEqual(in2.json, { ok: true, seq: 1 });
  const stored = (await rootRead(t.basin, `${t.prefix}/runs/${run.id}/$trigger.input:approve`)).bodies.map((b) => JSON.parse(b));
  assert.deepEqual(stored.map((b) => b.data), [{ ok: true, n: [1, 2] }, "plain"]);
  for (const b of stored) assert.ok(typeof b.id === "string" && b.id.length > 0);
  sse = await openSse(I, { token: t.key, headers: { "timeout-seconds": "1" } });
  assert.equal(sse.status, 200, sse.text);
  await sse.collect();
  assert.deepEqual(sse.records.map((r) => JSON.parse(r.body).data), [{ ok: true, n: [1, 2] }, "plain"]);
  sse.close();

  // Public tokens: read:runs:<id> reads that run only.
  const readOne = await mint(t.key, [`read:runs:${run.id}`]);
  sse = await openSse(S, { token: readOne, headers: { "timeout-seconds": "1" } });
  assert.equal(sse.status, 200, `read:runs:<id> on its run: ${sse.text}`);
  sse.close();
  sse = await openSse(I, { token: readOne, headers: { "timeout-seconds": "1" } });
  assert.equal(sse.status, 200, `read:runs:<id> on its input stream: ${sse.text}`);
  sse.close();
  assertError(await openSse(`/realtime/v1/streams/${other.id}/chat`, { token: readOne, headers: { "timeout-seconds": "1" } }), 403, "read:runs:<id> on another run");
  const readAll = await mint(t.key, ["read:runs"]);
  for (const r of [run, other]) {
    sse = await openSse(`/realtime/v1/streams/${r.id}/chat`, { token: readAll, headers: { "timeout-seconds": "1" } });
    assert.equal(sse.status, 200, `read:runs on ${r.id}: ${sse.text}`);
    sse.close();
  }
  // write:inputStreams:<id> sends input to that run only; no JWT on the writer routes.
  const inTok = await mint(t.key, [`write:inputStreams:${run.id}`]);
  assert.deepEqual((await expectStatus(200, "POST", I, { token: inTok, body: { data: 3 } })).json, { ok: true, seq: 2 });
  assertError(await call("POST", `/realtime/v1/streams/${other.id}/input/approve`, { token: inTok, body: { data: 3 } }), 403, "input to another run");
  assertError(await call("POST", I, { token: readOne, body: { data: 3 } }), 403, "read scope cannot send input");
  const admin = await mint(t.key, ["admin"]);
  assertError(await call("POST", A, { token: admin, body: "x" }), 401, "JWT on run-stream append");
  assertError(await call("PUT", `/realtime/v1/streams/${run.id}/self/chat`, { token: admin }), 401, "JWT on run-stream PUT");

  // Completed: no more writes; reads still work.
  await ok("POST", `/api/v1/runs/${run.id}/complete`, { token: t.key });
  assertError(await call("POST", A, { token: t.key, body: "late" }), 400, "append to a completed run");
  assertError(await call("POST", I, { token: t.key, body: { data: 1 } }), 400, "input to a completed run");
  assertError(await call("PUT", `/realtime/v1/streams/${run.id}/self/chat`, { token: t.key }), 400, "PUT on a completed run");
  sse = await openSse(S, { token: t.key, headers: { "timeout-seconds": "1" } });
  assert.equal(sse.status, 200, `reading a completed run: ${sse.text}`);
  await sse.collect();
  assert.equal(sse.records.length, 5);
  sse.close();
});

// ---------------------------------------------------------------------------------------------
// 6. Public tokens

test("public tokens: claims, expirationTime limits, scopes, super scopes, rotation", async () => {
  const t = await tenant();
  const P = "/api/v1/auth/public-tokens";
  const tok = await mint(t.key, ["read:sessions:abc"], "1h");
  assert.equal(headerOf(tok).alg, "HS256");
  const c = claimsOf(tok);
  assert.equal(c.sub, t.env.id);
  assert.equal(c.pub, true);
  assert.equal(c.iss, "https://id.trigger.dev");
  assert.equal(c.aud, "https://api.trigger.dev");
  assert.deepEqual(c.scopes, ["read:sessions:abc"]);
  assert.equal(c.exp - c.iat, 3600);
  assert.ok(Math.abs(c.iat - Date.now() / 1000) < 60);
  // A string is a duration from now; a number is an absolute time in Unix seconds (as
  // trigger.dev's SDK means it: it turns a Date into one).
  const now = () => Math.floor(Date.now() / 1000);
  for (const [exp, secs] of [[undefined, 900], ["15m", 900], ["1d", 86400], ["2 hours", 7200], ["30d", 30 * 86400]]) {
    const k = claimsOf(await mint(t.key, ["read:all"], exp));
    assert.equal(k.exp - k.iat, secs, `expirationTime ${exp}`);
  }
  for (const ahead of [120, 30 * 86400 - 5]) {
    const at = now() + ahead;
    assert.equal(claimsOf(await mint(t.key, ["read:all"], at)).exp, at, `expirationTime ${at}`);
  }
  for (const exp of [0, -5, 120, now() - 1, now() + 30 * 86400 + 60, "0s", "31d", "abc", "1.5h", "", 1.5, true, {}]) {
    assertError(await call("POST", P, { token: t.key, body: { scopes: ["read:all"], expirationTime: exp } }), 400, `expirationTime ${JSON.stringify(exp)}`);
  }
  for (const scopes of [undefined, "read:all", [], [1], [""], ["a\nb"], ["x".repeat(301)]]) {
    assertError(await call("POST", P, { token: t.key, body: scopes === undefined ? {} : { scopes } }), 400, `scopes ${JSON.stringify(scopes)}`);
  }
  // Scopes weir does not serve are accepted and grant nothing.
  for (const s of ["read:tags:t1", "read:batch:b1", "trigger:tasks:x", "read:session:x", "foo", "READ:ALL", "write:runs:x"]) {
    const k = await mint(t.key, [s]);
    assertError(await call("GET", "/realtime/v1/sessions/abc/in/records", { token: k }), 403, `scope ${s} grants nothing`);
  }
  for (const s of ["admin", "read:all", "write:all", "read:sessions", "write:sessions", "read:runs", "read:runs:run_x", "write:inputStreams", "write:inputStreams:run_x"]) {
    await mint(t.key, [s]);
  }
  assertError(await call("POST", P, { token: t.key, body: "not json", headers: { "content-type": "application/json" } }), 400, "bad JSON");

  // The token works for its scope and nothing else.
  const sessA = await createSession(t.key, { externalId: "abc" });
  await createSession(t.key, { externalId: "xyz" });
  await expectStatus(200, "POST", `/realtime/v1/sessions/abc/in/append`, { token: t.key, body: "m" });
  const rec = await expectStatus(200, "GET", "/realtime/v1/sessions/abc/in/records", { token: tok });
  assert.deepEqual(rec.json.records.map((r) => r.data), ["m"]);
  // The scope names the session; either of its keys in the URL reaches it.
  await expectStatus(200, "GET", `/realtime/v1/sessions/${sessA.id}/in/records`, { token: tok });
  assertError(await call("GET", "/realtime/v1/sessions/xyz/in/records", { token: tok }), 403, "another session");
  assertError(await call("POST", "/realtime/v1/sessions/abc/in/append", { token: tok, body: "m" }), 403, "read scope cannot write");

  // Super scopes.
  const grid = [
    // scope, [read abc, read xyz, write abc.in, read run stream, write input]
    ["read:all", [200, 200, 403, 200, 403]],
    ["write:all", [403, 403, 200, 403, 200]],
    ["admin", [200, 200, 200, 200, 200]],
    ["read:sessions", [200, 200, 403, 403, 403]],
    ["write:sessions", [403, 403, 200, 403, 403]],
    ["write:sessions:abc", [403, 403, 200, 403, 403]],
    ["read:runs", [403, 403, 403, 200, 403]],
    ["write:inputStreams", [403, 403, 403, 403, 200]],
  ];
  const run = await createRun(t.key);
  await expectStatus(200, "POST", `/realtime/v1/streams/${run.id}/self/s/append`, { token: t.key, body: "r" });
  for (const [scope, want] of grid) {
    const k = await mint(t.key, [scope]);
    const got = [
      (await call("GET", "/realtime/v1/sessions/abc/in/records", { token: k })).status,
      (await call("GET", "/realtime/v1/sessions/xyz/in/records", { token: k })).status,
      (await call("POST", "/realtime/v1/sessions/abc/in/append", { token: k, body: "w" })).status,
    ];
    const s = await openSse(`/realtime/v1/streams/${run.id}/s`, { token: k, headers: { "timeout-seconds": "1" } });
    got.push(s.status);
    if (s.sse) s.close();
    got.push((await call("POST", `/realtime/v1/streams/${run.id}/input/i`, { token: k, body: { data: 1 } })).status);
    assert.deepEqual(got, want, `scope ${scope}`);
  }

  // Rotation: the old key and every token minted with it stop working.
  const before = await mint(t.key, ["admin"]);
  await expectStatus(200, "GET", "/realtime/v1/sessions/abc/in/records", { token: before });
  const rotated = (await ok("POST", `/admin/api/v1/environments/${t.env.id}/rotate-key`)).json.apiKey;
  assertError(await call("GET", "/realtime/v1/sessions/abc/in/records", { token: before }), 401, "token minted before rotation");
  assertError(await call("GET", "/realtime/v1/sessions/abc/in/records", { token: tok }), 401, "token minted before rotation");
  assertError(await call("GET", "/realtime/v1/sessions/abc/in/records", { token: t.key }), 401, "the old key");
  const fresh = await mint(rotated, ["read:sessions:abc"]);
  await expectStatus(200, "GET", "/realtime/v1/sessions/abc/in/records", { token: fresh });

  // Expiry.
  const short = await mint(rotated, ["read:sessions:abc"], "1s");
  await expectStatus(200, "GET", "/realtime/v1/sessions/abc/in/records", { token: short });
  await sleep(2100);
  assertError(await call("GET", "/realtime/v1/sessions/abc/in/records", { token: short }), 401, "expired token");
});
