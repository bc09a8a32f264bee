// console-browser.test.mjs — issue 20: the web console in a real headless Chromium (Debian's
// `chromium`, driven by puppeteer-core), against the real binary. Signs in (a wrong token, a
// token of the wrong kind, the root token), creates an organization, a project and an
// environment (one-time key, rotation), changes the plan and sees the basin appear, sees a usage
// chart with data, pages through a basin's streams, follows a live tail while the official S2
// SDK appends (pause/resume, and a server restart that drops the connection), signs in with the
// environment's key for its sessions, runs and a session channel's tail, checks that the CSP
// blocks inline script and style, that everything works from the keyboard and every control has
// a name, that no request leaves the server's origin or carries a token in its URL, and that the
// page logs no error. Screenshots of each view go to tests/e2e/.tmp/console/ (or
// $WEIR_CONSOLE_SCREENSHOTS; docs/console.md shows them).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";
import { S2, AppendInput, AppendRecord } from "@s2-dev/streamstore";
import { startWeir } from "./harness.mjs";
import { answerOf } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = process.env.WEIR_CONSOLE_SCREENSHOTS ?? join(dirname(fileURLToPath(import.meta.url)), ".tmp", "console");
const ARGS = ["--per-org-basins", "--usage-flush-interval-ms", "50"];

let weir;
let browser;
let page;
let errors = []; // console errors and uncaught exceptions the page reported
const requests = []; // every URL the page asked for
const state = {}; // what one test leaves for the next: org, basin, keys

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/deps.sh (Debian's chromium package) or set CHROMIUM`);
  mkdirSync(SHOTS, { recursive: true });
  weir = await startWeir({ embedded: true, args: ARGS });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 860 });
  page.setDefaultTimeout(20000);
  page.on("console", (m) => {
    // A 4xx the console asked for on purpose (a wrong token) is logged by Chromium as a failed
    // resource; the console handles those. Anything else is an error of the page.
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  page.on("request", (r) => requests.push(r.url()));
});

after(async () => {
  await browser?.close();
  await weir?.stop({ keepData: true });
  if (weir) rmSync(weir.dataDir, { recursive: true, force: true });
});

// ---- helpers -------------------------------------------------------------------------------

