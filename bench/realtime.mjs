// bench/realtime.mjs — load generator for bench/realtime.sh (one run against a running weir):
//  1. session create: POST /api/v1/sessions with distinct externalIds (environment secret key),
//     `conc` requests in flight, for `sessions` requests → requests/s.
//  2. token mint cost, same run, one request at a time (latency = the cost of one request):
//     - cold: PUT /realtime/v1/sessions/<k>/out once in each of `mints` fresh environments. The
//       mint cache (src/realtime/mint.c) is keyed "{basin}:{prefix}:{sorted ops}" and the prefix
//       is per environment, so the first PUT of an environment always misses and mints (a synced
//       token write through the store);
//     - warm: `mints` repeated PUTs in one environment whose token is already cached.
// Prints "RESULT <sessions/s> <cold p50 µs> <cold p99 µs> <warm p50 µs> <warm p99 µs>".
// Fails on any unexpected status.
const args = Object.fromEntries(
  process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]]] : a), []),
);
const url = args.url;
const root = args.token;
const nSessions = Number(args.sessions ?? 2000);
const conc = Number(args.conc ?? 32);
const nMints = Number(args.mints ?? 200);

async function call(method, path, token, body, want) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!want.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const tag = `${process.pid}${Date.now().toString(36)}`;
const org = await call("POST", "/admin/api/v1/orgs", root, { slug: `bench-${tag}`, title: "Bench" }, [201]);
const project = await call("POST", `/admin/api/v1/orgs/${org.id}/projects`, root, { slug: "bench" }, [201]);
const newEnv = async (slug) => call("POST", `/admin/api/v1/projects/${project.id}/environments`, root, { slug }, [201]);

// 1. Session create throughput.
const env = await newEnv("warm");
let next = 0;
const t0 = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: conc }, async () => {
    while (next < nSessions) {
      const i = next++;
      await call("POST", "/api/v1/sessions", env.apiKey, { externalId: `ext-${i}`, type: "chat" }, [201]);
    }
  }),
);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const sessionsPerSec = nSessions / secs;

// 2. Mint cost. Fresh environments are created up front (not timed).
const envs = [];
for (let i = 0; i < nMints; i++) envs.push(await newEnv(`cold${i}`));
const timed = async (fn) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e3;
};
const put = (key) => call("PUT", "/realtime/v1/sessions/chat-1/out", key, undefined, [202]);
const cold = [];
for (const e of envs) cold.push(await timed(() => put(e.apiKey)));
await put(env.apiKey); // prime the warm environment's cache entry
const warm = [];
for (let i = 0; i < nMints; i++) warm.push(await timed(() => put(env.apiKey)));

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
console.log(`session create: ${nSessions} requests, ${conc} in flight, ${sessionsPerSec.toFixed(0)}/s`);
console.log(`mint cold (fresh environment): p50 ${pct(cold, 50).toFixed(0)} µs, p99 ${pct(cold, 99).toFixed(0)} µs`);
console.log(`mint warm (cached token):      p50 ${pct(warm, 50).toFixed(0)} µs, p99 ${pct(warm, 99).toFixed(0)} µs`);
console.log(
  `RESULT ${sessionsPerSec.toFixed(0)} ${pct(cold, 50).toFixed(0)} ${pct(cold, 99).toFixed(0)} ${pct(warm, 50).toFixed(0)} ${pct(warm, 99).toFixed(0)}`,
);
