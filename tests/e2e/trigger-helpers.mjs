// trigger-helpers.mjs — shared pieces of the suites that drive weir with trigger.dev's own
// published clients (@trigger.dev/sdk, @trigger.dev/core, ai; pinned in package.json):
// - a recorder around globalThis.fetch (the SDK's zodfetch, its SSE subscriptions and the chat
//   transport all call the global fetch at call time), so tests can count requests (retries),
//   see status codes and response headers, and wait for a subscription's response head;
// - `as(server, tenant, fn)`: the SDK's own scoping (auth.withAuth) with the tenant's secret key;
// - `startAgent`: plays the chat.agent side with the SDK: reads `.in` through
//   ApiClient.subscribeToSessionStream (secret key) and answers each submitted message on `.out`
//   through `sessions.open(chatId).out.writer(...)` (PUT → X-S2-* → s2s to weir's /v1) followed by
//   `writeControl("turn-complete", [["session-in-event-id", <.in seq>]])`;
// - installRunStreamsManager(): what a worker does so that streams.pipe writes outside a task;
// - small stream helpers (drain, readN), timed() and JWT decoding.
// TRIGGER_E2E_DEBUG=1 logs every request the clients make, with its answer's status.
import { auth, sessions } from "@trigger.dev/sdk";
import { ApiClient, apiClientManager, realtimeStreams } from "@trigger.dev/core/v3";
import { StandardRealtimeStreamsManager } from "@trigger.dev/core/v3/workers";
import { realtimeEnv, SHARED } from "./realtime-helpers.mjs";

export { SHARED };

/** The environment every suite of this family starts weir with (free = shared, pro = own basin). */
export const WEIR_ENV = realtimeEnv({ WEIR_WAIT_SECONDS: "5" });

/** Both kinds of organization: the free plan (shared basin) and a paid one (own basin). */
export const PLANS = [
  { label: "free org, shared basin", plan: undefined },
  { label: "pro org, own basin", plan: "pro" },
];

// ---------------------------------------------------------------------------------------------
// Long SDK timers must not keep a finished test process alive. The chat transport arms a 60 s
// stall timer (SSEStreamSubscription stallTimeoutMs) per record; now and then (about one run in
// five here) one of them is still pending when the tests are over — armed in connectStream, not
// cleared after the transport aborted the subscription at turn-complete — and node:test then
// waits up to a minute for the file's process to exit. Timers of 20 s and more are unref'd: they
// still fire while the process has work, they just do not hold it open.
const origSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = function setTimeoutUnrefLong(fn, ms, ...args) {
  const h = origSetTimeout(fn, ms, ...args);
  if (typeof ms === "number" && ms >= 20000) h.unref?.();
  return h;
};

// ---------------------------------------------------------------------------------------------
// fetch recorder

const origFetch = globalThis.fetch;
const entries = [];
const watchers = new Set();

const headersOf = (h) => {
  if (!h) return {};
  if (h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) return Object.fromEntries(h.map(([k, v]) => [k.toLowerCase(), v]));
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v)]));
};

globalThis.fetch = async function recordingFetch(input, init) {
  const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
  const e = {
    method: (init?.method ?? (typeof input === "object" ? input.method : undefined) ?? "GET").toUpperCase(),
    url,
    path: url.replace(/^https?:\/\/[^/]+/, ""),
    reqHeaders: headersOf(init?.headers ?? (typeof input === "object" ? input.headers : undefined)),
    status: undefined,
    resHeaders: undefined,
    error: undefined,
    at: Date.now(),
  };
  entries.push(e);
  if (process.env.TRIGGER_E2E_DEBUG) console.error(`[fetch>] ${e.method} ${e.path} ${JSON.stringify(e.reqHeaders)}`);
  try {
    const res = await origFetch(input, init);
    e.status = res.status;
    e.resHeaders = Object.fromEntries(res.headers.entries());
    return res;
  } catch (err) {
    e.error = err;
    throw err;
  } finally {
    if (process.env.TRIGGER_E2E_DEBUG) console.error(`[fetch] ${e.method} ${e.path} -> ${e.status ?? e.error}`);
    for (const w of [...watchers]) w(e);
  }
};

export const rec = {
  /** A position in the log; pass it to since(). */
  mark: () => entries.length,
  since: (mark, pred = () => true) => entries.slice(mark).filter(pred),
  /** Resolves with the first entry (from `mark` on) that matches and has an answer or an error. */
  waitFor(mark, pred, what = "request", guardMs = 15000) {
    const done = (e) => (e.status !== undefined || e.error !== undefined) && pred(e);
    const hit = entries.slice(mark).find(done);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(w);
        reject(new Error(`no ${what} within ${guardMs} ms; seen: ${entries.slice(mark).map((x) => `${x.method} ${x.path} ${x.status}`).join(", ")}`));
      }, guardMs);
      const w = (e) => {
        if (entries.indexOf(e) >= mark && done(e)) {
          clearTimeout(timer);
          watchers.delete(w);
          resolve(e);
        }
      };
      watchers.add(w);
    });
  },
};

// ---------------------------------------------------------------------------------------------
// SDK scoping, tokens