async function shot(name, { fullPage = true } = {}) {
  await page.evaluate(() => document.querySelector(".toast")?.classList.remove("shown")); // no stale toast in the picture
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

function expectNoErrors(what) {
  const e = errors;
  errors = [];
  assert.deepEqual(e, [], `${what}: the page reported errors`);
}

async function api(method, path, { body, token = weir.token } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(weir.url + path, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  return answerOf(res);
}

const s2 = () => new S2({ accessToken: weir.token, endpoints: { account: weir.url, basin: weir.url }, retry: { maxAttempts: 1 } });

/** Waits until the element's text matches. */
function waitText(sel, re) {
  return page.waitForFunction(
    (s, src, flags) => {
      const e = document.querySelector(s);
      return e && new RegExp(src, flags).test(e.textContent);
    },
    {},
    sel,
    re.source,
    re.flags,
  );
}

const h1 = () => page.$eval("main h1", (e) => e.textContent);
const waitH1 = (re) => waitText("main h1", re);
const active = () => page.evaluate(() => ({ tag: document.activeElement?.tagName, id: document.activeElement?.id, text: document.activeElement?.textContent?.trim() }));

/** Presses Tab (or Shift+Tab) until pred(active element) holds; at most `max` presses. */
async function tabTo(pred, { shift = false, max = 60 } = {}) {
  for (let i = 0; i < max; i++) {
    if (shift) await page.keyboard.down("Shift");
    await page.keyboard.press("Tab");
    if (shift) await page.keyboard.up("Shift");
    const a = await active();
    if (pred(a)) return a;
  }
  throw new Error("the keyboard never reached the element");
}

/** Every control on the page has an accessible name (a label, aria-label(ledby) or text). */
async function assertLabelled(view) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll("input, select, textarea, button, a[href]")) {
      if (el.type === "hidden" || el.closest("[hidden]")) continue;
      const named =
        (el.labels && el.labels.length > 0) ||
        el.getAttribute("aria-label") ||
        el.getAttribute("aria-labelledby") ||
        ((el.tagName === "BUTTON" || el.tagName === "A") && el.textContent.trim());
      if (!named) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
  assert.deepEqual(bad, [], `${view}: controls without an accessible name`);
}

async function signIn(token) {
  await page.waitForSelector("#token");
  await page.$eval("#token", (e) => (e.value = ""));
  await page.type("#token", token);
  await page.keyboard.press("Enter");
}

const recSeqs = () => page.$$eval("#records li.rec", (els) => els.map((e) => Number(e.dataset.seq)));

// ---- tests ---------------------------------------------------------------------------------

test("the console loads from the binary with its security headers, focus in the token field", async () => {
  const res = await page.goto(`${weir.url}/console`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()["content-security-policy"], /^default-src 'self'; script-src 'self'; style-src 'self'/);
  await page.waitForSelector("html[data-ready=true] #token");
  assert.equal((await active()).id, "token");
  assert.equal(await h1(), "Sign in to weir");
  await assertLabelled("sign-in");
  await shot("01-sign-in");
  expectNoErrors("load");
});

test("a wrong token, and a valid token of the wrong kind, are refused with a message", async () => {
  const scoped = await api("POST", "/v1/access-tokens", {
    body: { id: "console-e2e-reader", scope: { basins: { prefix: "" }, streams: { prefix: "" }, op_groups: { stream: { read: true } } } },
  });
  assert.equal(scoped.status, 201, scoped.text);
  const rows = [
    ["not-a-token", /^Wrong token: the server accepts it neither as the root token nor as an environment secret key\.$/],
    [`sk_${"x".repeat(40)}`, /^Wrong token/],
    [scoped.json.access_token, /^This token is valid, but it is neither the root token nor an environment secret key\.$/],
  ];
  for (const [token, re] of rows) {
    await signIn(token);
    await waitText("#login-error", re);
    assert.equal(await page.$eval("#token", (e) => e.getAttribute("aria-invalid")), "true");
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "nothing is kept after a refusal");
    assert.equal(await h1(), "Sign in to weir");
  }
  await shot("02-wrong-token");
  // An empty field is refused without asking the server.
  const before = requests.length;
  await page.$eval("#token", (e) => (e.value = ""));
  await page.keyboard.press("Enter");
  await waitText("#login-error", /^Enter a token\.$/);
  assert.equal(requests.length, before);
  expectNoErrors("wrong token");
});

test("keyboard only: sign in, skip link, navigation between views", async () => {
  await signIn(weir.token);
  await waitH1(/^Organizations$/);
  assert.equal((await active()).tag, "H1", "focus moves to the new view's heading");
  await page.waitForSelector(".state.empty");
  assert.match(await page.$eval(".state.empty", (e) => e.textContent), /No organizations yet/);
  await shot("03-organizations-empty");
  // The first Tab stop of the page is the skip link; Enter jumps back to the content.
  await tabTo((a) => a.id === "skip", { shift: true });
  assert.deepEqual(await active(), { tag: "BUTTON", id: "skip", text: "Skip to content" });
  assert.equal(await page.evaluate(() => document.querySelector("button, a[href], input") === document.activeElement), true, "it is the page's first control");
  await page.keyboard.press("Enter");
  assert.equal((await active()).tag, "H1");
  // Shift+Tab from the content reaches the navigation; Enter follows a link.
  await tabTo((a) => a.text === "Basins & streams", { shift: true });
  await page.keyboard.press("Enter");
  await waitH1(/^Basins$/);
  await page.waitForSelector('tr[data-row="weir-shared"] a');
  await tabTo((a) => a.tag === "A" && a.text === "weir-shared");
  await page.keyboard.press("Enter");
  await waitH1(/^weir-shared$/);
  await page.waitForSelector(".facts");
  await assertLabelled("basin");
  await tabTo((a) => a.text === "Organizations", { shift: true });
  await page.keyboard.press("Enter");
  await waitH1(/^Organizations$/);
  await assertLabelled("organizations");
  expectNoErrors("keyboard");
});

