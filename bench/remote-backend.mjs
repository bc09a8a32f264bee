// bench/remote-backend.mjs — load generator for bench/remote-backend.sh: append → browser event
// latency through one realtime node (embedded or remote stream backend).
//  - `sessions` sessions in a fresh environment; each gets a channel PUT on .out (secret key),
//    whose X-S2-* headers say where and how to append (the node itself when embedded, the
//    upstream S2 endpoint when remote);
//  - per session, a browser-side SSE subscriber on GET /realtime/v1/sessions/<key>/out at the
//    node, and an agent appending one record every 50–100 ms straight to the X-S2-Endpoint
//    (POST …/streams/<name>/records, the minted token), the body carrying its send time;
//  - latency = event received at the subscriber − the agent's send time (the append's fsync, the
//    node's delivery and, when remote, the upstream hop), over `seconds` seconds after a 1 s
//    warm-up.
// Prints "KEY <environment secret key>" (for the PUT benchmark that follows) and
// "RESULT <p50 ms> <p99 ms> <events>". Fails on any unexpected status or a lost record.
import { SseParser } from "../tests/e2e/sse.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]]] : a), []),
);
const url = args.url;
const root = args.token;
const nSessions = Number(args.sessions ?? 50);
const seconds = Number(args.seconds ?? 10);

async function call(method, path, token, body, want, base = url, extra = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}), ...extra },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!want.includes(res.status)) throw new Error(`${method} ${base}${path}: ${res.status} ${text}`);
  return { json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const tag = `${process.pid}${Date.now().toString(36)}`;
const org = (await call("POST", "/admin/api/v1/orgs", root, { slug: `bench-${tag}`, title: "Bench" }, [201])).json;
const project = (await call("POST", `/admin/api/v1/orgs/${org.id}/projects`, root, { slug: "bench" }, [201])).json;
const env = (await call("POST", `/admin/api/v1/projects/${project.id}/environments`, root, { slug: "dev" }, [201])).json;
const key = env.apiKey;

const chans = [];
for (let i = 0; i < nSessions; i++) {
  await call("POST", "/api/v1/sessions", key, { externalId: `s-${i}`, type: "chat" }, [201]);
  const { headers: h } = await call("PUT", `/realtime/v1/sessions/s-${i}/out`, key, undefined, [202]);
  // A secret-key PUT names the stream relative to the token's prefix (the token prefixes it).
  const name = h.get("x-s2-stream-name");
  chans.push({ i, token: h.get("x-s2-access-token"), basin: h.get("x-s2-basin"), endpoint: h.get("x-s2-endpoint"), name });
}
let warm = true;
let stopping = false;
const lat = [];
const subs = [];
let sent = 0;
let seen = 0;
for (const c of chans) {
  const ac = new AbortController();
  const res = await fetch(`${url}/realtime/v1/sessions/s-${c.i}/out`, {
    headers: { authorization: `Bearer ${key}`, accept: "text/event-stream", "timeout-seconds": "600" },
    signal: ac.signal,
  });
  if (res.status !== 200) throw new Error(`SSE s-${c.i}: ${res.status} ${await res.text()}`);
  const done = (async () => {
    const parser = new SseParser();
    const dec = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        const now = performance.now() + performance.timeOrigin;
        for (const ev of parser.push(dec.decode(chunk, { stream: true }))) {
          if (ev.event !== "batch") continue;
          for (const r of JSON.parse(ev.data).records) {
            seen++;
            const t = Number(r.body);
            if (!warm && Number.isFinite(t)) lat.push(now - t);
          }
        }
      }
    } catch (e) {
      if (!stopping) throw e;
    }
  })();
  subs.push({ ac, done });
}

const agents = chans.map(async (c) => {
  const path = `/streams/${encodeURIComponent(c.name)}/records`;
  while (!stopping) {
    const body = String(performance.now() + performance.timeOrigin);
    await call("POST", path, c.token, { records: [{ body }] }, [200], c.endpoint, { "s2-basin": c.basin });
    sent++;
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 50));
  }
});
await new Promise((r) => setTimeout(r, 1000));
warm = false;
await new Promise((r) => setTimeout(r, seconds * 1000));
stopping = true;
await Promise.all(agents);
// Every record sent reaches its subscriber.
for (let i = 0; seen < sent && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
if (seen < sent) throw new Error(`lost records: sent ${sent}, seen ${seen}`);
for (const s of subs) s.ac.abort();
await Promise.allSettled(subs.map((s) => s.done));

lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
console.log(`KEY ${key}`);
console.log(`RESULT ${pct(50).toFixed(2)} ${pct(99).toFixed(2)} ${lat.length}`);
