// console-http.test.mjs — issue 20: the web console's HTTP routes through the real binary. The
// assets served are byte-for-byte the files of src/console/assets (embedded at build time);
// every answer under /console carries the security headers; unknown assets, traversal attempts
// (raw and percent-encoded), wrong methods and bad encodings get 404/405/400 without reaching
// anything but the embedded table; ETags revalidate; HEAD has no body; `--console off` removes
// the routes; and the page itself has no inline script or style for the CSP to forbid.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWeir, runWeir } from "./harness.mjs";

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), "../../src/console/assets");
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

let weir;
let off;
before(async () => {
  [weir, off] = await Promise.all([startWeir({ embedded: true }), startWeir({ embedded: true, args: ["--console", "off"] })]);
});
after(async () => {
  await Promise.all([weir?.stop(), off?.stop()]);
});

/** A request with the path sent exactly as given (fetch would normalise "..") . */
function raw(server, method, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, method, path, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

function assertSecurityHeaders(res, what) {
  assert.equal(res.headers["content-security-policy"], CSP, `${what}: CSP`);
  assert.equal(res.headers["x-content-type-options"], "nosniff", what);
  assert.equal(res.headers["x-frame-options"], "DENY", what);
  assert.equal(res.headers["referrer-policy"], "no-referrer", what);
  assert.equal(res.headers["cross-origin-opener-policy"], "same-origin", what);
  assert.equal(res.headers["cross-origin-resource-policy"], "same-origin", what);
  assert.match(res.headers["permissions-policy"] ?? "", /camera=\(\)/, what);
}

const TYPES = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8", svg: "image/svg+xml" };

test("every asset is served byte for byte with its type, the security headers and an ETag", async () => {
  const files = readdirSync(ASSETS);
  assert.ok(files.includes("index.html") && files.includes("app.js"));
  for (const name of files) {
    const res = await raw(weir, "GET", `/console/${name}`);
    assert.equal(res.status, 200, name);
    assert.ok(res.body.equals(readFileSync(join(ASSETS, name))), `${name}: bytes differ from the source file`);
    assert.equal(res.headers["content-type"], TYPES[name.split(".").pop()], name);
    assert.equal(res.headers["cache-control"], "no-cache", name);
    assert.match(res.headers.etag, /^"[0-9a-f]{16}"$/, name);
    assertSecurityHeaders(res, name);
  }
  for (const path of ["/console", "/console/"]) {
    const res = await raw(weir, "GET", path);
    assert.equal(res.status, 200, path);
    assert.ok(res.body.equals(readFileSync(join(ASSETS, "index.html"))), path);
    assertSecurityHeaders(res, path);
  }
});

test("HEAD has the headers of GET and no body", async () => {
  const get = await raw(weir, "GET", "/console/app.js");
  const head = await raw(weir, "HEAD", "/console/app.js");
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers["content-length"], String(get.body.length));
  assert.equal(head.headers.etag, get.headers.etag);
  assertSecurityHeaders(head, "HEAD");
});

test("If-None-Match revalidates: 304 without a body for a current tag, 200 otherwise", async () => {
  const { headers } = await raw(weir, "GET", "/console");
  const tag = headers.etag;
  const rows = [
    [tag, 304],
    [`W/${tag}`, 304],
    [`"0000000000000000", ${tag}`, 304],
    ["*", 304],
    ['"0000000000000000"', 200],
    [tag.slice(0, -2) + '"', 200],
    ["garbage", 200],
  ];
  for (const [inm, status] of rows) {
    const res = await raw(weir, "GET", "/console", { "if-none-match": inm });
    assert.equal(res.status, status, `If-None-Match: ${inm}`);
    if (status === 304) assert.equal(res.body.length, 0);
    assertSecurityHeaders(res, `If-None-Match: ${inm}`);
  }
});