test("create an organization, a project and an environment (key shown once), rotate the key", async () => {
  await page.waitForSelector("#org-slug");
  await page.type("#org-slug", "acme");
  await page.type("#org-title", "Acme Inc");
  await page.select("#org-plan", "free");
  await page.click('form[aria-label="New organization"] button[type=submit]');
  await page.waitForSelector('tr[data-row="acme"] a');
  const cells = await page.$$eval('tr[data-row="acme"] td', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(cells.slice(0, 5), ["acme", "Acme Inc", "free", "shared (weir-shared)", "shared basin (weir-shared)"]);
  await shot("04-organizations");
  await page.click('tr[data-row="acme"] a');
  await waitH1(/^Acme Inc \(acme\)$/);
  state.orgId = decodeURIComponent(page.url().split("#/orgs/")[1]);
  assert.equal((await api("GET", `/admin/api/v1/orgs/${state.orgId}`)).json.slug, "acme");

  await page.waitForSelector("#project-slug");
  await page.type("#project-slug", "app");
  await page.click('form[aria-label="New project"] button[type=submit]');
  await page.waitForSelector('section[data-project="app"] input');
  await page.type('section[data-project="app"] input', "dev");
  await page.click('section[data-project="app"] form button[type=submit]');
  await page.waitForSelector("dialog[open] output.secret");
  const key = await page.$eval("dialog[open] output.secret", (e) => e.textContent);
  assert.match(key, /^sk_[A-Za-z0-9]{40}$/);
  await shot("05-environment-key");
  assert.equal((await api("GET", "/api/v1/sessions", { token: key })).status, 200, "the key shown works");
  await page.click("dialog[open] button.primary"); // Done
  await page.waitForSelector('section[data-project="app"] tr[data-row="dev"]');
  assert.equal(await page.$("dialog"), null, "the key left the page with its dialog");
  assert.ok(!(await page.content()).includes(key));

  // Rotation: confirm, see the new key once (closed with Escape), the old one stops working.
  await page.click('section[data-project="app"] tr[data-row="dev"] button');
  await page.waitForSelector("dialog[open] button.danger");
  await assertLabelled("rotate confirmation");
  await page.click("dialog[open] button.danger");
  await page.waitForSelector("dialog[open] output.secret");
  const rotated = await page.$eval("dialog[open] output.secret", (e) => e.textContent);
  assert.notEqual(rotated, key);
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.querySelector("dialog"));
  assert.equal((await api("GET", "/api/v1/sessions", { token: key })).status, 401);
  assert.equal((await api("GET", "/api/v1/sessions", { token: rotated })).status, 200);
  state.envKey = rotated;
  expectNoErrors("tenants");
});

test("change the plan and see the organization's basin appear", async () => {
  await page.select("#plan-select", "hobby");
  await page.click('form[aria-label="Change plan"] button[type=submit]');
  await page.waitForSelector("dialog[open] button.primary");
  assert.match(await page.$eval("dialog[open]", (e) => e.textContent), /own basin with 30d retention/);
  await page.click("dialog[open] button.primary");
  await waitText('[data-field="basin"]', /-org-/);
  await waitText('[data-field="plan"]', /^hobby$/);
  await waitText('[data-field="retention"]', /^30d$/);
  const org = (await api("GET", `/admin/api/v1/orgs/${state.orgId}`)).json;
  assert.equal(await page.$eval('[data-field="basin"]', (e) => e.textContent), org.streamBasinName);
  state.basin = org.streamBasinName;
  await assertLabelled("organization");
  expectNoErrors("plan");
});

