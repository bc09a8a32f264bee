// observability.test.mjs — issue 17: GET /metrics (Prometheus text format) and the request log.
// The scrape is checked by Prometheus's own tools: `promtool check metrics` (Debian's prometheus
// package, installed by scripts/deps.sh) parses and lints it, and parse-prometheus-text-format
// (npm, pinned) reads the values. Also: no label carries a stream, basin or tenant name; the
// endpoint needs no token, can be turned off or moved to its own listener; one log line per
// request with method, route template, status, bytes, duration and request id, never a token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { startWeir } from "./harness.mjs";

const BASIN = "obs-secret-basin-name";
const STREAM = "obs-secret-stream-name";
let weir;
before(async () => {
  weir = await startWeir();
});
after(async () => {
  await weir?.stop();
});

async function api(w, method, path, { body, headers = {}, token = w.token } = {}) {
  const res = await fetch(`${w.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function traffic(w) {
  assert.equal((await api(w, "POST", "/v1/basins", { body: { basin: BASIN, config: { create_stream_on_append: true } } })).status, 201);
  const rec = { records: [{ body: "hello" }, { body: "world" }] };
  for (let i = 0; i < 3; i++)
    assert.equal((await api(w, "POST", `/v1/streams/${STREAM}/records`, { body: rec, headers: { "s2-basin": BASIN } })).status, 200);
  assert.equal((await api(w, "GET", `/v1/streams/${STREAM}/records?seq_num=0&count=6`, { headers: { "s2-basin": BASIN } })).status, 200);
  assert.equal((await api(w, "GET", "/v1/nope")).status, 404);
}

function promtool(text) {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.ok(!r.error, `promtool is needed (scripts/deps.sh installs Debian's prometheus): ${r.error}`);
  return r;
}

function families(text) {
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

const value = (fams, name, labels = {}) => {
  const f = fams.get(name);
  assert.ok(f, `missing family ${name}`);
  const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  assert.ok(m, `no ${name} sample with ${JSON.stringify(labels)}`);
  return Number(m.value ?? m.count);
};

test("scrape: promtool accepts it, values add up, labels are bounded", async () => {
  await traffic(weir);
  const res = await fetch(`${weir.url}/metrics`); // no Authorization header at all
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const lint = promtool(text);
  assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
  assert.equal(lint.stdout.trim(), "", "no lint findings");

  const fams = families(text);
  for (const name of [
    "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds", "weir_uptime_seconds",
    "weir_http_requests_total", "weir_http_request_duration_seconds", "weir_http_requests_in_flight", "weir_http_connections",
    "weir_store_appended_records_total", "weir_store_appended_bytes_total", "weir_store_read_bytes_total",
    "weir_store_group_commit_appends", "weir_store_fsync_seconds", "weir_store_followers",
    "weir_store_maintenance_passes_total", "weir_store_pending_deletions", "weir_control_plane_commit_seconds",
    "weir_realtime_sse_clients", "weir_realtime_minted_tokens_total", "weir_realtime_part_ids",
    "weir_usage_flushes_total", "weir_usage_pending_entries",
  ])
    assert.ok(fams.has(name), `family ${name}`);
  assert.ok(value(fams, "process_resident_memory_bytes") > 1e6);
  assert.ok(value(fams, "process_open_fds") > 3);
  assert.equal(value(fams, "weir_store_appended_records_total"), 6);
  assert.equal(value(fams, "weir_store_appended_bytes_total"), 6 * 13);
  assert.equal(value(fams, "weir_store_read_bytes_total"), 6 * 13);
  assert.equal(value(fams, "weir_http_requests_total", { route: "/v1/streams/{stream}/records", method: "POST", code: "2xx" }), 3);
  assert.equal(value(fams, "weir_http_requests_total", { route: "unmatched", code: "4xx" }), 1);
  assert.ok(value(fams, "weir_store_fsync_seconds") >= 1, "group commits are timed");
  // (this parser keeps no labels on histogram samples: the labelled count is read from the text)
  assert.equal(fams.get("weir_http_request_duration_seconds").type, "HISTOGRAM");
  assert.match(text, /^weir_http_request_duration_seconds_count\{route="\/v1\/basins",method="POST"\} 1$/m);

  // Bounded cardinality: never a stream, basin or token in a label.
  for (const f of fams.values())
    for (const m of f.metrics)
      for (const v of Object.values(m.labels ?? {}))
        assert.ok(!v.includes(BASIN) && !v.includes(STREAM) && !v.includes(weir.token), `${f.name} label ${v}`);
  const routes = new Set(fams.get("weir_http_requests_total").metrics.map((m) => m.labels.route));
  for (const r of routes) assert.ok(r === "unmatched" || r.startsWith("/"), r);
});

test("--prometheus off, and --prometheus HOST:PORT on its own listener", async () => {
  const off = await startWeir({ args: ["--prometheus", "off"] });
  try {
    assert.equal((await fetch(`${off.url}/metrics`)).status, 404);
  } finally {
    await off.stop();
  }
  const sep = await startWeir({ args: ["--prometheus", "127.0.0.1:0"] });
  try {
    const m = sep.output().stdout.match(/metrics on http:\/\/[^\s:]+:(\d+)\/metrics/);
    assert.ok(m, sep.output().stdout);
    assert.equal((await fetch(`${sep.url}/metrics`)).status, 404, "not on the API listener");
    const res = await fetch(`http://127.0.0.1:${m[1]}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(promtool(await res.text()).status, 0);
  } finally {
    await sep.stop();
  }
});

test("request log: one line per request, route template, request id, never a token", async () => {
  const dir = mkdtempSync(join(tmpdir(), "weir-log-"));
  const file = join(dir, "access.log");
  const w = await startWeir({ args: ["--access-log", file] });
  try {
    await traffic(w);
    const secret = "sk-super-secret-token-value";
    const r = await api(w, "GET", `/v1/basins?prefix=${secret}`, { headers: { "x-request-id": "client-req-42" } });
    assert.equal(r.headers.get("x-request-id"), "client-req-42");
    await api(w, "GET", "/v1/basins", { token: secret }); // 401, token in the header only
    const generated = (await api(w, "GET", "/health")).headers.get("x-request-id");
    assert.match(generated, /^[0-9a-f]{20}$/);
    await w.stop();
    const lines = readFileSync(file, "utf8").trim().split("\n");
    assert.equal(lines.length, 1 + 3 + 1 + 1 + 1 + 1 + 1, lines.join("\n"));
    for (const l of lines) {
      assert.match(l, /^ts=\S+ level=info msg="request" id=\S+ method=[A-Z]+ route="[^"]+" status=\d{3} bytes=\d+ duration_ms=\d+\.\d{3}$/, l);
      assert.ok(!l.includes(secret) && !l.includes(w.token) && !l.includes(STREAM), l);
    }
    assert.ok(lines.some((l) => l.includes('route="/v1/streams/{stream}/records" status=200')));
    assert.ok(lines.some((l) => l.includes("id=client-req-42 ") && l.includes('route="/v1/basins" status=200')));
    assert.ok(lines.some((l) => l.includes('route="/v1/basins" status=401')));
    assert.ok(lines.some((l) => l.includes(`id=${generated} `)));
    assert.ok(lines.some((l) => l.includes('route="unmatched" status=404')));
    assert.ok(!w.output().stderr.includes('msg="request"'), "FILE means not on stderr");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const quiet = await startWeir({ args: ["--access-log", "off"] });
  await api(quiet, "GET", "/v1/basins");
  await quiet.stop();
  assert.ok(!quiet.output().stderr.includes('msg="request"'));
  const loud = await startWeir();
  await api(loud, "GET", "/v1/basins");
  await loud.stop();
  assert.match(loud.output().stderr, /level=info msg="request" id=\S+ method=GET route="\/v1\/basins" status=200/);
});
