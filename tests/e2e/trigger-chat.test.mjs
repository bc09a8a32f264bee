// trigger-chat.test.mjs — trigger.dev's chat transport (TriggerChatTransport from
// @trigger.dev/sdk/chat 4.8.3), driven from Node exactly as a browser app drives it, against weir,
// for a free organization (shared basin) and a paid one (own basin). The agent side is played
// with the SDK too (trigger-helpers.mjs startAgent): it tails `.in` over SSE with the secret key
// and writes `.out` through the SDK's own session writer — PUT …/out → X-S2-* → s2s over h2c
// to weir's /v1 — then a turn-complete control record.
//
// Per organization, one chat:
// 1. turn 1: startSession = chat.createStartSessionAction(task, {tokenTTL}) → a locally signed
//    token (claims fetched from /api/v1/auth/jwt/claims, no public-tokens call); the message
//    lands on `.in` as the transport's wire payload; the transport's stream yields exactly the
//    agent's chunks (and `ai`'s readUIMessageStream builds the answer from them) and ends at
//    turn-complete; the records live in the organization's basin under its prefix;
// 2. turn 2 with an expired token: the append gets 401, the transport calls accessToken() once
//    and carries on with the fresh token;
// 3. a "page reload": a new transport hydrated with the cursor after turn 1 and an expired token
//    reconnects (reconnectToStream, X-Peek-Settled: 1): 401 → accessToken() → turn 2's chunks,
//    answered with X-Session-Settled: true; at the end cursor it ends at once (settled);
// 4. AgentChat (the server-side client, secret key) runs a third turn on the same session;
// 5. the session is closed: the next send gets 409 session_closed at once, the transport marks
//    the session closed (getSession().closed, closedReason, a session-closed event), later sends
//    fail locally and reconnectToStream answers null.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { TriggerChatTransport, AgentChat } from "@trigger.dev/sdk/chat";
import { chat } from "@trigger.dev/sdk/ai";
import { auth, sessions } from "@trigger.dev/sdk";
import { readUIMessageStream } from "ai";
import { startWeir, s2Of } from "./harness.mjs";
import { realtimeHelpers } from "./realtime-helpers.mjs";
import { SHARED, WEIR_ENV, PLANS, rec, as, jwtHeader, jwtClaims, drain, startAgent, timed } from "./trigger-helpers.mjs";

let weir;
before(async () => {
  weir = await startWeir({ env: WEIR_ENV });
});
after(async () => {
  await weir?.stop();
});
const { uniq, tenant, rootRead } = realtimeHelpers(() => weir);

const TASK = "my-chat";
const userMsg = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });
const textOf = (m) => m.parts.filter((p) => p.type === "text").map((p) => p.text).join("");
const isPath = (suffix, method) => (e) => e.path.split("?")[0].endsWith(suffix) && (!method || e.method === method);

/** A token for the chat, signed locally by the SDK (auth.createPublicToken). */
const chatToken = (t, chatId, expirationTime) =>
  as(weir, t, () => auth.createPublicToken({ scopes: { read: { sessions: chatId }, write: { sessions: chatId } }, expirationTime }));

