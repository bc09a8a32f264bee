// control-plane-crash.test.mjs — the control plane's writer thread (group commit) under SIGKILL:
// a storm of session creates (each a session row and its first run) and run creates from 16
// clients at once, killed at a random moment, three times over the same data directory. After
// each restart every create that was acknowledged (201) is there, with the row it was answered
// with, and nothing is half-written: every session the environment lists has its first run.
// Creates that were in flight at the kill may or may not exist, but only whole.
// The store's creates, written by its commit thread, get the same: a storm of S2 stream creates
// and of appends that create their stream (create_stream_on_append), killed three times; every
// stream whose create was acknowledged (201), and every acknowledged append with its stream, is
// there after each restart. And the store's changes of existing names and the access-token
// writes, also made by the commit thread: a storm of stream create → PATCH → DELETE and token
// issue → revoke, killed three times; every acknowledged PATCH (its config), DELETE (the stream
// deleted), issue (the token listed) and revocation (not listed) holds after each restart.
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

async function s2(w, method, path, token, body, basin) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  if (basin) headers["s2-basin"] = basin;
  const res = await fetch(w.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return answerOf(res);
}

test("SIGKILL during a storm of stream creates and creating appends: every acknowledged one survives", async () => {
  let w = await startWeir({ embedded: true });
  const { dataDir, token } = w;
  const B = "crash-store-01";
  try {
    const b = await s2(w, "POST", "/v1/basins", token, { basin: B, config: { create_stream_on_append: true } });
    assert.equal(b.status, 201, b.text);
    const created = new Set(); // streams whose create was acknowledged
    const appended = new Map(); // stream → acknowledged records (its create was automatic)
    for (let round = 0; round < 3; round++) {
      let stop = false;
      const client = async (k) => {
        for (let i = 0; !stop; i++) {
          const name = `r${round}-c${k}-${i}`;
          try {
            if (i % 2 === 0) {
              const r = await s2(w, "POST", "/v1/streams", token, { stream: name }, B);
              if (r.status === 201) created.add(name);
            } else {
              const r = await s2(w, "POST", `/v1/streams/${name}/records`, token, { records: [{ body: "x" }, { body: "y" }] }, B);
              if (r.status === 200) appended.set(name, r.json.end.seq_num);
            }
          } catch {
            return; // the server is gone
          }
        }
      };
      const before = created.size + appended.size;
      const clients = Array.from({ length: CLIENTS }, (_, k) => client(k));
      while (created.size + appended.size < before + 50) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
      w.proc.kill("SIGKILL");
      stop = true;
      await Promise.all(clients);
      await w.exited;
      w = await startWeir({ dataDir, embedded: true, env: { WEIR_ROOT_TOKEN: token } });
      for (const name of created) {
        const r = await s2(w, "GET", `/v1/streams/${name}`, token, undefined, B);
        assert.equal(r.status, 200, `acknowledged stream ${name} survives round ${round}: ${r.text}`);
      }
      for (const [name, end] of appended) {
        const r = await s2(w, "GET", `/v1/streams/${name}/records/tail`, token, undefined, B);
        assert.equal(r.status, 200, `acknowledged append's stream ${name} survives round ${round}: ${r.text}`);
        assert.ok(r.json.tail.seq_num >= end, `${name}: its acknowledged records are there`);
      }
    }
    assert.ok(created.size >= 50 && appended.size >= 50, `creates were acknowledged (${created.size} created, ${appended.size} by append)`);
  } finally {
    await w.stop();
  }
});

