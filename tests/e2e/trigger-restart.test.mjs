// trigger-restart.test.mjs — a weir restart under trigger.dev's SDK readers (4.8.3). On a fixed
// data directory and a fixed port, for a free organization (shared basin) and a paid one (own
// basin) at once:
// - a run stream written with streams.pipe (the SDK's S2 writer) and read with runs.fetchStream,
// - a session `.out` written with sessions.open(id).out.writer and read with .out.read(),
// each reader gets the first half, then the server is stopped with SIGTERM (it exits 0 and drops
// the open SSE responses instead of ending them, so the readers reconnect), started again on
// the same directory and port, the second half is written (the run-stream writer reuses its
// cached S2 credentials from before the restart), and every reader has every chunk exactly once
// and in order, having resumed with Last-Event-ID.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { sessions, streams, runs } from "@trigger.dev/sdk";
import { startWeir } from "./harness.mjs";
import { realtimeHelpers } from "./realtime-helpers.mjs";
import { SHARED, WEIR_ENV, PLANS, rec, as, installRunStreamsManager } from "./trigger-helpers.mjs";

installRunStreamsManager();

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const dataDir = mkdtempSync(join(tmpdir(), "weir-e2e-tdev-restart-"));
let weir;
after(async () => {
  try {
    await weir?.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
const { ok, uniq, tenant } = realtimeHelpers(() => weir);

const N = 24; // chunks per stream; half before the restart, half after

/** Reads `stream` in the background; `until(n)` resolves once n values arrived; cancel() ends it. */
function collector(stream) {
  const got = [];
  let waiters = [];
  let failed;
  let ended = false;
  const reader = stream.getReader();
  const done = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got.push(value);
        for (const w of waiters) w();
        waiters = [];
      }
    } catch (err) {
      failed = err;
    }
    ended = true;
    for (const w of waiters) w();
  })();
  return {
    got,
    async cancel() {
      await reader.cancel();
      await done;
    },
    async until(n, what, guardMs = 30000) {
      const deadline = Date.now() + guardMs;
      while (got.length < n) {
        if (ended) throw new Error(`${what}: the stream ended after ${got.length} of ${n}${failed ? `: ${failed}` : ""}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${what}: ${got.length} of ${n} after ${guardMs} ms`);
        await new Promise((r) => {
          const timer = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(timer);
            r();
          });
        });
      }
    },
  };
}

async function* chunks(tag, from, to) {
  for (let i = from; i < to; i++) yield { tag, i };
}
const expected = (tag, to) => Array.from({ length: to }, (_, i) => ({ tag, i }));

test("SIGTERM restart under runs.fetchStream and session .out readers: every chunk once, in order", async () => {
  const port = await freePort();
  const env = { ...WEIR_ENV, WEIR_WAIT_SECONDS: "120", WEIR_ROOT_TOKEN: `tdev-restart-${randomBytes(12).toString("hex")}` };
  const args = ["--listen", `127.0.0.1:${port}`];
  weir = await startWeir({ env, dataDir, args });
  assert.equal(weir.port, port);

  // Per plan: a run stream and a session, the first half written, readers following.
  const cases = [];
  for (const { label, plan } of PLANS) {
    const t = await tenant({ plan });
    const run = (await ok("POST", "/api/v1/runs", { token: t.key, body: { taskIdentifier: "long-task" } }, 201)).json;
    const ext = uniq("restart");
    const server = { url: weir.url }; // the URL stays valid across the restart (same port)
    await as(server, t, async () => {
      await sessions.start({ type: "chat.agent", externalId: ext, taskIdentifier: "my-chat", triggerConfig: { basePayload: {} } });
      await streams.pipe("progress", chunks("run", 0, N / 2), { target: run.id }).waitUntilComplete();
      await sessions.open(ext).out.writer({ execute: async ({ write }) => { for await (const c of chunks("out", 0, N / 2)) write(c); } }).waitUntilComplete();
    });
    const ac = new AbortController();
    const [runReader, outReader] = await as(server, t, async () => [
      collector(await runs.fetchStream(run.id, "progress")),
      collector(await sessions.open(ext).out.read({ signal: ac.signal, timeoutInSeconds: 120 })),
    ]);
    cases.push({ label, t, run, ext, server, ac, runReader, outReader });
  }
  for (const c of cases) {
    await c.runReader.until(N / 2, `${c.label}: run stream, first half`);
    await c.outReader.until(N / 2, `${c.label}: session .out, first half`);
  }

  // SIGTERM while every reader is connected and waiting; the server must exit 0.
  const mark = rec.mark();
  await weir.stop();
  weir = await startWeir({ env, dataDir, args });
  assert.equal(weir.port, port, "same port");

  for (const c of cases) {
    await as(c.server, c.t, async () => {
      await streams.pipe("progress", chunks("run", N / 2, N), { target: c.run.id }).waitUntilComplete();
      await sessions.open(c.ext).out.writer({ execute: async ({ write }) => { for await (const x of chunks("out", N / 2, N)) write(x); } }).waitUntilComplete();
    });
  }
  for (const c of cases) {
    await c.runReader.until(N, `${c.label}: run stream after the restart`);
    await c.outReader.until(N, `${c.label}: session .out after the restart`);
    await c.runReader.cancel(); // runs.fetchStream takes no signal: cancelling the stream ends it
    c.ac.abort();
    await c.outReader.cancel();
    assert.deepEqual(c.runReader.got, expected("run", N), `${c.label}: runs.fetchStream got every chunk once, in order`);
    assert.deepEqual(c.outReader.got, expected("out", N), `${c.label}: .out.read() got every chunk once, in order`);
    // They came back with Last-Event-ID = the last record before the restart (seq N/2 - 1).
    for (const path of [`/realtime/v1/streams/${c.run.id}/progress`, `/realtime/v1/sessions/${c.ext}/out`]) {
      const resumed = rec.since(mark, (e) => e.method === "GET" && e.path === path && e.status === 200);
      assert.ok(resumed.length >= 1, `${c.label}: ${path} reconnected`);
      assert.equal(resumed[0].reqHeaders["last-event-id"], String(N / 2 - 1), `${c.label}: ${path} resumed after the last seen record`);
    }
  }
});
