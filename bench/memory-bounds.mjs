// bench/memory-bounds.mjs — what hostile clients cost the server in memory (issue #13): for each
// scenario a fresh weir (WEIR_BIN) is started, the attack is applied by this process, and the
// server's peak RSS growth over its idle baseline is reported in total and per connection (or
// reader). The attacks are the ones the black-box review used:
//   pipeline   C connections each pipeline R requests whose answers are ~1 MiB (a read of 1000
//              records) and never read a byte;
//   h2-heads   C h2c connections each open S streams whose HEADERS never end (no END_STREAM);
//   h2-bodies  C h2c connections each open S streams and send up to 8 MiB of body on each, never
//              finishing them;
//   sse-idle   N SSE readers (HTTP/1.1) that read until they follow the tail, then stop reading
//              while B live batches of ~960 KB are appended.
// Usage: node bench/memory-bounds.mjs [scale=1]   (scale multiplies connection counts)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import http2 from "node:http2";

const BIN = process.env.WEIR_BIN ?? "build/release/weir";
const SCALE = Number(process.argv[2] ?? 1);
const TOKEN = "bench-root-token-0123456789abcdef";
const BASIN = "bench-memory-basin";

function rssKb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}

async function start(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "weir-mem-"));
  const proc = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "warn"], {
    env: { ...process.env, WEIR_ROOT_TOKEN: TOKEN, WEIR_MAX_CONNECTIONS: "100000", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/[^\s:]+:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (c) => reject(new Error(`weir exited ${c}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const api = async (method, path, body, headers = {}) => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "s2-basin": BASIN, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json().catch(() => undefined);
  };
  await api("POST", "/v1/basins", { basin: BASIN });
  return {
    proc,
    port,
    api,
    async stop() {
      proc.kill("SIGKILL");
      await new Promise((r) => proc.on("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Peak RSS while polling until it has not grown by > 256 KB for quietMs. */
async function settledPeak(pid, quietMs = 2000, capMs = 60000) {
  let peak = rssKb(pid);
  let since = Date.now();
  const t0 = Date.now();
  while (Date.now() - since < quietMs && Date.now() - t0 < capMs) {
    await new Promise((r) => setTimeout(r, 100));
    const v = rssKb(pid);
    if (v > peak + 256) {
      peak = v;
      since = Date.now();
    }
  }
  return peak;
}

const connect = (port) =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });

async function pipeline(w) {
  const C = 20 * SCALE, R = 300;
  await w.api("POST", "/v1/streams", { stream: "big" });
  const kb = "x".repeat(1000);
  for (let i = 0; i < 4; i++) await w.api("POST", "/v1/streams/big/records", { records: Array.from({ length: 250 }, () => ({ body: kb })) });
  const base = rssKb(w.proc.pid);
  const head = `GET /v1/streams/big/records?seq_num=0&count=1000 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ns2-basin: ${BASIN}\r\n\r\n`;
  const socks = [];
  for (let i = 0; i < C; i++) {
    const s = await connect(w.port);
    s.pause();
    s.write(head.repeat(R));
    socks.push(s);
  }
  const peak = await settledPeak(w.proc.pid);
  socks.forEach((s) => s.destroy());
  return { what: `${C} connections × ${R} pipelined ~1 MiB answers, never read`, base, peak, per: C, unit: "connection" };
}

function h2connect(port) {
  return new Promise((resolve, reject) => {
    const c = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 65535 } });
    c.on("connect", () => resolve(c));
    c.on("error", () => {});
    setTimeout(() => reject(new Error("h2 connect timeout")), 10000);
  });
}

async function h2heads(w) {
  const C = 50 * SCALE, S = 100;
  const base = rssKb(w.proc.pid);
  const conns = [];
  for (let i = 0; i < C; i++) {
    const c = await h2connect(w.port);
    for (let k = 0; k < S; k++) {
      const st = c.request({ ":method": "POST", ":path": "/v1/basins", authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, { endStream: false });
      st.on("error", () => {});
    }
    conns.push(c);
  }
  const peak = await settledPeak(w.proc.pid);
  conns.forEach((c) => c.destroy());
  return { what: `${C} h2c connections × ${S} streams whose request never ends`, base, peak, per: C, unit: "connection" };
}

async function h2bodies(w) {
  const C = 4 * SCALE, S = 40, MB8 = Buffer.alloc(8 << 20, 0x61);
  const base = rssKb(w.proc.pid);
  const conns = [];
  for (let i = 0; i < C; i++) {
    const c = await h2connect(w.port);
    for (let k = 0; k < S; k++) {
      const st = c.request({ ":method": "POST", ":path": "/v1/basins", authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, { endStream: false });
      st.on("error", () => {});
      st.write(MB8); // never ended
    }
    conns.push(c);
  }
  const peak = await settledPeak(w.proc.pid);
  conns.forEach((c) => c.destroy());
  return { what: `${C} h2c connections × ${S} streams sending 8 MiB bodies without END_STREAM`, base, peak, per: C, unit: "connection" };
}

async function sseIdle(w) {
  const N = 1000 * SCALE, B = 8;
  await w.api("POST", "/v1/streams", { stream: "live" });
  const socks = [];
  for (let i = 0; i < N; i++) {
    const s = await connect(w.port);
    socks.push(s);
    await new Promise((resolve) => {
      let got = "";
      s.on("data", (d) => {
        got += d;
        if (got.includes("event: ping")) {
          s.pause();
          resolve();
        }
      });
      s.write(`GET /v1/streams/live/records?seq_num=0 HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\nauthorization: Bearer ${TOKEN}\r\ns2-basin: ${BASIN}\r\n\r\n`);
    });
  }
  const base = rssKb(w.proc.pid);
  const chunk = "y".repeat(120 * 1024);
  for (let i = 0; i < B; i++) await w.api("POST", "/v1/streams/live/records", { records: Array.from({ length: 8 }, () => ({ body: chunk })) });
  const peak = await settledPeak(w.proc.pid);
  socks.forEach((s) => s.destroy());
  return { what: `${N} SSE readers that stopped reading × ${B} live ~960 KB batches`, base, peak, per: N, unit: "reader" };
}

const rows = [];
for (const [name, fn] of [["pipeline", pipeline], ["h2-heads", h2heads], ["h2-bodies", h2bodies], ["sse-idle", sseIdle]]) {
  const w = await start();
  try {
    const r = await fn(w);
    rows.push({ name, ...r });
    const grow = r.peak - r.base;
    console.log(`${name.padEnd(10)} +${(grow / 1024).toFixed(1)} MiB peak over ${(r.base / 1024).toFixed(1)} MiB idle = ${(grow / r.per).toFixed(1)} KB per ${r.unit} — ${r.what}`);
  } finally {
    await w.stop();
  }
}
console.log("\n| attack | peak RSS growth | per unit |\n|---|---|---|");
for (const r of rows) console.log(`| ${r.what} | +${((r.peak - r.base) / 1024).toFixed(1)} MiB | ${((r.peak - r.base) / r.per).toFixed(1)} KB per ${r.unit} |`);
