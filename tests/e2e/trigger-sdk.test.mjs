// trigger-sdk.test.mjs — weir served to trigger.dev's published SDK (@trigger.dev/sdk and
// @trigger.dev/core 4.8.3, pinned in package.json) as its only client, for a free organization
// (shared basin) and a paid one (own basin):
// 1. sessions.start / retrieve (by id and externalId) / list (for-await over several cursor
//    pages, `before` cursors, type/status/tag/externalId/createdAt filters) / update (tags, metadata incl. null, externalId incl. null) / close: every
//    answer passes the SDK's zod schemas and the values round-trip; a second start with the same
//    externalId is cached; a start after close fails with ConflictError at once (no retries);
// 2. public tokens: auth.createPublicToken signs locally after /api/v1/auth/jwt/claims (weir's
//    `sk_…` keys are root-style keys to the SDK); such a token reads its session's channels
//    (records and SSE) and gets 403 on another session; expirationTime as a duration, as a Date
//    (and a past Date → 401), as epoch seconds; chat.createWatchToken reads but cannot write; unknown scopes (read:tags, trigger:tasks) do not spoil a token; a
//    write scope appends with the SDK; a token from weir's POST /api/v1/auth/public-tokens
//    behaves the same;
// 3. side channels: channel("side").in.send → read back over SSE (ApiClient.subscribeToSessionStream,
//    what useSessionStreamChannel does) and /records; channel("side").out via the S2 writer and
//    .out.read(); `from: "latest"` skips history, for a session channel and for a run stream
//    (streams.pipe through the SDK's StandardRealtimeStreamsManager, streams.read);
// 4. closed sessions: in.send (default and side channel) → ConflictError session_closed at once;
// 5. run-engine routes (runs.retrieve, tasks.trigger, wait.createToken, runs.subscribeToRun) fail
//    loudly and at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  auth,
  sessions,
  streams,
  runs,
  tasks,
  wait,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  AuthenticationError,
} from "@trigger.dev/sdk";
import { ApiClient, isAdditionalApiKey, isRunToken } from "@trigger.dev/core/v3";
import { chat } from "@trigger.dev/sdk/ai";
import { startWeir } from "./harness.mjs";
import { realtimeHelpers } from "./realtime-helpers.mjs";
import { SHARED, WEIR_ENV, PLANS, rec, as, jwtHeader, jwtClaims, readN, timed, installRunStreamsManager } from "./trigger-helpers.mjs";

let weir;
before(async () => {
  weir = await startWeir({ env: WEIR_ENV });
});
after(async () => {
  await weir?.stop();
});
const { ok, uniq, tenant } = realtimeHelpers(() => weir);

installRunStreamsManager();

const isPath = (prefix, method) => (e) => e.path.split("?")[0] === prefix && (!method || e.method === method);
const PROMPT_MS = 4000; // zodfetch's five attempts take ≈9.3 s; one attempt is far below this

/** Asserts `r` (from timed()) failed with `cls` / status at once, with one request since mark. */
function assertPromptFailure(r, { cls, status, mark, path, what }) {
  assert.equal(r.ok, false, `${what}: expected a failure, got ${JSON.stringify(r.value)}`);
  if (cls) assert.ok(r.error instanceof cls, `${what}: ${r.error?.constructor?.name}: ${r.error}`);
  if (status !== undefined) assert.equal(r.error.status, status, `${what}: ${r.error}`);
  assert.ok(r.ms < PROMPT_MS, `${what}: failed after ${r.ms} ms (retried?)`);
  if (path) {
    const n = rec.since(mark, (e) => e.path.split("?")[0] === path).length;
    assert.equal(n, 1, `${what}: ${n} requests to ${path}, expected 1 (no retries)`);
  }
}

const startBody = (externalId, extra = {}) => ({
  type: "chat.agent",
  externalId,
  taskIdentifier: "my-chat",
  triggerConfig: { basePayload: { messages: [], trigger: "preload", chatId: externalId }, tags: [`chat:${externalId}`] },
  ...extra,
});