test("a usage chart shows the organization's appended and read bytes", async () => {
  const stream = s2().basin(state.basin).stream("console/usage");
  const body = "x".repeat(1000);
  await stream.append(AppendInput.create(Array.from({ length: 10 }, (_, i) => AppendRecord.string({ body: `${i}:${body}` }))));
  const read = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } });
  assert.equal(read.records.length, 10);
  // Ready when the usage has reached disk (--usage-flush-interval-ms 50).
  let usage;
  for (let i = 0; i < 200; i++) {
    const end = Math.floor(Date.now() / 1000);
    usage = (await api("GET", `/admin/api/v1/orgs/${state.orgId}/usage?start=${end - 86400}&end=${end}&interval=hour`)).json;
    if (usage.total.appendedBytes > 0 && usage.total.readBytes > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(usage.total.appendedBytes > 10000, JSON.stringify(usage.total));
  await page.click('section[aria-labelledby="usage-title"] .controls button');
  await page.waitForSelector('.charts[data-has-data="true"] figure svg path');
  const rows = await page.$$eval(".charts figure:first-child details tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.ok(rows.some((r) => r[1] !== "0 B" && r[2] !== "0 B"), `a bucket with appended and read bytes: ${JSON.stringify(rows)}`);
  const summary = await page.$eval(".charts figure:first-child .chart-summary", (e) => e.textContent);
  assert.match(summary, /^Appended: [\d.]+ KiB in total; Read: [\d.]+ KiB in total$/);
  // Daily buckets too.
  await page.select("#usage-interval", "day");
  await page.waitForFunction(() => document.querySelector(".charts figure details summary")?.textContent.includes("data table") && document.querySelector(".charts th")?.textContent === "Day (UTC)");
  await page.select("#usage-interval", "hour");
  await page.waitForFunction(() => document.querySelector(".charts th")?.textContent === "Hour (UTC)");
  await shot("06-organization");
  const usageCard = await page.$('section[aria-labelledby="usage-title"]');
  await usageCard.screenshot({ path: join(SHOTS, "07-usage.png") });
  expectNoErrors("usage");
});

test("basins and streams: a basin of many streams is paged, filtered, and a stream shows its tail", async () => {
  const names = Array.from({ length: 130 }, (_, i) => `page/s-${String(i).padStart(3, "0")}`);
  for (let i = 0; i < names.length; i += 10)
    await Promise.all(
      names.slice(i, i + 10).map(async (stream) => {
        const res = await fetch(`${weir.url}/v1/streams`, {
          method: "POST",
          headers: { authorization: `Bearer ${weir.token}`, "s2-basin": state.basin, "content-type": "application/json" },
          body: JSON.stringify({ stream }),
        });
        assert.equal(res.status, 201, await res.text());
      }),
    );
  await page.click('a[href="#/basins"]');
  await page.waitForSelector(`tr[data-row="${state.basin}"] a`);
  await shot("08-basins");
  await page.click(`tr[data-row="${state.basin}"] a`);
  await waitH1(new RegExp(`^${state.basin}$`));
  await page.waitForSelector("tbody tr");
  const rowCount = () => page.$$eval("main tbody tr", (r) => r.length);
  assert.equal(await rowCount(), 100, "the first page holds 100 of the 131 streams");
  await page.waitForSelector(".facts dd");
  await shot("09-basin", { fullPage: false }); // 100 rows: the top of the page is the picture
  await page.click('nav.pager button:last-child'); // Next page
  await waitText(".page-no", /^Page 2$/);
  assert.equal(await rowCount(), 31);
  assert.equal(await page.$eval("nav.pager button:last-child", (b) => b.disabled), true);
  await page.click("nav.pager button:first-child"); // Previous page
  await waitText(".page-no", /^Page 1$/);
  assert.equal(await rowCount(), 100);
  await page.type("#stream-prefix", "page/s-12");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("main tbody tr").length === 10);
  await page.$eval("#stream-prefix", (e) => (e.value = ""));
  await page.type("#stream-prefix", "nothing-here/");
  await page.keyboard.press("Enter");
  await waitText(".state.empty", /No stream starts with/);
  await page.$eval("#stream-prefix", (e) => (e.value = ""));
  await page.type("#stream-prefix", "console/");
  await page.keyboard.press("Enter");
  await page.waitForSelector('tr[data-row="console/usage"] a');
  await page.click('tr[data-row="console/usage"] a');
  await waitText('[data-field="tail"]', /^10$/);
  await shot("10-stream");
  await assertLabelled("stream");
  expectNoErrors("basins");
});