test("unknown assets, traversal attempts and bad encodings never reach anything but the table", async () => {
  const rows = [
    // [method, path, status]
    ["GET", "/console/nope.js", 404],
    ["GET", "/console/APP.JS", 404],
    ["GET", "/console/app.js/", 404],
    ["GET", "/console//app.js", 404],
    ["GET", "/console/./app.js", 404],
    ["GET", "/console/..", 404],
    ["GET", "/console/../", 404],
    ["GET", "/console/../CMakeLists.txt", 404],
    ["GET", "/console/../../etc/passwd", 404],
    ["GET", "/console/%2e%2e", 404],
    ["GET", "/console/%2E%2E/", 404],
    ["GET", "/console/%2e%2e%2fCMakeLists.txt", 404],
    ["GET", "/console/..%2f..%2f..%2fetc%2fpasswd", 404],
    ["GET", "/console/%252e%252e%252fmain.c", 404],
    ["GET", "/console/..%5cmain.c", 404],
    ["GET", "/console/assets%2fapp.js", 404],
    ["GET", "/console/console.c", 404],
    ["GET", "/console/embed.cmake", 404],
    ["GET", "/console%2fapp.js", 404],
    ["GET", "/consoleapp.js", 404],
    ["GET", "/console/app.js%00", 400],
    ["GET", "/console/app.js%00.html", 400],
    ["GET", "/console/%zz", 400],
    ["GET", "/console/%", 400],
    ["POST", "/console", 405],
    ["PUT", "/console/app.js", 405],
    ["DELETE", "/console/", 405],
    ["PATCH", "/console/index.html", 405],
  ];
  for (const [method, path, status] of rows) {
    const res = await raw(weir, method, path);
    assert.equal(res.status, status, `${method} ${path}`);
    assertSecurityHeaders(res, `${method} ${path}`);
    assert.equal(res.headers["content-type"], "text/plain; charset=utf-8", `${method} ${path}`);
    assert.ok(!res.body.toString().includes("weir console"), `${method} ${path} served a page`);
    if (status === 405) assert.equal(res.headers.allow, "GET, HEAD, OPTIONS", `${method} ${path}`);
  }
  // A query string and a percent-encoded name of a real asset are that asset.
  assert.equal((await raw(weir, "GET", "/console/app.js?v=1")).status, 200);
  assert.equal((await raw(weir, "GET", "/console/%61pp.js")).status, 200);
  // The server is still fine.
  assert.equal((await raw(weir, "GET", "/health")).status, 200);
});

test("the page loads only its own assets and has no inline script, style or handler", async () => {
  const html = readFileSync(join(ASSETS, "index.html"), "utf8");
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1], /\bsrc="\/console\/[a-z0-9.-]+"/, "every script has a same-origin src");
    assert.equal(m[2].trim(), "", "no inline script");
  }
  assert.doesNotMatch(html, /<style\b/i);
  assert.doesNotMatch(html, /\sstyle=/i);
  assert.doesNotMatch(html, /\son[a-z]+=/i);
  const refs = [...html.matchAll(/(?:src|href)="([^"#]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length >= 3);
  for (const ref of refs) {
    assert.match(ref, /^\/console\//, `${ref} is not a console asset`);
    assert.equal((await raw(weir, "GET", ref)).status, 200, ref);
  }
  // Modules import each other by absolute same-origin paths only, and build no markup from text.
  for (const name of readdirSync(ASSETS).filter((n) => n.endsWith(".js"))) {
    const js = readFileSync(join(ASSETS, name), "utf8");
    for (const m of js.matchAll(/^import .* from "([^"]+)";$/gm)) assert.match(m[1], /^\/console\/[a-z0-9-]+\.js$/, `${name}: ${m[1]}`);
    assert.doesNotMatch(js, /\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function/, name);
    assert.doesNotMatch(js, /\blocalStorage\.|document\.cookie/, `${name}: tokens stay in memory and sessionStorage`);
  }
});

test("--console off: no console routes, the rest of the server unchanged", async () => {
  for (const path of ["/console", "/console/", "/console/app.js"]) {
    const res = await raw(off, "GET", path);
    assert.equal(res.status, 404, path);
    assert.equal(res.headers["content-security-policy"], undefined, path);
  }
  assert.equal((await raw(off, "GET", "/health")).status, 200);
});

test("--console takes on or off, and --help documents it", async () => {
  const help = await runWeir(["serve", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--console on\|off\n\s+env WEIR_CONSOLE, default on/);
  for (const [args, env] of [[["--console", "maybe"], {}], [["--console"], {}], [[], { WEIR_CONSOLE: "yes" }]]) {
    const r = await runWeir(["serve", "--data-dir", "/nonexistent/never-created", ...args], env);
    assert.equal(r.code, 2, `${args.join(" ")} ${JSON.stringify(env)}`);
    assert.match(r.stderr, /(--console|WEIR_CONSOLE): (must be on or off|missing value)/);
  }
});
