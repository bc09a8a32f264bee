// bench/realtime-routes.mjs — load generator for bench/realtime-routes.sh (one run against a
// running weir): end-to-end latency of session channels, agent → browser.
//
// Setup (not timed): an organization, project and environment (root token); --sessions chat
// sessions (POST /api/v1/sessions, secret key → publicAccessToken); one channel PUT per session
// (PUT /realtime/v1/sessions/<key>/out, secret key → the X-S2-* headers).
//
// Subscribers: for every session, in the same run and on the same streams,
//   - rt: GET /realtime/v1/sessions/<key>/out with the session's publicAccessToken (the browser);
//   - v1: GET /v1/streams/<full name>/records?seq_num=0, `Accept: text/event-stream`, root token
//     and `s2-basin` (the peer: weir's own S2 SSE, no realtime layer in the path).
// Both kinds follow the same records at the same moment; half of the sessions open rt first and
// half v1 first, so neither kind is always written first by the server's fan-out.
//
// Agents: a child process (its own event loop, so acks are not queued behind the subscribers'
// sockets) builds one official-SDK client per session from the PUT's X-S2-* headers only and
// keeps one append session (s2s over HTTP/2, the SDK's default transport on Node) per channel.
// Agent i appends one record every --min-ms … --max-ms (fixed per session, spread evenly, random
// phase) for --secs seconds. The record body carries the monotonic time taken just before the
// `submit` call; both processes read the same CLOCK_MONOTONIC.
//
// Measured per (subscriber, record): send → event (append call start → batch event received)
// and ack → event (the SDK's ack resolved → event; negative when the event beat the ack). Also
// send → ack. Checks that every subscriber got every record exactly once, in order.
// CPU: the server's (from /proc), the subscriber process's and the agent process's; and each
// client process's event-loop delay (p99 / max), so stalls on the client side are visible.
//
// Redis mode (--redis PORT, --pid = redis-server's pid): the external peer, same schedule and
// bodies: agent i sends `XADD rs-<i> * b <body>` on its own connection (the reply is the ack;
// with `appendfsync always` Redis fsyncs before replying and before serving blocked readers),
// and subscriber i loops `XREAD BLOCK 0 STREAMS rs-<i> <last id>` on its own connection.
//
// Usage: node bench/realtime-routes.mjs --url http://127.0.0.1:PORT --token ROOT --pid SERVER_PID
//          [--sessions 100] [--secs 10] [--min-ms 50] [--max-ms 100] [--kinds rt,v1]
//        node bench/realtime-routes.mjs --redis PORT --pid REDIS_PID [--sessions …] [--secs …]
// Prints human-readable lines and
//   SETUP <env secret key> <sessions> <basin> <full stream name of session 0>
//   RESULT <rt send→event p50 ms> <p99> <max> <v1 send→event p50> <p99> <max>
//          <rt ack→event p50> <p99> <v1 ack→event p50> <p99> <send→ack p50> <p99>
//          <records appended> <deliveries missing> <server CPU %> <subscriber CPU %> <agent CPU %>
// (in Redis mode the rt columns hold Redis's numbers and the v1 columns are nan).
// Exits non-zero on any error or missing delivery. Bounded in time: the agents get --secs + 30 s,
// the last deliveries 15 s of grace.
import http from "node:http";
import net from "node:net";
import { execFileSync, fork } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" },
    token: { type: "string" },
    pid: { type: "string" },
    sessions: { type: "string", default: "100" },
    secs: { type: "string", default: "10" },
    "min-ms": { type: "string", default: "50" },
    "max-ms": { type: "string", default: "100" },
    kinds: { type: "string", default: "rt,v1" },
    redis: { type: "string" }, // Redis mode: the port of a redis-server on 127.0.0.1
    "agent-cpu": { type: "string" }, // pin the agents' process to this CPU (default: inherit)
    agent: { type: "boolean", default: false }, // internal: run as the agents' child process
  },
});
const SESSIONS = Number(opt.sessions);
const SECS = Number(opt.secs);
const MIN_MS = Number(opt["min-ms"]);
const MAX_MS = Number(opt["max-ms"]);
/** Monotonic milliseconds (CLOCK_MONOTONIC: the same clock in every process on this machine). */
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PAD = "x".repeat(64); // a small token-chunk-sized record

// ---------------------------------------------------------------------------------------------
// A minimal RESP2 client (Redis mode): commands are pipelined on one connection, replies are
// matched in order and carry the time their last chunk was read.

