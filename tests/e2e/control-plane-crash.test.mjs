// control-plane-crash.test.mjs — the control plane's writer thread (group commit) under SIGKILL:
// a storm of session creates (each a session row and its first run) and run creates from 16
// clients at once, killed at a random moment, three times over the same data directory. After
// each restart every create that was acknowledged (201) is there, with the row it was answered
// with, and nothing is half-written: every session the environment lists has its first run.
// Creates that were in flight at the kill may or may not exist, but only whole.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startWeir } from "./harness.mjs";
import { realtimeEnv } from "./realtime-helpers.mjs";
import { answerOf } from "./helpers.mjs";

const CLIENTS = 16;

async function call(w, method, path, token, body) {
  const res = await fetch(w.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return answerOf(res);
}

/** Every row of a paged list (sessions or runs), following pagination.next. */
async function all(w, key, path) {
  const out = [];
  let after = null;
  for (;;) {
    const q = `${path}?page[size]=100${after ? `&page[after]=${after}` : ""}`;
    const r = await call(w, "GET", q, key);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    out.push(...r.json.data);
    after = r.json.pagination?.next;
    if (!after) return out;
  }
}

test("SIGKILL during a storm of session and run creates: every acknowledged create survives whole", async () => {
  let w = await startWeir({ env: realtimeEnv() });
  const { dataDir, token } = w;
  try {
    const org = (await call(w, "POST", "/admin/api/v1/orgs", token, { slug: "crash", title: "Crash" })).json;
    const project = (await call(w, "POST", `/admin/api/v1/orgs/${org.id}/projects`, token, { slug: "p" })).json;
    const env = (await call(w, "POST", `/admin/api/v1/projects/${project.id}/environments`, token, { slug: "dev" })).json;
    const key = env.apiKey;
    const sessions = new Map(); // id → acknowledged SessionItem
    const runs = new Set();
    for (let round = 0; round < 3; round++) {
      let stop = false;
      const client = async (k) => {
        for (let i = 0; !stop; i++) {
          try {
            if (i % 4 === 3) {
              const r = await call(w, "POST", "/api/v1/runs", key, { taskIdentifier: "crash-task" });
              if (r.status === 201) runs.add(r.json.id);
            } else {
              const externalId = `crash-${round}-${k}-${i}`;
              const r = await call(w, "POST", "/api/v1/sessions", key, { externalId, type: "chat.agent", taskIdentifier: "t" });
              if (r.status === 201) sessions.set(r.json.id, r.json);
            }
          } catch {
            return; // the server is gone
          }
        }
      };
      const before = sessions.size;
      const clients = Array.from({ length: CLIENTS }, (_, k) => client(k));
      // Kill once creates are flowing, at a random moment after that.
      while (sessions.size < before + 50) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
      w.proc.kill("SIGKILL");
      stop = true;
      await Promise.all(clients);
      await w.exited;
      w = await startWeir({ dataDir, env: realtimeEnv({ WEIR_ROOT_TOKEN: token }) });

      for (const [id, s] of sessions) {
        const r = await call(w, "GET", `/api/v1/sessions/${id}`, key);
        assert.equal(r.status, 200, `acknowledged session ${id} survives round ${round}`);
        assert.equal(r.json.externalId, s.externalId);
        assert.equal(r.json.currentRunId ?? r.json.runId ?? s.runId, s.runId);
      }
      const listedRuns = new Set((await all(w, key, "/api/v1/runs")).map((r) => r.id));
      for (const id of runs) assert.ok(listedRuns.has(id), `acknowledged run ${id} survives round ${round}`);
      for (const s of sessions.values()) assert.ok(listedRuns.has(s.runId), `session ${s.id}'s first run ${s.runId} is there`);
      // Nothing half-written: every session that exists (acknowledged or not) has its first run.
      const listed = await all(w, key, "/api/v1/sessions");
      assert.ok(listed.length >= sessions.size);
      for (const s of listed) {
        assert.ok(s.currentRunId, `listed session ${s.id} names its first run`);
        assert.ok(listedRuns.has(s.currentRunId), `listed session ${s.id} has its run ${s.currentRunId}`);
      }
    }
    assert.ok(sessions.size >= 150 && runs.size > 0, `creates were acknowledged (${sessions.size} sessions, ${runs.size} runs)`);
  } finally {
    await w.stop();
  }
});