test("live tail: records appended by the S2 SDK appear; pause/resume; a dropped connection resumes", async (t) => {
  await page.click("main .controls button.primary"); // Live tail
  await waitText("#tail-status", /^Live/);
  assert.deepEqual(await recSeqs(), [], "new records only: the 10 older ones are not shown");
  let stream = s2().basin(state.basin).stream("console/usage");

  const t0 = performance.now();
  const ack = await stream.append(AppendInput.create([AppendRecord.string({ body: "live-1", headers: [["kind", "demo"]] })]));
  const tAck = performance.now();
  await page.waitForSelector(`#records li.rec[data-seq="${ack.start.seqNum}"]`);
  const tShown = performance.now();
  t.diagnostic(`record shown ${Math.round(tShown - t0)} ms after the append call began (${Math.round(tShown - tAck)} ms after its ack)`);
  assert.match(await page.$eval(`#records li.rec[data-seq="${ack.start.seqNum}"]`, (e) => e.textContent), /live-1/);

  // Pause: the connection closes; what is appended meanwhile shows on Resume, once.
  await page.click("#tail-pause");
  await waitText("#tail-status", /^Paused/);
  const paused = await stream.append(AppendInput.create([AppendRecord.string({ body: "while-paused" })]));
  assert.equal(await page.$(`#records li.rec[data-seq="${paused.start.seqNum}"]`), null);
  await page.click("#tail-pause"); // Resume
  await page.waitForSelector(`#records li.rec[data-seq="${paused.start.seqNum}"]`);
  assert.deepEqual(await recSeqs(), [ack.start.seqNum, paused.start.seqNum]);

  // Drop: the server goes away (open SSE answers end like a dropped connection) and comes back
  // on the same port and data; the tail reconnects by itself and resumes after the last event.
  const { port, dataDir, token } = weir;
  const connections = Number(await page.$eval("#tail-status", (e) => e.dataset.connections));
  await weir.stop({ keepData: true });
  await waitText("#tail-status", /^(Reconnecting|Connecting)/);
  weir = await startWeir({ embedded: true, dataDir, args: [...ARGS, "--listen", `127.0.0.1:${port}`], env: { WEIR_ROOT_TOKEN: token } });
  await page.waitForFunction((n) => {
    const s = document.querySelector("#tail-status");
    return s.dataset.state === "live" && Number(s.dataset.connections) > n;
  }, {}, connections);
  stream = s2().basin(state.basin).stream("console/usage");
  const after = await stream.append(AppendInput.create([AppendRecord.string({ body: "after-restart" })]));
  await page.waitForSelector(`#records li.rec[data-seq="${after.start.seqNum}"]`);
  assert.deepEqual(await recSeqs(), [ack.start.seqNum, paused.start.seqNum, after.start.seqNum], "nothing lost, nothing twice");
  assert.match(await page.$eval("#tail-count", (e) => e.textContent), /^3 records received/);
  await shot("11-live-tail");
  await assertLabelled("tail");
  // The Reconnecting state logs no error of the page; the refused fetches during the restart
  // are network errors Chromium reports as failed resources.
  errors = errors.filter((e) => !/ERR_CONNECTION_REFUSED|net::ERR_/.test(e));
  expectNoErrors("tail");
});