for (const { label, plan } of PLANS) {
  test(`chat transport (${label}): two turns, token refresh, reload with settled peek, AgentChat, closed session`, async () => {
    const t = await tenant({ plan });
    const chatId = uniq("chat");
    const agent = startAgent(weir, t, chatId);
    try {
      const startAction = chat.createStartSessionAction(TASK, { tokenTTL: "1h", apiClient: { baseURL: weir.url, accessToken: t.key } });
      let started;
      const refreshes = [];
      const events = [];
      const transport = new TriggerChatTransport({
        task: TASK,
        baseURL: weir.url,
        streamTimeoutSeconds: 30,
        startSession: async (params) => {
          started = await startAction(params);
          return started;
        },
        accessToken: async ({ chatId: id }) => {
          refreshes.push(id);
          return chatToken(t, id, "10m");
        },
        onEvent: (e) => events.push(e),
      });

      // ---- Turn 1 ----------------------------------------------------------------------
      let mark = rec.mark();
      const s1 = await transport.sendMessages({
        trigger: "submit-message",
        chatId,
        messageId: undefined,
        messages: [userMsg("u1", "hello weir")],
        abortSignal: undefined,
        body: { extra: 1 },
        metadata: { userId: "user-1" },
      });
      const [forChunks, forUi] = s1.tee();
      const [chunks1, assistant1] = await Promise.all([
        drain(forChunks),
        (async () => {
          let last;
          for await (const m of readUIMessageStream({ stream: forUi })) last = m;
          return last;
        })(),
      ]);
      await agent.answered(1); // its control write may still be acknowledging when the reader saw it
      assert.equal(agent.turns.length, 1, "the agent answered once");
      assert.deepEqual(chunks1, agent.turns[0].chunks, "the transport yields exactly the agent's chunks");
      assert.equal(assistant1.role, "assistant");
      assert.equal(textOf(assistant1), "echo 1: hello weir");

      // The start action created the session and signed the browser's token locally.
      assert.equal(typeof started?.publicAccessToken, "string");
      assert.match(started.sessionId, /^session_/);
      assert.match(started.runId, /^run_/);
      assert.deepEqual(jwtHeader(started.publicAccessToken), { alg: "HS256" }, "signed by the SDK (jose), not weir");
      const c = jwtClaims(started.publicAccessToken);
      assert.equal(c.sub, t.env.id);
      assert.equal(c.pub, true);
      assert.deepEqual(c.scopes, [`read:sessions:${chatId}`, `write:sessions:${chatId}`]);
      assert.equal(c.exp - c.iat, 3600, "tokenTTL 1h");
      const calls = rec.since(mark);
      assert.ok(calls.some((e) => isPath("/api/v1/auth/jwt/claims", "POST")(e) && e.status === 200), "claims fetched");
      assert.ok(!calls.some(isPath("/api/v1/auth/public-tokens")), "no server-side minting for a root secret key");
      const session = await as(weir, t, () => sessions.retrieve(chatId));
      assert.equal(session.id, started.sessionId);
      assert.deepEqual(session.triggerConfig?.tags, [`chat:${chatId}`]);
      assert.equal(session.triggerConfig?.basePayload?.chatId, chatId);

      // The wire: the append went through with the locally signed token; `.out` was written by
      // the SDK's S2 writer after a PUT (secret key) that handed out weir's own /v1.
      const appends = calls.filter(isPath(`/realtime/v1/sessions/${chatId}/in/append`, "POST"));
      assert.deepEqual(appends.map((e) => e.status), [200]);
      assert.equal(appends[0].reqHeaders.authorization, `Bearer ${started.publicAccessToken}`);
      const puts = calls.filter(isPath(`/realtime/v1/sessions/${chatId}/out`, "PUT"));
      assert.ok(puts.length >= 1 && puts.every((e) => e.status === 202), `PUT .out: ${puts.map((e) => e.status)}`);
      assert.equal(puts[0].resHeaders["x-s2-endpoint"], `${s2Of(weir).url}/v1`);
      assert.equal(puts[0].resHeaders["x-s2-basin"], t.basin);
      const sse1 = calls.filter((e) => isPath(`/realtime/v1/sessions/${chatId}/out`, "GET")(e) && e.reqHeaders.authorization);
      assert.ok(sse1.length >= 1 && sse1[0].status === 200, "transport subscribed to .out");
      assert.equal(sse1[0].resHeaders["x-stream-version"], "v2");

      // What the agent read on `.in`: the transport's wire payload, seq 0.
      assert.equal(agent.inbox.length, 1);
      assert.equal(agent.inbox[0].seq, 0);
      const wire = agent.inbox[0].value;
      assert.equal(wire.kind, "message");
      assert.equal(wire.payload.chatId, chatId);
      assert.equal(wire.payload.trigger, "submit-message");
      assert.equal(wire.payload.extra, 1);
      assert.deepEqual(wire.payload.metadata, { userId: "user-1" });
      assert.deepEqual(wire.payload.message.parts, [{ type: "text", text: "hello weir" }]);

      // Transport state after the turn; the records are in the organization's basin.
      const after1 = transport.getSession(chatId);
      assert.equal(after1.isStreaming, false);
      assert.equal(after1.lastEventId, agent.turns[0].control.lastEventId, "cursor = the turn-complete record");
      for (const type of ["message-sent", "stream-connected", "first-chunk", "turn-completed"]) {
        assert.ok(events.some((e) => e.type === type), `event ${type} in ${events.map((e) => e.type)}`);
      }
      const stored = await rootRead(t.basin, `${t.prefix}/sessions/${chatId}/out`);
      assert.equal(stored.status, 200, `root read of .out in ${t.basin}: ${stored.bodies}`);
      assert.deepEqual(
        stored.bodies.filter((b) => b).map((b) => JSON.parse(b).data),
        agent.turns[0].chunks,
        "the S2 writer's records, in the organization's basin",
      );

      // ---- Turn 2, with an expired token: 401 → accessToken() → continue ----------------
      const expired = await chatToken(t, chatId, new Date(Date.now() - 60_000));
      transport.setSession(chatId, { ...transport.getSession(chatId), publicAccessToken: expired });
      mark = rec.mark();
      const s2 = await transport.sendMessages({
        trigger: "submit-message",
        chatId,
        messageId: undefined,
        messages: [userMsg("u1", "hello weir"), assistant1, userMsg("u2", "second turn")],
        abortSignal: undefined,
        body: {},
        metadata: { userId: "user-1" },
      });
      const chunks2 = await drain(s2);
      await agent.answered(2);
      assert.equal(agent.turns.length, 2);
      assert.deepEqual(chunks2, agent.turns[1].chunks, "turn 2 yields the agent's second answer only");
      assert.deepEqual(refreshes, [chatId], "accessToken() called once, for the refused token");
      const appends2 = rec.since(mark, isPath(`/realtime/v1/sessions/${chatId}/in/append`, "POST"));
      assert.deepEqual(appends2.map((e) => e.status), [401, 200], "expired token refused, fresh one accepted");
      assert.equal(appends2[0].reqHeaders["x-part-id"], appends2[1].reqHeaders["x-part-id"], "same part id on the retry");
      assert.equal(agent.inbox.length, 2, "one record for the two attempts");
      assert.deepEqual(agent.inbox[1].value.payload.message.parts, [{ type: "text", text: "second turn" }]);
      const after2 = transport.getSession(chatId);
      assert.notEqual(after2.publicAccessToken, expired, "the refreshed token is kept");
      assert.equal(after2.lastEventId, agent.turns[1].control.lastEventId);
      assert.equal(after2.isStreaming, false);

      // ---- Reload: a new transport resumes after turn 1 with an expired token -------------
      const reloadRefreshes = [];
      const reloaded = new TriggerChatTransport({
        task: TASK,
        baseURL: weir.url,
        streamTimeoutSeconds: 30,
        accessToken: async ({ chatId: id }) => {
          reloadRefreshes.push(id);
          return chatToken(t, id, "10m");
        },
        sessions: { [chatId]: { publicAccessToken: expired, lastEventId: after1.lastEventId, isStreaming: true } },
      });
      mark = rec.mark();
      const resumed = await reloaded.reconnectToStream({ chatId });
      assert.ok(resumed, "something to resume");
      const chunksR = await drain(resumed);
      assert.deepEqual(chunksR, agent.turns[1].chunks, "the reload replays turn 2 exactly");
      assert.deepEqual(reloadRefreshes, [chatId], "SSE 401 → accessToken() once");
      const gets = rec.since(mark, isPath(`/realtime/v1/sessions/${chatId}/out`, "GET"));
      assert.deepEqual(gets.map((e) => e.status), [401, 200]);
      assert.equal(gets[1].reqHeaders["x-peek-settled"], "1");
      assert.equal(gets[1].reqHeaders["last-event-id"], after1.lastEventId);
      assert.equal(gets[1].resHeaders["x-session-settled"], "true", "the last turn is complete: settled");
      assert.equal(reloaded.getSession(chatId).isStreaming, false);

      // At the end cursor a settled peek ends at once (no long poll, no resubscribes).
      const idle = new TriggerChatTransport({
        task: TASK,
        baseURL: weir.url,
        streamTimeoutSeconds: 30,
        accessToken: async () => assert.fail("no refresh needed"),
        sessions: { [chatId]: { publicAccessToken: after2.publicAccessToken, lastEventId: after2.lastEventId, isStreaming: true } },
      });
      mark = rec.mark();
      const idleRun = await timed(async () => {
        const s = await idle.reconnectToStream({ chatId });
        return s ? drain(s) : null;
      });
      assert.ok(idleRun.ok, `idle reconnect: ${idleRun.error}`);
      assert.ok(idleRun.value === null || idleRun.value.length === 0, `nothing after the end: ${JSON.stringify(idleRun.value)}`);
      const idleGets = rec.since(mark, isPath(`/realtime/v1/sessions/${chatId}/out`, "GET"));
      assert.equal(idleGets.length, 1, "one request, no resubscribe");
      assert.equal(idleGets[0].resHeaders["x-session-settled"], "true");
      assert.ok(idleRun.ms < 10_000, `settled peek ends promptly (${idleRun.ms} ms; Timeout-Seconds was 30)`);

      // ---- A server-side client: AgentChat (secret key) drives a third turn ------------------
      mark = rec.mark();
      const server = await as(weir, t, async () => {
        const ac = new AgentChat({ agent: TASK, id: chatId, session: { lastEventId: after2.lastEventId }, streamTimeoutSeconds: 30 });
        const stream = await ac.sendMessage("from the server");
        return { text: await stream.text(), session: ac.session };
      });
      await agent.answered(3);
      assert.equal(server.text, "echo 3: from the server");
      assert.equal(server.session.lastEventId, agent.turns[2].control.lastEventId);
      const serverAppends = rec.since(mark, isPath(`/realtime/v1/sessions/${chatId}/in/append`, "POST"));
      assert.deepEqual(serverAppends.map((e) => [e.status, e.reqHeaders.authorization]), [[200, `Bearer ${t.key}`]]);

      // ---- Closed session ------------------------------------------------------------------
      await as(weir, t, () => sessions.close(chatId, { reason: "user left" }));
      mark = rec.mark();
      const closedSend = await timed(() =>
        transport.sendMessages({
          trigger: "submit-message",
          chatId,
          messageId: undefined,
          messages: [userMsg("u3", "anyone?")],
          abortSignal: undefined,
          body: {},
          metadata: undefined,
        }),
      );
      assert.equal(closedSend.ok, false, "a send to a closed session fails");
      assert.equal(closedSend.error.status, 409, String(closedSend.error));
      assert.equal(closedSend.error.code, "session_closed");
      assert.equal(closedSend.error.closedReason, "user left");
      assert.ok(closedSend.ms < 4000, `promptly (${closedSend.ms} ms)`);
      assert.equal(rec.since(mark, isPath(`/realtime/v1/sessions/${chatId}/in/append`)).length, 1, "one append, no retries");
      const st = transport.getSession(chatId);
      assert.equal(st.closed, true, "the transport marks the session closed");
      assert.equal(st.closedReason, "user left");
      assert.ok(events.some((e) => e.type === "session-closed"), "session-closed event");
      mark = rec.mark();
      await assert.rejects(
        transport.sendMessages({ trigger: "submit-message", chatId, messages: [userMsg("u4", "again")], body: {} }),
        "later sends fail locally",
      );
      assert.equal(await transport.reconnectToStream({ chatId }), null);
      assert.equal(rec.since(mark).length, 0, "no request for a session known closed");
      // The SDK's `in.send` gets the same 409, without its 5 retries.
      const inSend = await timed(() => as(weir, t, () => sessions.open(chatId).in.send({ kind: "stop" })));
      assert.equal(inSend.ok, false);
      assert.equal(inSend.error.constructor.name, "ConflictError", String(inSend.error));
      assert.equal(inSend.error.code, "session_closed");
      assert.ok(inSend.ms < 4000, `in.send refused promptly (${inSend.ms} ms)`);
    } finally {
      await agent.stop();
    }
    assert.deepEqual(agent.errors, []);
  });
}