test("SIGKILL during a storm of stream PATCHes and DELETEs and token issues and revocations: every acknowledged change survives", async () => {
  let w = await startWeir({ embedded: true });
  const { dataDir, token } = w;
  const B = "crash-changes-01";
  try {
    const b = await s2(w, "POST", "/v1/basins", token, { basin: B });
    assert.equal(b.status, 201, b.text);
    const patched = new Map(); // stream → retention age of its acknowledged PATCH
    const deleted = new Set(); // streams whose DELETE was acknowledged
    const issued = new Set(); // token ids whose issue was acknowledged
    const revoked = new Set(); // … and whose revocation was too
    const revoking = new Set(); // token ids whose revocation was sent
    const wrong = []; // answers that contradict their request
    let acks = 0;
    for (let round = 0; round < 3; round++) {
      let stop = false;
      const client = async (k) => {
        for (let i = 0; !stop; i++) {
          const name = `r${round}-c${k}-${i}`;
          try {
            const c = await s2(w, "POST", "/v1/streams", token, { stream: name }, B);
            if (c.status !== 201) continue;
            const age = 3600 + round * 100000 + k * 1000 + i;
            const p = await s2(w, "PATCH", `/v1/streams/${name}`, token, { retention_policy: { age } }, B);
            if (p.status === 200) {
              if (p.json.retention_policy?.age !== age) wrong.push(`${name}: PATCH answered ${p.text}`);
              patched.set(name, age);
              acks++;
            }
            if (i % 2 === 0) {
              const d = await s2(w, "DELETE", `/v1/streams/${name}`, token, undefined, B);
              if (d.status === 202) {
                deleted.add(name);
                acks++;
              }
            }
            const id = `crash-${name}`;
            const t = await s2(w, "POST", "/v1/access-tokens", token, { id, scope: { basins: { exact: B }, ops: ["read"] } });
            if (t.status === 201) {
              issued.add(id);
              acks++;
            }
            if (i % 3 === 0 && t.status === 201) {
              revoking.add(id);
              const r = await s2(w, "DELETE", `/v1/access-tokens/${id}`, token);
              if (r.status === 204) {
                revoked.add(id);
                acks++;
              }
            }
          } catch {
            return; // the server is gone
          }
        }
      };
      const before = acks;
      const clients = Array.from({ length: CLIENTS }, (_, k) => client(k));
      while (acks < before + 60) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
      w.proc.kill("SIGKILL");
      stop = true;
      await Promise.all(clients);
      await w.exited;
      w = await startWeir({ dataDir, embedded: true, env: { WEIR_ROOT_TOKEN: token } });
      for (const [name, age] of patched) {
        const r = await s2(w, "GET", `/v1/streams/${name}`, token, undefined, B);
        if (deleted.has(name)) {
          assert.ok(r.status === 409 || r.status === 404, `acknowledged delete of ${name} survives round ${round}: ${r.text}`);
        } else if (r.status === 200) {
          assert.equal(r.json.retention_policy.age, age, `acknowledged PATCH of ${name} survives round ${round}`);
        } else {
          // its DELETE was in flight at the kill (only even i send one) and made it to the disk
          assert.ok(name.match(/-(\d+)$/)[1] % 2 === 0 && (r.status === 409 || r.status === 404),
            `${name} after round ${round}: ${r.text}`);
        }
      }
      const listed = new Set();
      for (let after = ""; ;) {
        const r = await s2(w, "GET", `/v1/access-tokens?prefix=crash-&start_after=${after}`, token);
        assert.equal(r.status, 200, r.text);
        for (const t of r.json.access_tokens) listed.add(t.id);
        if (!r.json.has_more) break;
        after = r.json.access_tokens.at(-1).id;
      }
      for (const id of issued) {
        if (revoked.has(id)) assert.ok(!listed.has(id), `acknowledged revocation of ${id} survives round ${round}`);
        else if (!revoking.has(id)) assert.ok(listed.has(id), `acknowledged token ${id} survives round ${round}`);
        // else: its revocation was in flight at the kill, either way is right
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(patched.size >= 30 && deleted.size >= 10 && issued.size >= 30 && revoked.size >= 5,
      `changes were acknowledged (${patched.size} PATCH, ${deleted.size} DELETE, ${issued.size} issued, ${revoked.size} revoked)`);
  } finally {
    await w.stop();
  }
});