function respEncode(args) {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(String(a))}\r\n${a}\r\n`);
  return parts.join("");
}

/** Parses one reply at buf[i…]; null when incomplete, else {value, end}. */
function respParse(buf, i) {
  const eol = buf.indexOf("\r\n", i);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString("utf8", i + 1, eol);
  if (type === "+") return { value: line, end: eol + 2 };
  if (type === "-") return { value: new Error(line), end: eol + 2 };
  if (type === ":") return { value: Number(line), end: eol + 2 };
  const n = Number(line);
  if (type === "$") {
    if (n < 0) return { value: null, end: eol + 2 };
    if (buf.length < eol + 2 + n + 2) return null;
    return { value: buf.toString("utf8", eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
  }
  if (type === "*") {
    if (n < 0) return { value: null, end: eol + 2 };
    const out = [];
    let at = eol + 2;
    for (let k = 0; k < n; k++) {
      const r = respParse(buf, at);
      if (!r) return null;
      out.push(r.value);
      at = r.end;
    }
    return { value: out, end: at };
  }
  throw new Error(`RESP: unexpected reply type ${type}`);
}

class Resp {
  constructor(port) {
    this.pending = [];
    this.buf = Buffer.alloc(0);
    this.sock = net.connect(Number(port), "127.0.0.1");
    this.sock.setNoDelay(true);
    this.sock.on("data", (d) => this.onData(d));
    this.sock.on("error", (e) => this.closing || this.pending.splice(0).forEach((p) => p.reject(e)));
  }
  /** Resolves to {value, t}: the reply and its arrival time; rejects on an error reply. */
  cmd(...args) {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.sock.write(respEncode(args));
    });
  }
  onData(d) {
    const t = now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const r = respParse(this.buf, 0);
      if (!r) return;
      this.buf = this.buf.subarray(r.end);
      const p = this.pending.shift();
      if (r.value instanceof Error) p.reject(r.value);
      else p.resolve({ value: r.value, t });
    }
  }
  close() {
    this.closing = true;
    this.sock.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Agents (child process). weir: one SDK client + append session per channel, built from the
// X-S2-* headers only. Redis: one connection per session.

/** weir agents: append(i, k, body) → {ack: a promise of the ack's arrival time}, once submitted. */
async function sdkAgents(channels) {
  const require = createRequire(new URL("../tests/e2e/package.json", import.meta.url));
  const { S2, AppendInput, AppendRecord } = require("@s2-dev/streamstore");
  const agents = [];
  for (const ch of channels) {
    const s2 = new S2({
      accessToken: ch.token,
      endpoints: { account: ch.endpoint, basin: ch.endpoint },
      retry: { maxAttempts: 1 }, // an error fails the run instead of hiding in a retry
    });
    const stream = s2.basin(ch.basin).stream(ch.stream);
    agents.push({ stream, session: await stream.appendSession() });
  }
  return {
    async append(i, k, body) {
      const ticket = await agents[i].session.submit(AppendInput.create([AppendRecord.string({ body })]));
      const ack = ticket.ack().then((a) => {
        if (a.end.seqNum - a.start.seqNum !== 1 || a.start.seqNum !== k) throw new Error(`record ${k} acked at ${a.start.seqNum}`);
        return now();
      });
      return { ack }; // not the bare promise: an async function would wait for it
    },
    async close(i) {
      await agents[i].session.close();
      await agents[i].stream.close();
    },
  };
}

/** Redis agents: XADD on one connection per session. */
function redisAgents(n) {
  const conns = Array.from({ length: n }, () => new Resp(opt.redis));
  return {
    async append(i, k, body) {
      return { ack: conns[i].cmd("XADD", `rs-${i}`, "*", "b", body).then((r) => r.t) };
    },
    async close(i) {
      conns[i].close();
    },
  };
}

async function agentMain() {
  const channels = await new Promise((r) => process.once("message", r));
  const agents = opt.redis ? redisAgents(SESSIONS) : await sdkAgents(channels);
  process.send({ ready: true });
  await new Promise((r) => process.once("message", r)); // go
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const cpu0 = process.cpuUsage();
  const t0 = now() + 50;
  const sent = Array.from({ length: SESSIONS }, () => []);
  const acked = Array.from({ length: SESSIONS }, () => []);
  let failed = null;
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, i) => {
      const interval = SESSIONS > 1 ? MIN_MS + ((MAX_MS - MIN_MS) * i) / (SESSIONS - 1) : MIN_MS;
      const start = t0 + Math.random() * interval;
      const acks = [];
      for (let k = 0; start + k * interval < t0 + SECS * 1000 && !failed; k++) {
        const wait = start + k * interval - now();
        if (wait > 0) await sleep(wait);
        const t = now();
        const body = `{"s":${i},"k":${k},"t":${t},"p":"${PAD}"}`;
        sent[i][k] = t;
        const { ack } = await agents.append(i, k, body);
        acks.push(
          ack.then(
            (at) => (acked[i][k] = at),
            (e) => (failed ??= `session ${i}: append ${k} failed: ${e.message ?? e}`),
          ),
        );
      }
      await Promise.all(acks);
      await agents.close(i).catch((e) => (failed ??= `session ${i}: close failed: ${e.message ?? e}`));
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const wall = now() - t0;
  lag.disable();
  process.send(
    { sent, acked, failed, cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100, lag99: lag.percentile(99) / 1e6, lagMax: lag.max / 1e6 },
    () => process.exit(0),
  );
}

// ---------------------------------------------------------------------------------------------
// Subscribers and results (parent).

const url = opt.url ? new URL(opt.url) : null;
const agent = url && new http.Agent({ keepAlive: true, maxSockets: 16 });

function call(method, path, token, body, want, extra = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}), ...extra },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () =>
          want.includes(res.statusCode)
            ? resolve({ headers: res.headers, json: text ? JSON.parse(text) : null })
            : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on("error", reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

/** Records the arrival of body `b` (seq_num `seq`) at subscriber `sub`, checking its order. */
function take(sub, b, seq, t) {
  if (b.s !== sub.s || b.k !== sub.next || seq !== b.k) {
    sub.errors.push(`got s=${b.s} k=${b.k} seq=${seq}, expected s=${sub.s} k=${sub.next}`);
    return;
  }
  sub.recv[b.k] = t;
  sub.sentIn[b.k] = b.t;
  sub.next += 1;
}

/**
 * One SSE subscriber of session `s`: stamps the arrival of every record (the time its chunk was
 * read), parses the batch JSON and the record bodies, checks order and completeness.
 */
class Subscriber {
  constructor(kind, s, path, headers) {
    this.kind = kind;
    this.s = s;
    this.next = 0; // the next k expected
    this.errors = [];
    this.buf = "";
    this.recv = []; // recv[k] = arrival time
    this.sentIn = []; // sentIn[k] = the body's send time
    this.ready = new Promise((resolve, reject) => {
      this.onPing = resolve;
      this.req = http.get(
        { host: url.hostname, port: url.port, path, agent: false, headers: { accept: "text/event-stream", ...headers } },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`${kind} subscriber ${s}: status ${res.statusCode}`));
          res.setEncoding("utf8");
          res.on("data", (d) => this.onData(d));
          res.on("end", () => this.closing || this.errors.push("stream ended"));
          res.on("error", () => {});
        },
      );
      this.req.on("error", (e) => (this.closing ? undefined : reject(e)));
    });
  }
  onData(d) {
    const t = now();
    this.buf += d;
    const cut = this.buf.lastIndexOf("\n\n");
    if (cut < 0) return;
    const events = this.buf.slice(0, cut).split("\n\n");
    this.buf = this.buf.slice(cut + 2);
    for (const ev of events) {
      let name = "message";
      let data = "";
      for (const line of ev.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(line[5] === " " ? 6 : 5);
      }
      if (name === "ping") {
        if (this.onPing) this.onPing();
        this.onPing = null;
      } else if (name === "batch") {
        for (const r of JSON.parse(data).records) take(this, JSON.parse(r.body), r.seq_num, t);
      } else if (data !== "[DONE]") {
        this.errors.push(`event ${name}: ${data}`);
      }
    }
  }
  close() {
    this.closing = true;
    this.req.destroy();
  }
}

/** Redis mode: subscriber `s` loops XREAD BLOCK 0 on stream rs-<s> from the last id it saw. */
class RedisSubscriber {
  constructor(s) {
    this.kind = "redis";
    this.s = s;
    this.next = 0;
    this.errors = [];
    this.recv = [];
    this.sentIn = [];
    this.conn = new Resp(opt.redis);
    this.ready = this.conn.cmd("PING").then(() => void this.loop());
  }
  async loop() {
    let last = "0-0";
    for (;;) {
      let r;
      try {
        r = await this.conn.cmd("XREAD", "BLOCK", "0", "STREAMS", `rs-${this.s}`, last);
      } catch (e) {
        if (!this.conn.closing) this.errors.push(`XREAD: ${e.message}`);
        return;
      }
      for (const [, entries] of r.value ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          const b = JSON.parse(fields[1]);
          take(this, b, b.k, r.t);
        }
      }
    }
  }
  close() {
    this.conn.close();
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** weir: the tenant, sessions and channel PUTs, then the SSE subscribers of both kinds. */
async function weirSetup(kinds, subs) {
  const root = opt.token;
  const tag = `${process.pid}${Date.now().toString(36)}`;
  const org = (await call("POST", "/admin/api/v1/orgs", root, { slug: `bench-${tag}`, title: "Bench" }, [201])).json;
  const project = (await call("POST", `/admin/api/v1/orgs/${org.id}/projects`, root, { slug: "bench" }, [201])).json;
  const env = (await call("POST", `/admin/api/v1/projects/${project.id}/environments`, root, { slug: "dev" }, [201])).json;
  const prefix = `org/${org.id}/env/dev/${env.id}`; // an unprovisioned org: the global basin
  const channels = [];
  const jwts = [];
  for (let i = 0; i < SESSIONS; i++) {
    const s = (await call("POST", "/api/v1/sessions", env.apiKey, { externalId: `s-${i}`, type: "chat" }, [201])).json;
    jwts.push(s.publicAccessToken);
    const h = (await call("PUT", `/realtime/v1/sessions/s-${i}/out`, env.apiKey, null, [202])).headers;
    channels.push({ token: h["x-s2-access-token"], stream: h["x-s2-stream-name"], basin: h["x-s2-basin"], endpoint: h["x-s2-endpoint"] });
    if (!channels[i].token || channels[i].stream !== `/sessions/s-${i}/out` || !channels[i].endpoint) {
      throw new Error(`PUT s-${i}: unexpected X-S2-* headers ${JSON.stringify(channels[i])}`);
    }
  }
  const basin = channels[0].basin;
  console.log(`SETUP ${env.apiKey} ${SESSIONS} ${basin} ${prefix}${channels[0].stream}`);

  // Subscribers, in waves; each is ready once following (its first ping).
  for (let i = 0; i < SESSIONS; i += 50) {
    const wave = [];
    for (let j = i; j < Math.min(SESSIONS, i + 50); j++) {
      const order = j % 2 ? [...kinds].reverse() : kinds;
      for (const kind of order) {
        const sub =
          kind === "rt"
            ? new Subscriber("rt", j, `/realtime/v1/sessions/s-${j}/out`, { authorization: `Bearer ${jwts[j]}` })
            : new Subscriber("v1", j, `/v1/streams/${encodeURIComponent(prefix + channels[j].stream)}/records?seq_num=0`, {
                authorization: `Bearer ${root}`,
                "s2-basin": basin,
              });
        subs[kind].push(sub);
        wave.push(sub.ready);
      }
    }
    await Promise.all(wave);
  }
  return channels;
}

async function main() {
  if (!(opt.redis || (opt.url && opt.token)) || !opt.pid) throw new Error("--url and --token, or --redis, and --pid are required");
  const kinds = opt.redis ? ["redis"] : opt.kinds.split(",");
  /** CPU time (user + system) the server has used so far, in ms (USER_HZ = 100). */
  const serverCpuMs = () => {
    const f = readFileSync(`/proc/${opt.pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  const subs = { rt: [], v1: [], redis: [] };
  let channels = null;
  if (opt.redis) {
    for (let j = 0; j < SESSIONS; j++) subs.redis.push(new RedisSubscriber(j));
    await Promise.all(subs.redis.map((sub) => sub.ready));
  } else {
    channels = await weirSetup(kinds, subs);
  }

  // --- agents ---
  const child = fork(new URL(import.meta.url).pathname, [
    "--agent", ...(opt.redis ? ["--redis", opt.redis] : []), "--sessions", String(SESSIONS), "--secs", String(SECS), "--min-ms", String(MIN_MS), "--max-ms", String(MAX_MS),
  ]);
  if (opt["agent-cpu"] !== undefined) execFileSync("taskset", ["-p", "-c", opt["agent-cpu"], String(child.pid)], { stdio: "ignore" });
  const queue = [];
  let exited = null;
  child.on("message", (m) => queue.push(m));
  child.on("exit", (code) => (exited = code));
  /** The agent process's next message; bounded in time. */
  const nextMsg = async (limitMs) => {
    const deadline = now() + limitMs;
    while (queue.length === 0) {
      if (exited !== null) throw new Error(`agent process exited with ${exited}`);
      if (now() > deadline) {
        child.kill();
        throw new Error(`no answer from the agent process after ${limitMs / 1000} s`);
      }
      await sleep(5);
    }
    return queue.shift();
  };
  child.send(channels);
  await nextMsg(30000); // ready: every append session is open
  await sleep(500);
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const cpu0 = process.cpuUsage();
  const srv0 = serverCpuMs();
  const t0 = now();
  child.send({ go: true });
  const res = await nextMsg((SECS + 30) * 1000);
  if (res.failed) throw new Error(`agents: ${res.failed}`);
  const { sent, acked } = res;
  const total = sent.reduce((a, s) => a + s.length, 0);
  const all = [...subs.rt, ...subs.v1, ...subs.redis];
  const deadline = now() + 15000; // bounded grace for the last deliveries
  while (now() < deadline && all.some((s) => s.next < sent[s.s].length)) await sleep(20);
  const wall = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const srvCpu = ((serverCpuMs() - srv0) / wall) * 100;
  const subCpu = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  lag.disable();
  for (const s of all) s.close();
  agent?.destroy();

  // --- results ---
  const num = (a, b) => a - b;
  const stats = {};
  let missing = 0;
  const errors = [];
  for (const kind of ["rt", "v1", "redis"]) {
    const fromSend = [];
    const fromAck = [];
    for (const sub of subs[kind]) {
      for (const e of sub.errors) errors.push(`${kind} subscriber ${sub.s}: ${e}`);
      for (let k = 0; k < sent[sub.s].length; k++) {
        if (sub.recv[k] === undefined) {
          missing += 1;
          continue;
        }
        if (sub.sentIn[k] !== sent[sub.s][k]) errors.push(`${kind} subscriber ${sub.s}: record ${k} carries a wrong time`);
        fromSend.push(sub.recv[k] - sent[sub.s][k]);
        fromAck.push(sub.recv[k] - acked[sub.s][k]);
      }
    }
    stats[kind] = { fromSend: fromSend.sort(num), fromAck: fromAck.sort(num) };
  }
  const sendAck = sent.flatMap((s, i) => s.map((t, k) => acked[i][k] - t)).sort(num);
  const f = (x) => (Number.isNaN(x) || x === undefined ? "nan" : x.toFixed(3));
  const line = (kind) => {
    const { fromSend: a, fromAck: b } = stats[kind];
    return (
      `send→event p50 ${f(pct(a, 50))} ms, p99 ${f(pct(a, 99))} ms, max ${f(a.at(-1))} ms; ` +
      `ack→event p50 ${f(pct(b, 50))} ms, p99 ${f(pct(b, 99))} ms (${a.length} deliveries)`
    );
  };
  console.log(
    `${SESSIONS} sessions, ${total} records appended (${(total / SECS).toFixed(0)}/s, one every ${MIN_MS}–${MAX_MS} ms per session, ${SECS} s); ` +
      `${missing} deliveries missing`,
  );
  if (kinds.includes("rt")) console.log(`realtime route (public JWT): ${line("rt")}`);
  if (kinds.includes("v1")) console.log(`/v1 SSE (root token):       ${line("v1")}`);
  if (opt.redis) console.log(`redis XREAD BLOCK:          ${line("redis")}`);
  console.log(`append (${opt.redis ? "XADD" : "SDK s2s"}) send→ack: p50 ${f(pct(sendAck, 50))} ms, p99 ${f(pct(sendAck, 99))} ms, max ${f(sendAck.at(-1))} ms`);
  console.log(`CPU: server ${srvCpu.toFixed(0)}% of one core, subscriber process ${subCpu.toFixed(0)}%, agent process ${res.cpuPct.toFixed(0)}%`);
  console.log(
    `event-loop delay p99 / max: subscriber process ${f(lag.percentile(99) / 1e6)} / ${f(lag.max / 1e6)} ms, ` +
      `agent process ${f(res.lag99)} / ${f(res.lagMax)} ms`,
  );
  for (const e of errors.slice(0, 10)) console.log(`error: ${e}`);
  const first = opt.redis ? "redis" : "rt";
  const r = (k, which, p) => f(stats[k][which].length ? (p === "max" ? stats[k][which].at(-1) : pct(stats[k][which], p)) : NaN);
  console.log(
    `RESULT ${r(first, "fromSend", 50)} ${r(first, "fromSend", 99)} ${r(first, "fromSend", "max")} ` +
      `${r("v1", "fromSend", 50)} ${r("v1", "fromSend", 99)} ${r("v1", "fromSend", "max")} ` +
      `${r(first, "fromAck", 50)} ${r(first, "fromAck", 99)} ${r("v1", "fromAck", 50)} ${r("v1", "fromAck", 99)} ` +
      `${f(pct(sendAck, 50))} ${f(pct(sendAck, 99))} ${total} ${missing} ${srvCpu.toFixed(0)} ${subCpu.toFixed(0)} ${res.cpuPct.toFixed(0)}`,
  );
  process.exit(missing === 0 && errors.length === 0 ? 0 : 1);
}

if (opt.agent) await agentMain();
else await main();