test("the CSP blocks inline script, inline style, eval and other origins", async () => {
  const r = await page.evaluate(async () => {
    const seen = [];
    document.addEventListener("securitypolicyviolation", (e) => seen.push(e.effectiveDirective));
    const s = document.createElement("script");
    s.textContent = "window.__inlineRan = true";
    document.body.append(s);
    const st = document.createElement("style");
    st.textContent = "body { background: rgb(255, 0, 0) !important; }";
    document.head.append(st);
    const a = document.createElement("div");
    a.setAttribute("onclick", "window.__handlerRan = true");
    document.body.append(a);
    a.click();
    // A string compiled by the page (DevTools' own evaluation is exempt from the CSP's eval rule,
    // so eval() is not tried from here): blocked without 'unsafe-eval'.
    setTimeout("window.__stringRan = true", 0);
    let fetchBlocked = false;
    try {
      await fetch("https://cdn.example.invalid/x.js");
    } catch {
      fetchBlocked = true;
    }
    for (let i = 0; i < 100 && new Set(seen).size < 5; i++) await new Promise((res) => setTimeout(res, 20));
    return {
      stringRan: window.__stringRan === true,
      seen: [...new Set(seen)].sort(),
      inlineRan: window.__inlineRan === true,
      handlerRan: window.__handlerRan === true,
      bg: getComputedStyle(document.body).backgroundColor,
      fetchBlocked,
    };
  });
  assert.equal(r.inlineRan, false, "inline script ran");
  assert.equal(r.handlerRan, false, "inline event handler ran");
  assert.notEqual(r.bg, "rgb(255, 0, 0)", "inline style applied");
  assert.equal(r.stringRan, false, "a string was compiled as code");
  assert.equal(r.fetchBlocked, true);
  assert.deepEqual(r.seen, ["connect-src", "script-src", "script-src-attr", "script-src-elem", "style-src-elem"]);
  // Chromium reports each violation on the console (asynchronously): these, and nothing else.
  for (let i = 0; i < 100 && errors.filter((e) => /Content Security Policy/.test(e)).length < 5; i++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(errors.filter((e) => /Content Security Policy/.test(e)).length >= 5, JSON.stringify(errors));
  errors = errors.filter((e) => !/Content Security Policy/.test(e));
  expectNoErrors("csp");
});

test("an environment's key: its sessions and runs, and a session channel's live tail", async () => {
  await page.click("#who button"); // Sign out
  await page.waitForSelector("#token");
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await signIn(state.envKey);
  await waitH1(/^Sessions$/);
  await waitText(".state.empty", /No sessions yet/);
  await shot("12-sessions-empty");

  const key = state.envKey;
  const chat = await api("POST", "/api/v1/sessions", { token: key, body: { externalId: "chat-1", type: "chat.agent" } });
  assert.equal(chat.status, 201, chat.text);
  const old = await api("POST", "/api/v1/sessions", { token: key, body: { externalId: "chat-old" } });
  assert.equal((await api("POST", `/api/v1/sessions/${old.json.id}/close`, { token: key, body: { reason: "done" } })).status, 200);
  assert.equal((await api("POST", "/api/v1/runs", { token: key, body: { taskIdentifier: "nightly" } })).status, 201);
  await page.reload(); // the session survives a reload (sessionStorage)
  await waitH1(/^Sessions$/);
  await page.waitForSelector('tr[data-row="chat-1"] .badge.open');
  await page.waitForSelector('tr[data-row="chat-old"] .badge.closed');
  const stampCell = await page.$eval('tr[data-row="chat-1"]', (tr) => tr.cells[5].textContent);
  assert.equal(stampCell, state.basin, "the session is stamped with the organization's basin");
  await page.select("#session-status", "CLOSED");
  await page.waitForFunction(() => document.querySelectorAll("main tbody tr").length === 1 && document.querySelector('tr[data-row="chat-old"]'));
  await page.select("#session-status", "");
  await page.waitForSelector('tr[data-row="chat-1"]');
  await assertLabelled("sessions");
  await shot("13-sessions");

  await page.click('a[href="#/runs"]');
  await waitH1(/^Runs$/);
  await page.waitForFunction(() => document.querySelectorAll("main tbody tr").length === 3);
  assert.equal(await page.$eval("main tbody tr", (tr) => tr.cells[1].textContent), "nightly", "newest first");
  await shot("14-runs");

  // Admin views are not reachable with an environment key.
  await page.evaluate(() => (location.hash = "#/orgs"));
  await waitH1(/^Sessions$/);

  await page.click('a[aria-label="Live tail of chat-1 .out"]');
  await waitH1(/^Live tail$/);
  await waitText("#tail-status", /^Live/);
  const sent = await api("POST", "/realtime/v1/sessions/chat-1/out/append", { token: key, body: "hello from the agent" });
  assert.equal(sent.status, 200, sent.text);
  await page.waitForSelector(`#records li.rec[data-seq="${sent.json.seq}"]`);
  assert.match(await page.$eval(`#records li.rec[data-seq="${sent.json.seq}"]`, (e) => e.textContent), /hello from the agent/);
  await shot("15-session-tail");
  expectNoErrors("environment");
});

test("no request left the server's origin, and no URL ever carried a token", async () => {
  assert.ok(requests.length > 20);
  const origin = new URL(weir.url).origin;
  assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin && !u.startsWith("data:")), []);
  for (const secret of [weir.token, state.envKey]) assert.deepEqual(requests.filter((u) => u.includes(secret)), []);
  assert.ok(!page.url().includes(state.envKey));
});
