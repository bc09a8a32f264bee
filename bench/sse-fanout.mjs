// bench/sse-fanout.mjs — load generator for bench/sse-fanout.sh: N SSE subscribers following one
// stream while a writer appends R records/s for S seconds (one record per append). Measures
//   - delivery latency: append ack received → batch event carrying that record received, over
//     every (subscriber, record) pair. The writer is a separate process (so its acks are not
//     queued behind 1,000 subscriber sockets in one event loop); both stamp times with the
//     shared monotonic clock. A negative value means the event reached its subscriber before the
//     ack reached the writer. Also reported: append send → event, and send → ack.
//   - server RSS per idle subscriber: (RSS with N idle subscribers at the tail − RSS before) / N.
//   - server and load-generator CPU during the run, so a saturated client is visible.
// Checks that every subscriber got every record exactly once, in order. Loopback only; bounded
// in count (N subscribers, R × S records) and time (S plus at most 10 s of grace).
//
// Usage: node bench/sse-fanout.mjs --url http://127.0.0.1:PORT --pid SERVER_PID
//          [--subs 1000] [--rate 100] [--secs 10]
// Prints human-readable lines and one machine-readable line:
//   RESULT <ack→event p50 ms> <p99 ms> <send→event p50 ms> <p99 ms> <send→ack p50 ms> <p99 ms>
//          <KB per idle subscriber> <complete subscribers> <records> <server CPU %> <client CPU %>
import http from "node:http";
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" },
    pid: { type: "string" },
    subs: { type: "string", default: "1000" },
    rate: { type: "string", default: "100" },
    secs: { type: "string", default: "10" },
    writer: { type: "boolean", default: false }, // internal: run as the writer child
    base: { type: "string" }, // internal: first seq_num to write
    clock: { type: "string" }, // internal: hrtime origin shared with the parent
  },
});
const SUBS = Number(opt.subs);
const RATE = Number(opt.rate);
const SECS = Number(opt.secs);
const N = Math.round(RATE * SECS);
const BASIN = "bench-fanout-01";
const STREAM = "fan";
const url = new URL(opt.url);
const CLOCK0 = opt.clock ? BigInt(opt.clock) : process.hrtime.bigint();
/** Milliseconds on the monotonic clock, comparable between this process and the writer. */
const now = () => Number(process.hrtime.bigint() - CLOCK0) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const AUTH = `Bearer ${process.env.WEIR_ROOT_TOKEN ?? ""}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, agent, headers: { "content-type": "application/json", "s2-basin": BASIN, authorization: AUTH } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () =>
          res.statusCode < 300 ? resolve(text ? JSON.parse(text) : null) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Writer child: N appends on an absolute schedule; reports the sent and ack times by seq_num.
async function writerMain() {
  const base = Number(opt.base);
  const sent = new Array(N).fill(NaN);
  const acked = new Array(N).fill(NaN);
  const t0 = now() + 20;
  const appends = [];
  for (let i = 0; i < N; i++) {
    const wait = t0 + (i * 1000) / RATE - now();
    if (wait > 0) await sleep(wait);
    const sentAt = now();
    // Appends may overlap (acks wait for fsync), so index the times by the seq_num assigned.
    appends.push(
      call("POST", `/v1/streams/${STREAM}/records`, { records: [{ body: `rec-${i}-${"x".repeat(64)}` }] }).then((ack) => {
        const k = ack.start.seq_num - base;
        if (k < 0 || k >= N || !Number.isNaN(acked[k])) throw new Error(`unexpected seq_num ${ack.start.seq_num}; another writer?`);
        acked[k] = now();
        sent[k] = sentAt;
      }),
    );
  }
  await Promise.all(appends);
  agent.destroy();
  process.send({ sent, acked }, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Parent: subscribers, RSS, results.

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * One subscriber: a raw SSE reader that stamps the arrival time of every record. It does not
 * JSON-parse batches: the event id `<last seq>,<records so far>,<bytes so far>` says which
 * records a batch carried, so the load generator stays cheap.
 */
class Subscriber {
  constructor(base) {
    this.base = base;
    this.count = 0; // records received in this session
    this.errors = 0;
    this.buf = "";
    this.recv = new Float64Array(N).fill(NaN);
    this.pinged = new Promise((resolve, reject) => {
      this.onPing = resolve;
      this.req = http.get(
        {
          host: url.hostname,
          port: url.port,
          path: `/v1/streams/${STREAM}/records?seq_num=${base}`,
          agent: false,
          headers: { accept: "text/event-stream", "s2-basin": BASIN, authorization: AUTH },
        },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`subscriber: status ${res.statusCode}`));
          res.setEncoding("utf8");
          res.on("data", (d) => this.onData(d));
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
    const whole = this.buf.slice(0, cut);
    this.buf = this.buf.slice(cut + 2);
    if (this.onPing && whole.includes("event: ping")) {
      this.onPing();
      this.onPing = null;
    }
    for (const m of whole.matchAll(/^id: ?(\d+),(\d+),/gm)) {
      const last = Number(m[1]);
      const count = Number(m[2]);
      // In order, no gap, no duplicate: the session's count must track the last seq_num.
      if (count <= this.count || last - this.base + 1 !== count) this.errors += 1;
      for (let k = this.count; k < count && k < N; k++) this.recv[k] = t;
      this.count = count;
    }
  }
  close() {
    this.closing = true;
    this.req.destroy();
  }
}

async function main() {
  if (!opt.url || !opt.pid) throw new Error("--url and --pid are required");
  const rssKb = () => Number(readFileSync(`/proc/${opt.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)\s+kB/)[1]);
  /** CPU time (user + system) the server has used so far, in ms (USER_HZ = 100). */
  const serverCpuMs = () => {
    const f = readFileSync(`/proc/${opt.pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  };

  await call("POST", "/v1/basins", { basin: BASIN });
  await call("POST", "/v1/streams", { stream: STREAM });
  await call("POST", `/v1/streams/${STREAM}/records`, { records: Array.from({ length: 10 }, () => ({ body: "warm-up" })) });
  const base = (await call("GET", `/v1/streams/${STREAM}/records/tail`)).tail.seq_num;

  // RSS per idle subscriber: subscribers join in waves of 100; each is idle once it got the
  // first ping (it is following at the tail).
  await sleep(500);
  const rssBefore = rssKb();
  const subs = [];
  for (let i = 0; i < SUBS; i += 100) {
    const wave = [];
    for (let j = i; j < Math.min(SUBS, i + 100); j++) {
      const s = new Subscriber(base);
      subs.push(s);
      wave.push(s.pinged);
    }
    await Promise.all(wave);
  }
  await sleep(1000);
  const rssIdle = rssKb();
  const kbPerSub = (rssIdle - rssBefore) / SUBS;
  console.log(
    `server RSS: ${(rssBefore / 1024).toFixed(1)} MB before, ${(rssIdle / 1024).toFixed(1)} MB with ${SUBS} idle subscribers: ` +
      `${kbPerSub.toFixed(2)} KB per subscriber`,
  );

  // The writer runs in its own process on the same CPU (the caller pins this process tree).
  const cpu0 = process.cpuUsage();
  const srv0 = serverCpuMs();
  const t0 = now();
  const writer = fork(new URL(import.meta.url).pathname, [
    "--writer", "--url", opt.url, "--rate", String(RATE), "--secs", String(SECS), "--base", String(base), "--clock", String(CLOCK0),
  ]);
  // Bounded: if the server cannot keep up, give up after a fixed time and report what arrived.
  const limitMs = SECS * 4000 + 20000;
  let timer;
  const { sent, acked } = await new Promise((resolve, reject) => {
    writer.on("message", resolve);
    writer.on("exit", (code) => code && reject(new Error(`writer exited with ${code}`)));
    timer = setTimeout(() => {
      console.log(`writer not done after ${limitMs / 1000} s: stopping it; unacked appends count as missing`);
      writer.kill();
      resolve({ sent: new Array(N).fill(NaN), acked: new Array(N).fill(NaN) });
    }, limitMs);
  });
  clearTimeout(timer);
  const deadline = now() + 10000; // bounded grace for the last deliveries
  while (now() < deadline && subs.some((s) => s.count < N)) await sleep(20);
  const cpu = process.cpuUsage(cpu0);
  const wall = now() - t0;
  const srvCpuMs = serverCpuMs() - srv0;
  const srvCpu = (srvCpuMs / wall) * 100;
  for (const s of subs) s.close();
  agent.destroy();

  const fromAck = [];
  const fromSend = [];
  let complete = 0;
  let missing = 0;
  for (const s of subs) {
    let whole = s.errors === 0;
    for (let k = 0; k < N; k++) {
      if (Number.isNaN(s.recv[k]) || Number.isNaN(acked[k])) {
        whole = false;
        missing += 1;
        continue;
      }
      fromAck.push(s.recv[k] - acked[k]);
      fromSend.push(s.recv[k] - sent[k]);
    }
    if (whole) complete += 1;
  }
  const num = (a, b) => a - b;
  fromAck.sort(num);
  fromSend.sort(num);
  const ackLat = sent.map((v, k) => acked[k] - v).sort(num);
  const clientCpu = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const f = (x) => x.toFixed(3);
  console.log(`records: ${N} appended (${RATE}/s for ${SECS}s); ${complete}/${SUBS} subscribers got all of them in order; ${missing} deliveries missing`);
  console.log(`append send→ack: p50 ${f(pct(ackLat, 50))} ms, p99 ${f(pct(ackLat, 99))} ms`);
  console.log(
    `delivery ack→event: p50 ${f(pct(fromAck, 50))} ms, p99 ${f(pct(fromAck, 99))} ms, max ${f(fromAck.at(-1) ?? NaN)} ms; ` +
      `send→event: p50 ${f(pct(fromSend, 50))} ms, p99 ${f(pct(fromSend, 99))} ms`,
  );
  const delivered = SUBS * N - missing;
  console.log(
    `CPU during the run: server ${srvCpu.toFixed(0)}% of one core ` +
      `(${((srvCpuMs * 1000) / Math.max(1, delivered)).toFixed(2)} µs of server CPU per delivered record), ` +
      `subscriber process ${clientCpu.toFixed(0)}% (plus the writer)`,
  );
  console.log(
    `RESULT ${f(pct(fromAck, 50))} ${f(pct(fromAck, 99))} ${f(pct(fromSend, 50))} ${f(pct(fromSend, 99))} ` +
      `${f(pct(ackLat, 50))} ${f(pct(ackLat, 99))} ${kbPerSub.toFixed(2)} ${complete} ${N} ${srvCpu.toFixed(0)} ${clientCpu.toFixed(0)}`,
  );
  process.exit(complete === SUBS ? 0 : 1);
}

if (opt.writer) await writerMain();
else await main();
