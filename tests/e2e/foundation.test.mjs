// foundation.test.mjs — the server core through the real binary: health, errors, CORS,
// configuration errors, graceful shutdown.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startWeir, runWeir } from "./harness.mjs";

let weir;
before(async () => {
  weir = await startWeir();
});
after(async () => {
  await weir.stop();
});

test("GET /health and /ping answer 200 OK", async () => {
  for (const path of ["/health", "/ping"]) {
    const res = await fetch(weir.url + path);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "OK");
  }
});

test("the start-up output names the S2 endpoints", () => {
  const { stdout } = weir.output();
  assert.match(stdout, /export S2_ACCOUNT_ENDPOINT=http:\/\/127\.0\.0\.1:\d+/);
  assert.match(stdout, /export S2_BASIN_ENDPOINT=http:\/\/127\.0\.0\.1:\d+/);
  assert.match(stdout, /export S2_ACCESS_TOKEN=/);
});

test("unknown routes and methods get JSON errors", async () => {
  const rows = [
    { method: "GET", path: "/nope", status: 404, code: "not_found" },
    { method: "DELETE", path: "/health", status: 405, code: "method_not_allowed", allow: "GET, OPTIONS" },
  ];
  for (const row of rows) {
    const res = await fetch(weir.url + row.path, { method: row.method });
    assert.equal(res.status, row.status, row.path);
    const body = await res.json();
    assert.equal(body.code, row.code);
    assert.equal(typeof body.message, "string");
    if (row.allow) assert.equal(res.headers.get("allow"), row.allow);
  }
});

test("CORS headers on responses and preflight", async () => {
  const res = await fetch(weir.url + "/health", { headers: { origin: "http://app.example" } });
  assert.equal(res.headers.get("access-control-allow-origin"), "http://app.example");
  const pre = await fetch(weir.url + "/health", {
    method: "OPTIONS",
    headers: { origin: "http://app.example", "access-control-request-headers": "authorization,s2-basin" },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get("access-control-allow-methods"), /GET/);
  assert.equal(pre.headers.get("access-control-allow-headers"), "authorization,s2-basin");
});

function rawExchange(port, payload, { waitMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let out = "";
    sock.on("data", (d) => (out += d));
    sock.on("end", () => resolve(out));
    sock.on("error", reject);
    sock.write(payload);
    setTimeout(() => {
      sock.destroy();
      resolve(out);
    }, waitMs);
  });
}

test("pipelined requests are answered in order", async () => {
  const out = await rawExchange(
    weir.port,
    "GET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ["200", "404", "200"]);
});

test("malformed request lines get 400 and a closed connection", async () => {
  const out = await rawExchange(weir.port, "GARBAGE\r\n\r\n");
  assert.match(out, /^HTTP\/1\.1 400/);
  assert.match(out, /"code":"bad_request"/);
});

test("an oversized request head gets 431", async () => {
  const out = await rawExchange(weir.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20000)}\r\n\r\n`);
  assert.match(out, /^HTTP\/1\.1 431/);
});

test("--help lists options with their environment variables", async () => {
  const { code, stdout } = await runWeir(["serve", "--help"]);
  assert.equal(code, 0);
  for (const opt of ["--listen", "--data-dir", "--log-level", "--no-cors", "WEIR_LISTEN"]) assert.ok(stdout.includes(opt), opt);
});

test("invalid configuration exits 2 naming the option", async () => {
  const rows = [
    { args: ["serve", "--idle-timeout", "1.5d"], env: {}, needle: "--idle-timeout" },
    { args: ["serve", "--listen", "nope"], env: {}, needle: "--listen" },
    { args: ["serve", "--frobnicate"], env: {}, needle: "--frobnicate" },
    { args: ["serve"], env: { WEIR_LOG_LEVEL: "loud" }, needle: "WEIR_LOG_LEVEL" },
  ];
  for (const row of rows) {
    const { code, stderr } = await runWeir(row.args, row.env);
    assert.equal(code, 2, row.args.join(" "));
    assert.ok(stderr.includes(row.needle), `${row.needle} in: ${stderr}`);
  }
});

test("SIGTERM shuts down gracefully with exit 0", async () => {
  const w = await startWeir();
  const res = await fetch(w.url + "/health");
  assert.equal(res.status, 200);
  await w.stop(); // throws unless exit code 0
});

test("--no-cors turns CORS headers off", async () => {
  const w = await startWeir({ args: ["--no-cors"] });
  try {
    const res = await fetch(w.url + "/health", { headers: { origin: "http://x" } });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  } finally {
    await w.stop();
  }
});