/** Runs fn with the SDK configured for this tenant (the SDK's own per-call scoping). */
export const as = (server, t, fn) => auth.withAuth({ baseURL: server.url, accessToken: t.key }, fn);

export const jwtHeader = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString("utf8"));
export const jwtClaims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));

/** Runs promiseFn; resolves to {ok: true, value, ms} or, when it rejects, {ok: false, error, ms}. */
export async function timed(promiseFn) {
  const t0 = Date.now();
  try {
    const v = await promiseFn();
    return { ok: true, value: v, ms: Date.now() - t0 };
  } catch (err) {
    return { ok: false, error: err, ms: Date.now() - t0 };
  }
}

/**
 * Outside a task the SDK's run-stream writer (streams.pipe) is a no-op; a worker registers the
 * real manager. This registers one that hands each call to a StandardRealtimeStreamsManager
 * built on the SDK's current client (the tenant of the enclosing auth.withAuth scope).
 */
export function installRunStreamsManager() {
  const managers = new Map();
  realtimeStreams.setGlobalManager({
    manager() {
      const client = apiClientManager.clientOrThrow();
      const k = `${client.baseUrl} ${client.accessToken}`;
      if (!managers.has(k)) managers.set(k, new StandardRealtimeStreamsManager(client, client.baseUrl));
      return managers.get(k);
    },
    pipe(key, source, options) {
      return this.manager().pipe(key, source, options);
    },
    append(key, part, options) {
      return this.manager().append(key, part, options);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Streams

/** Reads a ReadableStream / async iterable to its end. */
export async function drain(stream) {
  const out = [];
  for await (const v of stream) out.push(v);
  return out;
}

/**
 * Reads `stream` until `n` values arrived, then aborts `ac` (the subscription's signal) and
 * lets the stream finish. Rejects if the stream ends first or nothing comes within guardMs.
 */
export async function readN(stream, n, ac, guardMs = 15000) {
  const got = [];
  const reader = stream.getReader();
  const timer = setTimeout(() => ac.abort(), guardMs);
  try {
    while (got.length < n) {
      const { done, value } = await reader.read();
      if (done) break;
      got.push(value);
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
    reader.releaseLock();
  }
  if (got.length < n) throw new Error(`stream ended after ${got.length} of ${n} values: ${JSON.stringify(got)}`);
  return got;
}

// ---------------------------------------------------------------------------------------------
// The agent

/** The chunks the agent writes for one answer (a valid UIMessageChunk sequence). */
export function answerChunks(text, turn) {
  const id = `t${turn}`;
  const words = `echo ${turn}: ${text}`.split(/(?<= )/);
  return [
    { type: "start" },
    { type: "text-start", id },
    ...words.map((delta) => ({ type: "text-delta", id, delta })),
    { type: "text-end", id },
    { type: "finish" },
  ];
}

/**
 * Plays the agent of session `chatId` (its externalId) with the tenant's secret key, using only
 * the SDK. Returns { inbox, errors, turns, answered(n), stop() }: `inbox` holds every `.in` record seen
 * ({seq, value}); each submitted message gets answerChunks(text, n) on `.out` and a
 * turn-complete control record naming the `.in` seq it answered.
 */
export function startAgent(server, t, chatId) {
  const ac = new AbortController();
  const inbox = [];
  const errors = [];
  const turns = [];
  const turnWaiters = [];
  const client = new ApiClient(server.url, t.key);
  const done = as(server, t, async () => {
    const parts = [];
    const stream = await client.subscribeToSessionStream(chatId, "in", {
      signal: ac.signal,
      timeoutInSeconds: 60,
      onPart: (p) => parts.push(p),
    });
    for await (const _ of stream) {
      const p = parts.shift();
      const value = typeof p.chunk === "string" ? JSON.parse(p.chunk) : p.chunk;
      inbox.push({ seq: Number(p.id), value });
      if (value?.kind !== "message" || value.payload?.trigger !== "submit-message") continue;
      const text = (value.payload.message?.parts ?? []).map((x) => x.text ?? "").join("");
      const n = turns.length + 1;
      const chunks = answerChunks(text, n);
      const out = sessions.open(chatId).out;
      const { waitUntilComplete } = out.writer({
        execute: ({ write }) => {
          for (const c of chunks) write(c);
        },
      });
      const wrote = await waitUntilComplete();
      const control = await out.writeControl("turn-complete", [["session-in-event-id", String(p.id)]]);
      turns.push({ inSeq: Number(p.id), text, chunks, wrote, control });
      for (const w of turnWaiters.splice(0)) w();
    }
  }).catch((err) => {
    if (!ac.signal.aborted) errors.push(err);
  }).finally(() => {
    for (const w of turnWaiters.splice(0)) w();
  });
  return {
    inbox,
    errors,
    turns,
    /** Resolves once the agent has finished answering n messages (or stopped). */
    async answered(n) {
      while (turns.length < n && !ac.signal.aborted && errors.length === 0) await new Promise((r) => turnWaiters.push(r));
      if (turns.length < n) throw new Error(`the agent stopped after ${turns.length} answers: ${errors.join("; ")}`);
    },
    async stop() {
      ac.abort();
      await done;
    },
  };
}