for (const { label, plan } of PLANS) {
  // -------------------------------------------------------------------------------------------
  test(`sessions API through the SDK (${label}): start, retrieve, list pages, update, close`, async () => {
    const t = await tenant({ plan });
    await as(weir, t, async () => {
      const ext = uniq("sess");
      const expiresAt = new Date(Date.now() + 24 * 3600 * 1000);
      const s = await sessions.start(startBody(ext, { tags: ["alpha", "beta"], metadata: { user: "u1", n: 1 }, expiresAt }));
      assert.match(s.id, /^session_/);
      assert.equal(s.externalId, ext);
      assert.equal(s.type, "chat.agent");
      assert.equal(s.taskIdentifier, "my-chat");
      assert.deepEqual(s.tags, ["alpha", "beta"]);
      assert.deepEqual(s.metadata, { user: "u1", n: 1 });
      assert.deepEqual(s.triggerConfig, startBody(ext).triggerConfig);
      assert.equal(s.closedAt, null);
      assert.equal(s.closedReason, null);
      assert.equal(s.expiresAt?.getTime(), expiresAt.getTime());
      assert.ok(s.createdAt instanceof Date && s.updatedAt instanceof Date, "dates coerced by the schema");
      assert.equal(s.isCached, false);
      assert.match(s.runId, /^run_/);
      assert.equal(s.currentRunId, s.runId);
      assert.equal(typeof s.publicAccessToken, "string");

      const again = await sessions.start(startBody(ext));
      assert.equal(again.isCached, true, "same externalId → the cached session");
      assert.equal(again.id, s.id);
      assert.equal(again.runId, s.runId);

      const strip = ({ runId, publicAccessToken, isCached, pendingVersion, ...item }) => item;
      assert.deepEqual(await sessions.retrieve(s.id), strip(s), "retrieve by id");
      assert.deepEqual(await sessions.retrieve(ext), strip(s), "retrieve by externalId");

      // update: tags, metadata, externalId (new value, then null)
      const ext2 = `${ext}-renamed`;
      const u1 = await sessions.update(s.id, { tags: ["gamma"], metadata: { n: 2, nested: { ok: true } }, externalId: ext2 });
      assert.deepEqual(u1.tags, ["gamma"]);
      assert.deepEqual(u1.metadata, { n: 2, nested: { ok: true } });
      assert.equal(u1.externalId, ext2);
      assert.ok(u1.updatedAt >= s.updatedAt);
      assert.deepEqual(await sessions.retrieve(ext2), u1);
      let mark = rec.mark();
      const gone = await timed(() => sessions.retrieve(ext));
      assertPromptFailure(gone, { cls: NotFoundError, status: 404, mark, path: `/api/v1/sessions/${ext}`, what: "old externalId" });
      const u2 = await sessions.update(ext2, { metadata: null, externalId: null });
      assert.equal(u2.metadata, null);
      assert.equal(u2.externalId, null);
      assert.deepEqual(u2.tags, ["gamma"], "tags untouched when absent");
      assert.deepEqual(await sessions.retrieve(s.id), u2);
      const u3 = await sessions.update(s.id, { externalId: ext });
      assert.equal(u3.externalId, ext, "an externalId can be given back");

      // close
      const closed = await sessions.close(ext, { reason: "finished" });
      assert.ok(closed.closedAt instanceof Date);
      assert.equal(closed.closedReason, "finished");
      assert.deepEqual(await sessions.retrieve(s.id), closed);
      const closedTwice = await sessions.close(s.id, { reason: "other" });
      assert.equal(closedTwice.closedReason, "finished", "close is write-once");

      // start after close: 409 at once, not five attempts over ~9 s
      mark = rec.mark();
      const restart = await timed(() => sessions.start(startBody(ext)));
      assertPromptFailure(restart, { cls: ConflictError, status: 409, mark, path: "/api/v1/sessions", what: "start after close" });
    });
  });

  // -------------------------------------------------------------------------------------------
  test(`sessions.list through the SDK (${label}): several cursor pages with for-await, filters`, async () => {
    const t = await tenant({ plan });
    await as(weir, t, async () => {
      const tag = uniq("batch");
      const made = [];
      for (let i = 0; i < 7; i++) {
        made.push(await sessions.start(startBody(uniq("list"), { tags: [tag, `n${i}`], type: i < 5 ? "chat.agent" : "other.kind" })));
      }
      await sessions.close(made[0].id, { reason: "done" });
      const other = await sessions.start(startBody(uniq("untagged")));

      let mark = rec.mark();
      const seen = [];
      for await (const item of sessions.list({ tag, limit: 3 })) seen.push(item);
      const pages = rec.since(mark, isPath("/api/v1/sessions", "GET"));
      assert.equal(pages.length, 3, `7 items at 3 a page: ${pages.map((e) => e.path).join(" ")}`);
      assert.ok(pages.every((e) => e.status === 200));
      assert.ok(pages[0].path.includes("page%5Bsize%5D=3") || pages[0].path.includes("page[size]=3"), pages[0].path);
      assert.ok(pages.slice(1).every((e) => /page(%5B|\[)after(%5D|\])=/.test(e.path)), "later pages follow pagination.next");
      assert.deepEqual(new Set(seen.map((x) => x.id)), new Set(made.map((x) => x.id)), "each tagged session once");
      assert.equal(seen.length, 7, "no duplicates across pages");
      assert.ok(!seen.some((x) => x.id === other.id), "the tag filter applies");
      for (const item of seen) {
        assert.equal(typeof item.createdAt.getTime(), "number");
        assert.ok(item.tags.includes(tag));
      }

      // The page object itself.
      const first = await sessions.list({ tag, limit: 4 });
      assert.equal(first.data.length, 4);
      assert.equal(first.hasNextPage(), true);
      const second = await first.getNextPage();
      assert.equal(second.data.length, 3);
      assert.equal(second.hasNextPage(), false);
      assert.equal(new Set([...first.data, ...second.data].map((x) => x.id)).size, 7);
      // `before` a page's `previous` cursor gives the page before it. (CursorPage.getPreviousPage()
      // on a page reached with getNextPage() sends page[after] and page[before] together, which
      // the API refuses with 400 — upstream's schema too — so the cursor is passed explicitly.)
      assert.equal(typeof second.pagination.previous, "string");
      const back = await sessions.list({ tag, limit: 4, before: second.pagination.previous });
      assert.deepEqual(back.data.map((x) => x.id), first.data.map((x) => x.id));

      // Filters: type, status, externalId.
      const kinds = [];
      for await (const item of sessions.list({ tag, type: "other.kind", limit: 1 })) kinds.push(item.id);
      assert.deepEqual(new Set(kinds), new Set(made.slice(5).map((x) => x.id)));
      const closedOnes = [];
      for await (const item of sessions.list({ tag, status: "CLOSED" })) closedOnes.push(item.id);
      assert.deepEqual(closedOnes, [made[0].id]);
      const active = [];
      for await (const item of sessions.list({ tag, status: "ACTIVE", limit: 2 })) active.push(item.id);
      assert.equal(active.length, 6);
      const inPeriod = [];
      for await (const item of sessions.list({ tag, period: "1h", limit: 5 })) inPeriod.push(item.id);
      assert.equal(inPeriod.length, 7, "period 1h");
      const inRange = [];
      for await (const item of sessions.list({ tag, from: new Date(Date.now() - 3600_000), to: new Date(Date.now() + 60_000) })) inRange.push(item.id);
      assert.equal(inRange.length, 7, "from/to around now");
      const future = await sessions.list({ tag, from: new Date(Date.now() + 3600_000) });
      assert.deepEqual(future.data, [], "from in the future");
      const byExt = [];
      for await (const item of sessions.list({ externalId: made[3].externalId })) byExt.push(item.id);
      assert.deepEqual(byExt, [made[3].id]);
    });
  });

  // -------------------------------------------------------------------------------------------
  test(`public tokens with the SDK (${label}): local signing, scopes, expiry forms, weir-minted`, async () => {
    const t = await tenant({ plan });
    const extA = uniq("tokA");
    const extB = uniq("tokB");
    const { a, b } = await as(weir, t, async () => {
      const a = await sessions.start(startBody(extA));
      const b = await sessions.start(startBody(extB));
      await sessions.open(extA).in.send({ kind: "message", n: 1 });
      await sessions.open(extB).in.send({ kind: "message", n: 2 });
      await sessions.open(extA).out.append({ type: "text-delta", delta: "for A" });
      await sessions.open(extB).out.append({ type: "text-delta", delta: "for B" });
      return { a, b };
    });

    // weir's environment keys are not "additional keys" (tr_<env>_sk_…) nor run tokens to the
    // SDK, so it signs public tokens itself: one claims request, no server minting.
    assert.match(t.key, /^sk_/);
    assert.equal(isAdditionalApiKey(t.key), false);
    assert.equal(isRunToken(t.key), false);
    let mark = rec.mark();
    const readA = await as(weir, t, () => auth.createPublicToken({ scopes: { read: { sessions: extA } }, expirationTime: "1h" }));
    const calls = rec.since(mark);
    assert.deepEqual(calls.map((e) => `${e.method} ${e.path} ${e.status}`), ["POST /api/v1/auth/jwt/claims 200"], "signed locally");
    assert.deepEqual(jwtHeader(readA), { alg: "HS256" });
    const c = jwtClaims(readA);
    assert.equal(c.sub, t.env.id);
    assert.equal(c.pub, true);
    assert.equal(c.iss, "https://id.trigger.dev");
    assert.equal(c.aud, "https://api.trigger.dev");
    assert.deepEqual(c.scopes, [`read:sessions:${extA}`]);
    assert.equal(c.exp - c.iat, 3600);

    /** What a browser holding `token` can do, through the SDK's ApiClient (as the React hooks). */
    async function canRead(token, ext, expectIn, expectOut) {
      const client = new ApiClient(weir.url, token);
      const { records } = await client.readSessionStreamRecords(ext, "in");
      assert.deepEqual(records.map((r) => JSON.parse(r.data)), [expectIn], `records of ${ext}/in`);
      assert.deepEqual(records.map((r) => r.seqNum), [0]);
      const ac = new AbortController();
      const out = await client.subscribeToSessionStream(ext, "out", { signal: ac.signal, timeoutInSeconds: 30 });
      assert.deepEqual(await readN(out, 1, ac), [expectOut], `SSE of ${ext}/out`);
    }
    async function refused(token, ext, status, cls) {
      const client = new ApiClient(weir.url, token);
      const mark = rec.mark();
      const r = await timed(() => client.readSessionStreamRecords(ext, "in"));
      assertPromptFailure(r, { cls, status, mark, path: `/realtime/v1/sessions/${ext}/in/records`, what: `records of ${ext}` });
      const ac = new AbortController();
      const sse = await timed(async () => {
        const out = await client.subscribeToSessionStream(ext, "out", { signal: ac.signal, timeoutInSeconds: 30 });
        return readN(out, 1, ac);
      });
      assert.equal(sse.ok, false, `SSE of ${ext} must be refused`);
      assert.equal(sse.error.status, status, String(sse.error));
      assert.ok(sse.ms < PROMPT_MS, `SSE refusal is terminal (${sse.ms} ms)`);
    }
    const inA = { kind: "message", n: 1 };
    const outA = { type: "text-delta", delta: "for A" };
    await canRead(readA, extA, inA, outA);
    await refused(readA, extB, 403, PermissionDeniedError);

    // A scope naming the session_… id also covers its externalId URL, and vice versa.
    const byId = await as(weir, t, () => auth.createPublicToken({ scopes: { read: { sessions: a.id } } }));
    assert.equal(jwtClaims(byId).exp - jwtClaims(byId).iat, 900, "default 15m");
    await canRead(byId, extA, inA, outA);
    await canRead(readA, a.id, inA, outA);
    await refused(byId, b.id, 403, PermissionDeniedError);

    // expirationTime as a Date; a Date in the past → 401.
    const until = new Date(Date.now() + 2 * 3600 * 1000);
    const dated = await as(weir, t, () => auth.createPublicToken({ scopes: { read: { sessions: [extA, extB] } }, expirationTime: until }));
    assert.equal(jwtClaims(dated).exp, Math.floor(until.getTime() / 1000));
    await canRead(dated, extA, inA, outA);
    await canRead(dated, extB, { kind: "message", n: 2 }, { type: "text-delta", delta: "for B" });
    const expired = await as(weir, t, () => auth.createPublicToken({ scopes: { read: { sessions: extA } }, expirationTime: new Date(Date.now() - 60_000) }));
    await refused(expired, extA, 401, AuthenticationError);

    // expirationTime as epoch seconds.
    const at = Math.floor(Date.now() / 1000) + 120;
    const numeric = await as(weir, t, () => auth.createPublicToken({ scopes: { read: { sessions: extA } }, expirationTime: at }));
    assert.equal(jwtClaims(numeric).exp, at);
    await canRead(numeric, extA, inA, outA);

    // chat.createWatchToken: read-only for one chat (default 1h).
    const watch = await as(weir, t, () => chat.createWatchToken(extA));
    assert.deepEqual(jwtClaims(watch).scopes, [`read:sessions:${extA}`]);
    assert.equal(jwtClaims(watch).exp - jwtClaims(watch).iat, 3600);
    await canRead(watch, extA, inA, outA);
    await auth.withAuth({ baseURL: weir.url, accessToken: watch }, async () => {
      const m = rec.mark();
      const r = await timed(() => sessions.open(extA).in.send("a watcher cannot write"));
      assertPromptFailure(r, { cls: PermissionDeniedError, status: 403, mark: m, path: `/realtime/v1/sessions/${extA}/in/append`, what: "watch token append" });
    });

    // Unknown scopes travel along and grant nothing, but do not spoil the token.
    const mixed = await as(weir, t, () =>
      auth.createPublicToken({ scopes: { read: { sessions: extA, tags: "x" }, trigger: { tasks: "x" } }, expirationTime: "10m" }),
    );
    assert.deepEqual(jwtClaims(mixed).scopes, [`read:sessions:${extA}`, "read:tags:x", "trigger:tasks:x"]);
    await canRead(mixed, extA, inA, outA);
    await refused(mixed, extB, 403, PermissionDeniedError);
    const onlyUnknown = await as(weir, t, () => auth.createPublicToken({ scopes: { read: { tags: "x" }, trigger: { tasks: "x" } } }));
    await refused(onlyUnknown, extA, 403, PermissionDeniedError);

    // weir's own minting route gives a token that behaves the same.
    const minted = await ok("POST", "/api/v1/auth/public-tokens", { token: t.key, body: { scopes: [`read:sessions:${extA}`], expirationTime: "10m" } });
    const wtok = minted.json.token;
    assert.equal(jwtClaims(wtok).sub, t.env.id);
    assert.equal(jwtClaims(wtok).exp - jwtClaims(wtok).iat, 600);
    await canRead(wtok, extA, inA, outA);
    await refused(wtok, extB, 403, PermissionDeniedError);

    // A write scope: the SDK's in.send with the public token; refused on the other session.
    const writeA = await as(weir, t, () => auth.createPublicToken({ scopes: { write: { sessions: extA } }, expirationTime: "10m" }));
    await auth.withAuth({ baseURL: weir.url, accessToken: writeA }, async () => {
      await sessions.open(extA).in.send("from the browser");
      mark = rec.mark();
      const r = await timed(() => sessions.open(extB).in.send("not mine"));
      assertPromptFailure(r, { cls: PermissionDeniedError, status: 403, mark, path: `/realtime/v1/sessions/${extB}/in/append`, what: "append to B" });
    });
    const { records } = await new ApiClient(weir.url, t.key).readSessionStreamRecords(extA, "in", { afterEventId: "0" });
    assert.deepEqual(records.map((r) => r.data), ["from the browser"]);
  });

  // -------------------------------------------------------------------------------------------
  test(`side channels and from:"latest" with the SDK (${label})`, async () => {
    const t = await tenant({ plan });
    const ext = uniq("side");
    const key = new ApiClient(weir.url, t.key);
    await as(weir, t, async () => {
      await sessions.start(startBody(ext));
      const side = sessions.open(ext).channel("side");
      await side.in.send({ x: 1 });
      await side.in.send("plain text");

      // Read back: SSE (useSessionStreamChannel's call) and /records.
      let ac = new AbortController();
      let sub = await key.subscribeToSessionStream(ext, "in", { channel: "side", signal: ac.signal, timeoutInSeconds: 30 });
      assert.deepEqual(await readN(sub, 2, ac), ['{"x":1}', "plain text"], ".in records carry the body as sent");
      const recs = await key.readSessionStreamRecords(ext, "in", { channel: "side" });
      assert.deepEqual(recs.records.map((r) => [r.seqNum, r.data]), [[0, '{"x":1}'], [1, "plain text"]]);
      assert.deepEqual((await key.readSessionStreamRecords(ext, "in")).records, [], "the default .in is another stream");

      // The side channel's .out through the SDK's S2 writer, read with .out.read().
      await side.out.append({ k: "side-out" });
      ac = new AbortController();
      const outRead = await side.out.read({ signal: ac.signal, timeoutInSeconds: 30 });
      assert.deepEqual(await readN(outRead, 1, ac), [{ k: "side-out" }]);

      // from: "latest" starts at the tail: history is skipped, later records arrive.
      ac = new AbortController();
      const mark = rec.mark();
      sub = await key.subscribeToSessionStream(ext, "in", { channel: "side", from: "latest", signal: ac.signal, timeoutInSeconds: 30 });
      const head = await rec.waitFor(mark, (e) => e.method === "GET" && e.path === `/realtime/v1/sessions/${ext}/channels/side/in`, "the latest subscription");
      assert.equal(head.status, 200);
      assert.equal(head.reqHeaders["x-trigger-stream-start"], "latest");
      await side.in.send("after subscribing");
      assert.deepEqual(await readN(sub, 1, ac), ["after subscribing"]);

      // The same for a run stream, written with streams.pipe (v2: S2 writer) and read with streams.read.
      const run = (await ok("POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "my-task" } }, 201)).json;
      async function* gen(from, to) {
        for (let i = from; i < to; i++) yield { i };
      }
      const w1 = streams.pipe("progress", gen(0, 3), { target: run.id });
      assert.deepEqual(await w1.waitUntilComplete(), { lastEventId: "2" });
      const all = await streams.read(run.id, "progress", { timeoutInSeconds: 1 });
      const allChunks = [];
      for await (const c of all) allChunks.push(c);
      assert.deepEqual(allChunks, [{ i: 0 }, { i: 1 }, { i: 2 }], "streams.read from the start (ends after Timeout-Seconds)");
      const m2 = rec.mark();
      ac = new AbortController();
      const latest = await streams.read(run.id, "progress", { from: "latest", signal: ac.signal, timeoutInSeconds: 30 });
      await rec.waitFor(m2, (e) => e.method === "GET" && e.path === `/realtime/v1/streams/${run.id}/progress`, "the latest run-stream read");
      const w2 = streams.pipe("progress", gen(3, 5), { target: run.id });
      await w2.waitUntilComplete();
      assert.deepEqual(await readN(latest, 2, ac), [{ i: 3 }, { i: 4 }], "from latest: only the new chunks");
    });
  });

  // -------------------------------------------------------------------------------------------
  test(`closed sessions with the SDK (${label}): in.send → ConflictError session_closed at once`, async () => {
    const t = await tenant({ plan });
    const ext = uniq("closed");
    await as(weir, t, async () => {
      await sessions.start(startBody(ext));
      await sessions.open(ext).in.send("before close");
      await sessions.close(ext, { reason: "bye" });
      for (const [what, ch, path] of [
        ["in.send", sessions.open(ext).in, `/realtime/v1/sessions/${ext}/in/append`],
        ["side channel in.send", sessions.open(ext).channel("side").in, `/realtime/v1/sessions/${ext}/channels/side/in/append`],
      ]) {
        const mark = rec.mark();
        const r = await timed(() => ch.send({ kind: "message" }));
        assertPromptFailure(r, { cls: ConflictError, status: 409, mark, path, what });
        assert.equal(r.error.code, "session_closed", `${what}: code`);
        assert.equal(r.error.body?.closedReason, "bye", `${what}: closedReason in ${JSON.stringify(r.error.body)}`);
        assert.equal(r.error.headers?.["x-should-retry"], "false");
      }
      // Closed sessions stay readable.
      const { records } = await new ApiClient(weir.url, t.key).readSessionStreamRecords(ext, "in");
      assert.deepEqual(records.map((r) => r.data), ["before close"]);
    });
  });
}

// ---------------------------------------------------------------------------------------------
test("run-engine routes through the SDK fail loudly and at once", async () => {
  const t = await tenant({});
  const run = (await ok("POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "my-task" } }, 201)).json;
  await as(weir, t, async () => {
    const cases = [
      ["runs.retrieve", () => runs.retrieve(run.id), `/api/v3/runs/${run.id}`],
      ["tasks.trigger", () => tasks.trigger("my-task", { hello: 1 }), "/api/v1/tasks/my-task/trigger"],
      ["wait.createToken", () => wait.createToken({ timeout: "1h" }), "/api/v1/waitpoints/tokens"],
      ["runs.cancel", () => runs.cancel(run.id), `/api/v2/runs/${run.id}/cancel`],
    ];
    for (const [what, fn, path] of cases) {
      const mark = rec.mark();
      const r = await timed(fn);
      assertPromptFailure(r, { mark, path, what });
      assert.equal(r.error.status, 501, `${what}: ${r.error}`);
      assert.equal(typeof r.error.message, "string");
      assert.ok(r.error.message.length > 0);
    }
    // Realtime run subscriptions (ElectricSQL shapes) are refused with a terminal 410. The SDK's
    // runs.subscribeToRun wires no error callback (its iterator just stops being fed on a terminal
    // error), so this goes through ApiClient.subscribeToRun with onFetchError, as the hooks do.
    const client = new ApiClient(weir.url, t.key);
    const ac = new AbortController();
    const mark = rec.mark();
    const t0 = Date.now();
    const failed = new Promise((resolve) => {
      const sub = client.subscribeToRun(run.id, { signal: ac.signal, onFetchError: resolve });
      (async () => {
        try {
          for await (const _ of sub) break;
        } catch {
          // aborted below
        }
      })();
    });
    const err = await failed;
    const ms = Date.now() - t0;
    ac.abort();
    assert.equal(err.status, 410, String(err));
    assert.ok(ms < PROMPT_MS, `subscribeToRun gave up at once (${ms} ms)`);
    const hits = rec.since(mark, (e) => e.path.startsWith(`/realtime/v1/runs/${run.id}`));
    assert.deepEqual(hits.map((e) => e.status), [410], "one request, not retried");
  });
});
