// realtime-sessions-api.test.mjs — the bad-input and edge-case tables of the routes added for
// issue 16 (docs/realtime.md "Routes", "Credentials", "Names", "Session channels"), through the
// real binary:
//   POST/GET /api/v1/sessions, GET/PATCH /api/v1/sessions/:session, POST …/close,
//   POST …/end-and-continue, POST /api/v1/auth/jwt/claims, POST /api/v1/auth/public-tokens,
//   the session channels' credential and closed-session rows (side channels included),
//   and X-S2-Endpoint on PUT /realtime/v1/sessions/:session/out behind (un)trusted proxies.
// One row per class of bad input. Every error row checks the documented status, that the body is
// {"error": "<string>", …} (trigger.dev-style), and — for anything that could write — that
// nothing changed: both environments' session lists (every field, updatedAt included) and the
// seeded channel records are read before and after the refused request and compared.
// Requests are checked against docs/realtime.md and @trigger.dev/core 4.8.x's request schemas; a
// row may be marked `todo` (its own subtest) while a found bug is open.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createHmac, randomBytes } from "node:crypto";
import { startWeir } from "./harness.mjs";
import { realtimeEnv, realtimeHelpers, SHARED } from "./realtime-helpers.mjs";
import { answerOf } from "./helpers.mjs";

let weir;
const { ok, uniq, tenant } = realtimeHelpers(() => weir);

// ---------------------------------------------------------------------------------------------
// Helpers

const enc = encodeURIComponent;
const b64u = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
/** An HS256 JWT the way trigger.dev's SDK signs public tokens locally (jose SignJWT). */
const hs256 = (claims, key) => {
  const signing = `${b64u({ alg: "HS256", typ: "JWT" })}.${b64u(claims)}`;
  return `${signing}.${createHmac("sha256", key).update(signing).digest("base64url")}`;
};
const nowS = () => Math.floor(Date.now() / 1000);

/**
 * One request. `token`: a Bearer credential (null: no Authorization); `json`: a value sent as
 * JSON; `raw`: a string or bytes sent as is with content-type application/json.
 */
async function send({ method, path, token, headers = {}, json, raw }) {
  const h = { ...headers };
  if (token != null) h.authorization = `Bearer ${token}`;
  let body;
  if (raw !== undefined) {
    body = raw;
    h["content-type"] ??= "application/json";
  } else if (json !== undefined) {
    body = JSON.stringify(json);
    h["content-type"] ??= "application/json";
  }
  const res = await fetch(weir.url + path, { method, headers: h, body, signal: AbortSignal.timeout(20000) });
  return answerOf(res);
}

const short = (s, n = 240) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The trigger.dev-style error body: a JSON object with a non-empty string `error`. */
function assertErrorBody(res) {
  assert.match(res.headers.get("content-type") || "", /json/, `a JSON error, got content-type ${res.headers.get("content-type")}`);
  assert.ok(res.json && typeof res.json === "object" && !Array.isArray(res.json), `{"error": …} body, got ${short(res.text)}`);
  assert.equal(typeof res.json.error, "string", `{"error": "<string>"} body, got ${short(res.text)}`);
  assert.ok(res.json.error.length > 0, "a non-empty error message");
}

/** What a refused request must not change: every session of both environments, field by field
 * (updatedAt included), and the records of the seeded channels. */
async function snapshot() {
  const out = {};
  for (const [name, key] of [["A", F.A.key], ["B", F.B.key]]) {
    const r = await send({ method: "GET", path: "/api/v1/sessions?page[size]=100", token: key });
    assert.equal(r.status, 200, `snapshot list ${name}: ${short(r.text)}`);
    assert.equal(r.json.pagination.next, undefined, `snapshot of ${name} fits one page`);
    out[name] = r.json.data;
  }
  for (const [name, path] of [
    ["open.in", `/realtime/v1/sessions/${F.open.id}/in/records`],
    ["open.out", `/realtime/v1/sessions/${F.open.id}/out/records`],
    ["open.side", `/realtime/v1/sessions/${F.open.id}/channels/side/in/records`],
    ["closed.in", `/realtime/v1/sessions/${F.closed.id}/in/records`],
  ]) {
    const r = await send({ method: "GET", path, token: F.A.key });
    assert.equal(r.status, 200, `snapshot ${name}: ${short(r.text)}`);
    out[name] = r.json.records;
  }
  return out;
}

/**
 * Runs one row: status (a number or a list of acceptable ones), the error body, `code` (and for
 * session_closed the x-should-retry: false header), `check(res)`, and — for refused requests
 * that could write, or rows marked `unchanged` — that nothing changed.
 */
async function runRow(row) {
  const guard = row.unchanged ?? (row.status >= 400 && row.method !== "GET" && row.method !== "HEAD");
  const before = guard ? await snapshot() : undefined;
  const res = await send(row);
  const statuses = [row.status].flat();
  assert.ok(statuses.includes(res.status), `status ${res.status}, expected ${statuses.join(" or ")}; body ${short(res.text)}`);
  if (res.status >= 400) assertErrorBody(res);
  if (row.code) {
    assert.equal(res.json?.code, row.code, `code, body ${short(res.text)}`);
    if (row.code === "session_closed") assert.equal(res.headers.get("x-should-retry"), "false", "x-should-retry: false");
  }
  await row.check?.(res);
  if (guard) assert.deepEqual(await snapshot(), before, `the request changed something (answer ${res.status} ${short(res.text, 160)})`);
  return res;
}

/** Runs a table: every row without `todo` must pass (failures are listed together); each `todo`
 * row (a suspected weir bug) runs as its own todo subtest. */
async function runTable(t, rows) {
  const failures = [];
  for (const row of rows.filter((r) => !r.todo)) {
    try {
      await runRow(row);
    } catch (e) {
      failures.push(`${row.name} [${row.method} ${short(row.path, 120)}]: ${e.message.split("\n").slice(0, 4).join(" ")}`);
    }
  }
  for (const row of rows.filter((r) => r.todo)) {
    await t.test(`${row.name} [${row.method} ${short(row.path, 100)}]`, { todo: row.todo }, () => runRow(row));
  }
  assert.deepEqual(failures, [], `${failures.length} of ${rows.length} rows failed:\n${failures.join("\n")}`);
}

/** A row builder for one table. */
function rows() {
  const list = [];
  const add = (name, method, path, opts) => list.push({ name, method, path, token: F.A.key, ...opts });
  return { list, add };
}

/** The credential rows every secret-key-only route gets (docs: a public token there is 401). */
function credentialRows(add, name, method, path, opts = {}) {
  const C = {
    "no Authorization": null,
    "wrong secret key": `sk_${randomBytes(20).toString("hex")}`,
    "root token": weir.token,
    "the session's own public token": F.open.publicAccessToken,
    "another session's public token": F.other.publicAccessToken,
    "public token with admin scope": F.admin,
    "public token without any served scope": F.noScope,
    "another environment's admin public token": F.bAdmin,
    "trigger.dev-style locally signed token": F.local,
    "locally signed, expired": F.localExpired,
  };
  for (const [what, token] of Object.entries(C)) add(`${name}: ${what}`, method, path, { ...opts, token, status: 401 });
  add(`${name}: empty bearer`, method, path, { ...opts, token: null, headers: { authorization: "Bearer " }, status: 401 });
  add(`${name}: Basic auth with the key`, method, path, { ...opts, token: null, headers: { authorization: `Basic ${Buffer.from(`${F.A.key}:`).toString("base64")}` }, status: 401 });
  add(`${name}: key without Bearer`, method, path, { ...opts, token: null, headers: { authorization: F.A.key }, status: 401 });
}

const invalidUtf8 = (prefix, suffix, bytes = [0xc3, 0x28]) => Buffer.concat([Buffer.from(prefix), Buffer.from(bytes), Buffer.from(suffix)]);

// ---------------------------------------------------------------------------------------------
// Fixture: environment A (free plan, shared basin) with sessions in known states, environment B
// (paid plan, own basin), credentials of every kind.

const F = {};
before(async () => {
  weir = await startWeir({ env: realtimeEnv({ WEIR_WAIT_SECONDS: "1" }) });
  F.A = await tenant();
  F.B = await tenant({ plan: "pro" });
  const mk = async (key, body) => (await ok("POST", "/api/v1/sessions", { token: key, body }, 201)).json;
  const append = async (key, path, text) => {
    const r = await send({ method: "POST", path, token: key, raw: text, headers: { "content-type": "text/plain" } });
    assert.equal(r.status, 200, `seed ${path}: ${r.text}`);
  };
  F.open = await mk(F.A.key, {
    externalId: uniq("open"),
    type: "chat.agent",
    taskIdentifier: "chat-task",
    tags: ["t1", "t2"],
    metadata: { k: 1 },
    triggerConfig: { basePayload: { chatId: "c" }, maxAttempts: 3 },
  });
  F.other = await mk(F.A.key, { externalId: uniq("other") });
  F.closed = await mk(F.A.key, { externalId: uniq("closed") });
  F.noExt = await mk(F.A.key, { type: "no-ext" });
  F.patchable = await mk(F.A.key, { externalId: uniq("patch"), tags: ["p1"], metadata: { m: 1 } });
  F.closable = await mk(F.A.key, { externalId: uniq("closable") });
  F.eac = await mk(F.A.key, { externalId: uniq("eac") });
  F.sharedExt = uniq("shared");
  F.aShared = await mk(F.A.key, { externalId: F.sharedExt });
  F.bShared = await mk(F.B.key, { externalId: F.sharedExt });
  F.bOnly = await mk(F.B.key, { externalId: uniq("bonly"), metadata: { secretOfB: true } });
  F.bOnly2 = await mk(F.B.key, { externalId: uniq("bonly2") });
  F.bOnly3 = await mk(F.B.key, { externalId: uniq("bonly3") });
  // Sessions the control rows mutate.
  F.scratch = [];
  for (let i = 0; i < 6; i++) F.scratch.push(await mk(F.A.key, { externalId: uniq("scratch"), tags: ["s"], metadata: { s: i } }));

  await append(F.A.key, `/realtime/v1/sessions/${F.open.externalId}/in/append`, "seed-open-in");
  await append(F.A.key, `/realtime/v1/sessions/${F.open.externalId}/out/append`, "seed-open-out");
  await append(F.A.key, `/realtime/v1/sessions/${F.open.externalId}/channels/side/in/append`, "seed-open-side");
  await append(F.A.key, `/realtime/v1/sessions/${F.closed.externalId}/in/append`, "seed-closed-in");
  await ok("POST", `/api/v1/sessions/${F.closed.id}/close`, { token: F.A.key, body: { reason: "done" } });

  // end-and-continue: move F.eac from its first run R0 to R1, so R0 is a genuinely stale caller.
  F.eacR0 = F.eac.runId;
  const swap = (await ok("POST", `/api/v1/sessions/${F.eac.id}/end-and-continue`, { token: F.A.key, body: { callingRunId: F.eacR0, reason: "upgrade" } })).json;
  assert.equal(swap.swapped, true);
  F.eacR1 = swap.runId;

  // Credentials.
  const mint = async (key, scopes) => (await ok("POST", "/api/v1/auth/public-tokens", { token: key, body: { scopes } })).json.token;
  F.admin = await mint(F.A.key, ["admin"]);
  F.noScope = await mint(F.A.key, ["read:runs:run_unrelated", "read:tags:t1", "trigger:tasks:chat-task", "read:batch:b1"]);
  F.bAdmin = await mint(F.B.key, ["admin"]);
  const claims = (await ok("POST", "/api/v1/auth/jwt/claims", { token: F.A.key })).json;
  const trig = { iss: "https://id.trigger.dev", aud: "https://api.trigger.dev" };
  const scopes = [`read:sessions:${F.open.externalId}`, `write:sessions:${F.open.externalId}`];
  F.local = hs256({ ...claims, ...trig, scopes, iat: nowS(), exp: nowS() + 3600 }, F.A.key);
  F.localExpired = hs256({ ...claims, ...trig, scopes, iat: nowS() - 7200, exp: nowS() - 3600 }, F.A.key);
});

after(async () => {
  await weir?.stop();
});

// ---------------------------------------------------------------------------------------------
// POST /api/v1/sessions

function createRows() {
  const { list, add } = rows();
  const P = "/api/v1/sessions";
  const bad = (name, json, opts = {}) => add(`create: ${name}`, "POST", P, { json, status: 400, ...opts });
  const good = (name, json, check, status = 201) => add(`create (control): ${name}`, "POST", P, { json, status, check });

  // Malformed JSON.
  for (const [name, raw] of [
    ["truncated object", "{"],
    ["empty body", ""],
    ["array", "[]"],
    ["null", "null"],
    ["string", '"x"'],
    ["number", "42"],
    ["trailing garbage", '{"externalId":"a"} x'],
    ["single quotes", "{'externalId':'a'}"],
    ["trailing comma", '{"externalId":"a",}'],
    ["invalid UTF-8 bytes", invalidUtf8('{"externalId":"a', '"}')],
    ["lone surrogate escape", '{"externalId":"\\ud800"}'],
    ["NUL escape", '{"externalId":"a\\u0000b"}'],
    ["metadata nested 5000 deep", `{"metadata":{"a":${"[".repeat(5000)}${"]".repeat(5000)}}}`],
  ]) {
    add(`create: malformed JSON, ${name}`, "POST", P, { raw, status: 400 });
  }

  // Wrong JSON types, every field.
  const wrongTypes = {
    externalId: [1, true, {}, [], ["a"]],
    type: [1, false, {}, []],
    taskIdentifier: [1, true, {}, ["t"]],
    tags: ["t1", {}, 1, true, [1], [null], [["a"]], [{}]],
    metadata: ["m", 1, [], true, ["a"]],
    expiresAt: [true, {}, [], -1, 0, 1.5, "tomorrow"],
    triggerConfig: ["x", 1, [], true],
  };
  for (const [field, values] of Object.entries(wrongTypes)) {
    for (const v of values) bad(`${field} = ${JSON.stringify(v)}`, { externalId: uniq("wt"), [field]: v });
  }

  // Strings too long / empty, reserved prefix.
  bad("externalId empty", { externalId: "" });
  bad("externalId 257 characters", { externalId: "e".repeat(257) });
  bad("externalId session_…", { externalId: "session_abc" });
  bad("externalId exactly session_", { externalId: "session_" });
  bad("type empty", { type: "" });
  bad("type 65 characters", { type: "t".repeat(65) });
  bad("taskIdentifier empty", { taskIdentifier: "" });
  bad("taskIdentifier 129 characters", { taskIdentifier: "t".repeat(129) });
  bad("a tag of 129 characters", { tags: ["ok", "t".repeat(129)] });
  const ext256 = `${uniq("x")}-`.padEnd(256, "x");
  good("externalId 256 characters", { externalId: ext256 }, (r) => assert.equal(r.json.externalId, ext256));
  good("type 64, taskIdentifier 128, a tag of 128", { type: "t".repeat(64), taskIdentifier: "k".repeat(128), tags: ["g".repeat(128)] }, (r) => {
    assert.equal(r.json.type.length, 64);
    assert.equal(r.json.taskIdentifier.length, 128);
    assert.deepEqual(r.json.tags, ["g".repeat(128)]);
  });

  // Control characters and invalid UTF-8 in names.
  for (const [field, v] of [
    ["externalId", "a\u0001b"],
    ["externalId", "a\nb"],
    ["externalId", "a\rb"],
    ["externalId", "a\tb"],
    ["externalId", "a\u007fb"],
    ["externalId", "a\u001fb"],
    ["type", "chat\u001bagent"],
    ["type", "a\nb"],
    ["taskIdentifier", "task\u0007"],
    ["taskIdentifier", "\u007f"],
  ]) {
    bad(`${field} with control character ${JSON.stringify(v)}`, { [field]: v });
  }
  bad("a tag with a newline", { tags: ["ok", "a\nb"] });
  bad("a tag with DEL", { tags: ["\u007f"] });
  for (const [field, bytes] of [
    ["externalId", [0xc3, 0x28]],
    ["externalId", [0xc0, 0xaf]], // overlong "/"
    ["externalId", [0xed, 0xa0, 0x80]], // a surrogate, UTF-8 encoded
    ["type", [0xff]],
    ["taskIdentifier", [0xe2, 0x82]], // truncated sequence
  ]) {
    add(`create: invalid UTF-8 in ${field} (${bytes.map((b) => b.toString(16)).join(" ")})`, "POST", P, { raw: invalidUtf8(`{"${field}":"a`, '"}', bytes), status: 400 });
  }
  add("create: invalid UTF-8 in a tag", "POST", P, { raw: invalidUtf8('{"tags":["a', '"]}', [0xf8, 0x88, 0x80, 0x80, 0x80]), status: 400 });

  // Too many tags.
  bad("11 tags", { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) });
  good("10 tags", { tags: Array.from({ length: 10 }, (_, i) => `t${i}`) }, (r) => assert.equal(r.json.tags.length, 10));

  // Metadata too large (the route's body limit) / not an object: above.
  add("create: metadata over the 256 KiB body limit", "POST", P, { json: { externalId: uniq("big"), metadata: { blob: "x".repeat(300 * 1024) } }, status: 413 });

  // Bad dates.
  for (const v of [
    "2030-13-01T00:00:00Z",
    "2030-01-01T25:00:00Z",
    "2030-01-01T00:61:00Z",
    "2030-01-00T00:00:00Z",
    "2030-01-01",
    "2030-01-01T00:00:00",
    "2030-01-01 00:00:00Z",
    "1969-12-31T23:59:59Z",
    "",
    "Tue, 01 Jan 2030 00:00:00 GMT",
  ]) {
    bad(`expiresAt ${JSON.stringify(v)}`, { expiresAt: v });
  }
  const y2030 = Date.UTC(2030, 0, 1);
  for (const v of ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00.000Z", "2030-01-01T01:00:00+01:00", y2030]) {
    good(`expiresAt ${JSON.stringify(v)}`, { expiresAt: v }, (r) => assert.equal(Date.parse(r.json.expiresAt), y2030, r.json.expiresAt));
  }
  const dateEchoed = (sent) => (r) => {
    // Either refused, or answered with a date the client can parse back to what was sent.
    if (r.status === 400) return;
    assert.equal(Date.parse(r.json.expiresAt), typeof sent === "number" ? sent : Date.parse(sent), `expiresAt answered as ${r.json.expiresAt}`);
  };
  add("create: expiresAt 2030-02-30 (no such day)", "POST", P, {
    json: { expiresAt: "2030-02-30T00:00:00Z" },
    status: 400,
  });
  add("create: expiresAt with offset +99:99", "POST", P, {
    json: { expiresAt: "2030-02-01T00:00:00+99:99" },
    status: 400,
  });
  add("create: expiresAt in year 10000 (ms)", "POST", P, {
    json: { expiresAt: Date.UTC(10000, 0, 1) },
    status: [400, 201],
    check: dateEchoed(Date.UTC(10000, 0, 1)),
  });
  add("create: expiresAt Number.MAX_SAFE_INTEGER (ms)", "POST", P, {
    json: { expiresAt: Number.MAX_SAFE_INTEGER },
    status: [400, 201],
    check: dateEchoed(Number.MAX_SAFE_INTEGER),
  });

  // triggerConfig, checked like trigger.dev's SessionTriggerConfig.
  const tc = (extra) => ({ triggerConfig: { basePayload: { chatId: "c" }, ...extra } });
  bad("triggerConfig {} (no basePayload)", { triggerConfig: {} });
  for (const v of [[], "p", null, 1, true]) bad(`triggerConfig.basePayload ${JSON.stringify(v)}`, { triggerConfig: { basePayload: v } });
  for (const [field, values] of Object.entries({
    machine: [1, {}, true],
    queue: ["q".repeat(129), 5, []],
    lockToVersion: [1, {}],
    region: [{}, 2],
    concurrencyKey: [[], {}],
    maxAttempts: [0, 11, "3", 1.5, -1, null],
    maxDuration: [0, -5, "10", 1.5],
    idleTimeoutInSeconds: [0, 3601, "60", 1.5],
    ttl: [-1, true, 1.5, {}, null],
    tags: ["t", {}, Array.from({ length: 11 }, (_, i) => `t${i}`)],
  })) {
    for (const v of values) bad(`triggerConfig.${field} = ${short(JSON.stringify(v), 40)}`, tc({ [field]: v }));
  }
  const fullConfig = {
    basePayload: { chatId: "c", nested: { a: [1, 2] } },
    machine: "small-1x",
    queue: "q".repeat(128),
    concurrencyKey: "user-1",
    tags: ["a", "b"],
    maxAttempts: 10,
    maxDuration: 1,
    lockToVersion: "20250101.1",
    region: "eu-central-1",
    idleTimeoutInSeconds: 3600,
    ttl: "10m",
  };
  good("triggerConfig with every field at its limit, stored as given", { triggerConfig: fullConfig }, (r) => assert.deepEqual(r.json.triggerConfig, fullConfig));
  good("triggerConfig.ttl 0 (a non-negative integer)", tc({ ttl: 0 }), (r) => assert.equal(r.json.triggerConfig.ttl, 0));
  add("create: triggerConfig.tags with a number", "POST", P, {
    json: tc({ tags: [1] }),
    status: 400,
  });
  add("create: triggerConfig.tags with a 129-character tag", "POST", P, {
    json: tc({ tags: ["t".repeat(129)] }),
    status: 400,
  });
  add("create: triggerConfig.machine not a machine preset", "POST", P, {
    json: tc({ machine: "huge-9000" }),
    status: 400,
  });
  add("create: triggerConfig.externalDeploymentId a number", "POST", P, {
    json: tc({ externalDeploymentId: 5 }),
    status: 400,
  });
  add("create: triggerConfig.concurrency not an array of names", "POST", P, {
    json: tc({ concurrency: "not an array" }),
    status: 400,
  });
  add("create: triggerConfig.concurrencyKey a number (valid for trigger.dev)", "POST", P, {
    json: tc({ concurrencyKey: 42 }),
    status: 201,
  });

  // Names the docs forbid, and what trigger.dev's schema trims.
  add("create: externalId with '/'", "POST", P, {
    json: { externalId: `${uniq("v")}/channels/x` },
    status: 400,
  });
  add("create: externalId of blanks only", "POST", P, {
    json: { externalId: "   " },
    status: 400,
  });

  // Unknown fields, a client-chosen runId.
  good("unknown fields and a client-chosen runId are ignored", { externalId: uniq("unk"), foo: 1, runId: "run_mine", currentRunId: "run_mine", id: "session_mine", closedAt: "2020-01-01T00:00:00Z" }, (r) => {
    assert.notEqual(r.json.runId, "run_mine");
    assert.match(r.json.runId, /^run_/);
    assert.equal(r.json.currentRunId, r.json.runId);
    assert.notEqual(r.json.id, "session_mine");
    assert.equal(r.json.closedAt, null);
    assert.equal(r.json.isCached, false);
  });

  // Existing externalId: the existing row, untouched; closed: 409 session_closed.
  add("create: the open session's externalId with other fields → 200 the existing row, untouched", "POST", P, {
    json: { externalId: F.open.externalId, type: "changed", tags: ["changed"], metadata: { changed: true }, expiresAt: y2030, triggerConfig: { basePayload: { x: 1 } } },
    status: 200,
    unchanged: true,
    check: (r) => {
      assert.equal(r.json.id, F.open.id);
      assert.equal(r.json.isCached, true);
      assert.deepEqual(r.json.tags, ["t1", "t2"]);
      assert.deepEqual(r.json.metadata, { k: 1 });
      assert.equal(r.json.runId, F.open.runId);
    },
  });
  add("create: the closed session's externalId → 409 session_closed", "POST", P, {
    json: { externalId: F.closed.externalId },
    status: 409,
    code: "session_closed",
    check: (r) => assert.equal(r.json.closedReason, "done"),
  });
  add("create: the closed session's externalId with a bad field → 400 first", "POST", P, { json: { externalId: F.closed.externalId, tags: "x" }, status: 400 });
  good("another environment's externalId → a new session of this one", { externalId: F.bOnly3.externalId }, (r) => {
    assert.notEqual(r.json.id, F.bOnly3.id);
    assert.equal(r.json.metadata, null, "never B's metadata");
  });

  // Credentials (the body would create a session).
  credentialRows(add, "create", "POST", P, { json: { externalId: uniq("cred") } });
  add("create: wrong method PUT", "PUT", P, { json: {}, status: 405 });
  return list;
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/sessions

function listRows() {
  const { list, add } = rows();
  const L = (q) => `/api/v1/sessions?${q}`;
  const bad = (name, q, opts = {}) => add(`list: ${name}`, "GET", L(q), { status: 400, ...opts });
  const good = (name, q, check, opts = {}) => add(`list (control): ${name}`, "GET", L(q), { status: 200, check, ...opts });
  const ids = (r) => r.json.data.map((s) => s.id);

  for (const v of ["0", "-1", "101", "1000000", "99999999999999999999", "abc", "", "1.5", "5abc", "NaN", "Infinity", "1,2"]) {
    bad(`page[size]=${JSON.stringify(v)}`, `page[size]=${enc(v)}`);
  }
  bad("page[size] repeated, one out of range", "page[size]=5&page[size]=500");
  good("page[size]=1", "page[size]=1", (r) => {
    assert.equal(r.json.data.length, 1);
    assert.equal(typeof r.json.pagination.next, "string");
  });
  good("page[size]=100", "page[size]=100", (r) => assert.ok(r.json.data.length > 10));
  good("no query: default page of 20, newest first", "", (r) => {
    assert.equal(r.json.data.length, 20);
    const t = r.json.data.map((s) => Date.parse(s.createdAt));
    assert.deepEqual(t, [...t].sort((a, b) => b - a));
  });

  bad("page[after] garbage", "page[after]=garbage");
  bad("page[before] garbage", "page[before]=garbage");
  bad("page[after] an unknown session_ id", "page[after]=session_doesnotexist0000000000");
  for (const which of ["after", "before"]) {
    bad(`page[${which}] a session of another environment`, `page[${which}]=${F.bOnly.id}`, {
      check: (r) => assert.ok(!r.text.includes(F.bOnly.externalId) && !r.text.includes("secretOfB"), "nothing of B's session"),
    });
  }
  bad("page[after] and page[before] at once", `page[after]=${F.open.id}&page[before]=${F.other.id}`);
  bad("page[after] and page[before] at once, same id", `page[after]=${F.open.id}&page[before]=${F.open.id}`);
  bad("page[after] with a control character", "page[after]=a%01b");
  bad("page[before] invalid UTF-8", "page[before]=%ff");
  good("page[after] a session of this environment", `page[after]=${F.open.id}&page[size]=100`, (r) => assert.ok(!ids(r).includes(F.open.id)));

  for (const v of ["OPEN", "active", "ACTIVE,BOGUS", "closed", "DELETED", "ACTIVE%00"]) bad(`filter[status]=${v}`, `filter[status]=${v.includes("%") ? v : enc(v)}`);
  bad("filter[status] repeated, one unknown", "filter[status]=ACTIVE&filter[status]=NOPE");
  bad("filter[status] empty", "filter[status]=", {
  });
  good("filter[status]=CLOSED", "filter[status]=CLOSED&page[size]=100", (r) => {
    assert.ok(ids(r).includes(F.closed.id));
    assert.ok(r.json.data.every((s) => s.closedAt !== null));
  });
  good("filter[status]=ACTIVE,EXPIRED", "filter[status]=ACTIVE,EXPIRED&page[size]=100", (r) => {
    assert.ok(!ids(r).includes(F.closed.id));
    assert.ok(ids(r).includes(F.open.id));
  });

  for (const v of ["abc", "-1", "1.5", "1e12", "", " 1"]) bad(`filter[createdAt][from]=${JSON.stringify(v)}`, `filter[createdAt][from]=${enc(v)}`);
  for (const v of ["abc", "-5", "x1"]) bad(`filter[createdAt][to]=${JSON.stringify(v)}`, `filter[createdAt][to]=${enc(v)}`);
  for (const v of ["abc", "-1h", "", "1 fortnight", "1.5h", "h", "10"]) bad(`filter[createdAt][period]=${JSON.stringify(v)}`, `filter[createdAt][period]=${enc(v)}`);
  good("filter[createdAt][period]=1h", "filter[createdAt][period]=1h&page[size]=100", (r) => assert.ok(ids(r).includes(F.open.id)));
  good("filter[createdAt][from] after [to]", `filter[createdAt][from]=${Date.now()}&filter[createdAt][to]=1000`, (r) => assert.deepEqual(r.json.data, []));
  good("filter[createdAt][to]=0", "filter[createdAt][to]=0", (r) => assert.deepEqual(r.json.data, [], "nothing was created before 1970"), {
  });

  const many = Array.from({ length: 33 }, (_, i) => `v${i}`);
  bad("33 filter[type] values, comma-separated", `filter[type]=${many.join(",")}`);
  bad("33 filter[tags] keys", many.map((v) => `filter[tags]=${v}`).join("&"));
  bad("33 filter[taskIdentifier] values", `filter[taskIdentifier]=${many.join(",")}`);
  good("32 filter[type] values", `filter[type]=${many.slice(0, 32).join(",")}`, (r) => assert.deepEqual(r.json.data, []));
  good("filter[tags]=t1 and filter[type]=chat.agent", "filter[tags]=t1&filter[type]=chat.agent&filter[taskIdentifier]=nope,chat-task", (r) => assert.deepEqual(ids(r), [F.open.id]));

  bad("malformed percent-escape in a key", "page%zz=1");
  bad("truncated percent-escape in a value", "filter[type]=%");

  // Names from the URL (docs "Names": 400 at every route, before any lookup).
  bad("filter[externalId] with a control character", "filter[externalId]=a%01b", {
  });
  bad("filter[externalId] invalid UTF-8", "filter[externalId]=a%ffb", {
  });
  bad("filter[type] with a control character", "filter[type]=chat%0aagent", {
  });

  // Another environment never sees A's sessions.
  add("list (isolation): B filtering on A's externalId", "GET", L(`filter[externalId]=${enc(F.open.externalId)}`), { token: F.B.key, status: 200, check: (r) => assert.deepEqual(r.json.data, []) });
  add("list (isolation): B filtering on the shared externalId gets its own", "GET", L(`filter[externalId]=${enc(F.sharedExt)}`), {
    token: F.B.key,
    status: 200,
    check: (r) => assert.deepEqual(ids(r), [F.bShared.id]),
  });
  add("list (isolation): B's whole list holds none of A's ids", "GET", L("page[size]=100"), {
    token: F.B.key,
    status: 200,
    check: (r) => {
      for (const s of [F.open, F.other, F.closed, F.aShared]) assert.ok(!ids(r).includes(s.id), `B sees ${s.id}`);
    },
  });
  credentialRows(add, "list", "GET", L("page[size]=1"));
  return list;
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/sessions/:session

function getRows() {
  const { list, add } = rows();
  const G = (key) => `/api/v1/sessions/${key}`;
  const nf = (name, key, opts = {}) => add(`get: ${name}`, "GET", G(key), { status: 404, ...opts });
  const noBLeak = (r) => assert.ok(!r.text.includes("secretOfB") && !r.text.includes(F.bOnly.id), "nothing of B's session");

  nf("unknown externalId", uniq("nobody"));
  nf("unknown session_ id", "session_doesnotexist0000000000");
  nf("bare session_ prefix", "session_");
  nf("B's session by id, with A's key", F.bOnly.id, { check: noBLeak });
  nf("B's session by externalId, with A's key", enc(F.bOnly.externalId), { check: noBLeak });
  nf("B's twin (same externalId) by id, with A's key", F.bShared.id);
  nf("A's session by id, with B's key", F.open.id, { token: F.B.key, check: (r) => assert.ok(!r.text.includes(F.open.externalId)) });
  nf("A's session by externalId, with B's key", enc(F.open.externalId), { token: F.B.key });
  add("get: a 300-character key", "GET", G("k".repeat(300)), { status: [400, 404] });
  add("get: a 5000-character key", "GET", G("k".repeat(5000)), { status: [400, 404, 414] });
  for (const [what, key] of [
    ["invalid UTF-8", "%ff"],
    ["overlong UTF-8", "a%c0%afb"],
    ["a control character", "a%01b"],
    ["DEL", "a%7f"],
    ["CR LF", "a%0d%0ab"],
    ["NUL", "a%00b"],
    ["a tab", "a%09b"],
  ]) {
    add(`get: key with ${what}`, "GET", G(key), { status: 400 });
  }
  add("get (control): the shared externalId with A's key is A's", "GET", G(enc(F.sharedExt)), { status: 200, check: (r) => assert.equal(r.json.id, F.aShared.id) });
  add("get (control): the shared externalId with B's key is B's", "GET", G(enc(F.sharedExt)), { token: F.B.key, status: 200, check: (r) => assert.equal(r.json.id, F.bShared.id) });
  add("get (control): by id and by externalId agree", "GET", G(F.open.id), {
    status: 200,
    check: async (r) => {
      const byExt = await send({ method: "GET", path: G(enc(F.open.externalId)), token: F.A.key });
      assert.deepEqual(byExt.json, r.json);
      assert.deepEqual(r.json.triggerConfig, { basePayload: { chatId: "c" }, maxAttempts: 3 });
    },
  });
  add("get: unknown sub-route", "GET", `${G(F.open.id)}/bogus`, { status: 404 });
  add("get: snapshot-url is the run engine's → 501, no retries", "GET", `${G(F.open.id)}/snapshot-url`, {
    status: 501,
    code: "not_implemented",
    check: (r) => assert.equal(r.headers.get("x-should-retry"), "false"),
  });
  add("get: DELETE is not a method of the route", "DELETE", G(F.open.id), { status: 405 });
  credentialRows(add, "get", "GET", G(F.open.id));
  return list;
}

// ---------------------------------------------------------------------------------------------
// PATCH /api/v1/sessions/:session

function patchRows() {
  const { list, add } = rows();
  const T = `/api/v1/sessions/${F.patchable.id}`;
  const bad = (name, json, opts = {}) => add(`patch: ${name}`, "PATCH", T, { json, status: 400, ...opts });

  for (const [name, raw] of [
    ["truncated object", "{"],
    ["empty body", ""],
    ["array", "[]"],
    ["null", "null"],
    ["string", '"x"'],
    ["invalid UTF-8 bytes", invalidUtf8('{"externalId":"a', '"}')],
    ["NUL escape", '{"externalId":"a\\u0000"}'],
  ]) {
    add(`patch: malformed JSON, ${name}`, "PATCH", T, { raw, status: 400 });
  }
  for (const v of ["t", null, 1, {}, [1], [null], [["a"]], Array.from({ length: 11 }, (_, i) => `t${i}`), ["t".repeat(129)], ["a\nb"], ["\u007f"]]) {
    bad(`tags = ${short(JSON.stringify(v), 50)}`, { tags: v });
  }
  for (const v of ["m", 1, [], true, ["a"]]) bad(`metadata = ${JSON.stringify(v)}`, { metadata: v });
  for (const v of ["", "e".repeat(257), 1, true, {}, [], ["a"], "session_x", "session_", "a\u0001b", "a\u007f", "a\nb"]) {
    bad(`externalId = ${short(JSON.stringify(v), 50)}`, { externalId: v });
  }
  add("patch: externalId invalid UTF-8", "PATCH", T, { raw: invalidUtf8('{"externalId":"a', '"}', [0xed, 0xa0, 0x80]), status: 400 });

  // Collisions → 409, and nothing of the patch applied.
  for (const [what, ext] of [
    ["another open session's externalId", F.other.externalId],
    ["a closed session's externalId", F.closed.externalId],
    ["the shared externalId (A's twin)", F.sharedExt],
  ]) {
    add(`patch: externalId collision with ${what} → 409`, "PATCH", T, { json: { externalId: ext }, status: 409 });
  }
  add("patch: valid tags + metadata with a colliding externalId → 409, nothing applied", "PATCH", T, {
    json: { tags: ["new"], metadata: { n: 1 }, externalId: F.other.externalId },
    status: 409,
  });
  add("patch: valid tags with an empty externalId → 400, nothing applied", "PATCH", T, { json: { tags: ["new"], externalId: "" }, status: 400 });
  add("patch: valid metadata with bad tags → 400, nothing applied", "PATCH", T, { json: { metadata: { n: 1 }, tags: "bad" }, status: 400 });
  add("patch: valid externalId with bad metadata → 400, nothing applied", "PATCH", T, { json: { externalId: uniq("fresh"), metadata: [1] }, status: 400 });
  add("patch: metadata over the 64 KiB body limit", "PATCH", T, { json: { metadata: { blob: "x".repeat(70 * 1024) } }, status: 413 });
  add("patch: B's externalId is free in A (no cross-env collision)", "PATCH", `/api/v1/sessions/${F.scratch[3].id}`, {
    json: { externalId: F.bOnly2.externalId },
    status: 200,
    check: (r) => assert.equal(r.json.externalId, F.bOnly2.externalId),
  });

  // Unknown / other environment.
  add("patch: unknown externalId", "PATCH", `/api/v1/sessions/${uniq("nobody")}`, { json: { tags: ["x"] }, status: 404 });
  add("patch: unknown session_ id", "PATCH", "/api/v1/sessions/session_doesnotexist0000000000", { json: { tags: ["x"] }, status: 404 });
  add("patch: B's session by id with A's key", "PATCH", `/api/v1/sessions/${F.bOnly.id}`, { json: { tags: ["x"], metadata: null }, status: 404 });
  add("patch: A's session by id with B's key", "PATCH", T, { token: F.B.key, json: { tags: ["x"] }, status: 404 });
  add("patch: A's session by externalId with B's key", "PATCH", `/api/v1/sessions/${enc(F.patchable.externalId)}`, { token: F.B.key, json: { tags: ["x"] }, status: 404 });
  add("patch: key with a control character", "PATCH", "/api/v1/sessions/a%01b", { json: { tags: ["x"] }, status: 400 });

  // Names the docs forbid / trigger.dev trims.
  bad("externalId with '/'", { externalId: "a/b" }, {
  });
  bad("externalId of blanks only", { externalId: "  " }, {
  });

  // Controls, on scratch sessions.
  const S = (i) => `/api/v1/sessions/${F.scratch[i].id}`;
  add("patch (control): tags replaced, updatedAt moves", "PATCH", S(0), {
    json: { tags: ["x", "y"] },
    status: 200,
    check: (r) => {
      assert.deepEqual(r.json.tags, ["x", "y"]);
      assert.ok(Date.parse(r.json.updatedAt) >= Date.parse(F.scratch[0].updatedAt));
      assert.deepEqual(r.json.metadata, { s: 0 }, "metadata untouched");
    },
  });
  add("patch (control): metadata null clears it", "PATCH", S(1), { json: { metadata: null }, status: 200, check: (r) => assert.equal(r.json.metadata, null) });
  add("patch (control): externalId null clears it; the old name is free", "PATCH", S(2), {
    json: { externalId: null },
    status: 200,
    check: async (r) => {
      assert.equal(r.json.externalId, null);
      const old = await send({ method: "GET", path: `/api/v1/sessions/${enc(F.scratch[2].externalId)}`, token: F.A.key });
      assert.equal(old.status, 404);
    },
  });
  add("patch (control): {} changes nothing but updatedAt", "PATCH", S(4), {
    json: {},
    status: 200,
    check: (r) => {
      assert.deepEqual(r.json.tags, ["s"]);
      assert.equal(r.json.externalId, F.scratch[4].externalId);
    },
  });
  add("patch (control): externalId set to its own value (no self-collision)", "PATCH", S(5), {
    json: { externalId: F.scratch[5].externalId },
    status: 200,
  });
  credentialRows(add, "patch", "PATCH", T, { json: { tags: ["hacked"], metadata: { hacked: true } } });
  return list;
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/sessions/:session/close

function closeRows() {
  const { list, add } = rows();
  const T = `/api/v1/sessions/${F.closable.id}/close`;
  const bad = (name, json) => add(`close: ${name}`, "POST", T, { json, status: 400 });
  for (const [name, raw] of [
    ["truncated object", "{"],
    ["array", "[]"],
    ["null", "null"],
    ["string", '"x"'],
    ["number", "42"],
    ["invalid UTF-8 bytes", invalidUtf8('{"reason":"a', '"}')],
  ]) {
    add(`close: malformed JSON, ${name}`, "POST", T, { raw, status: 400 });
  }
  for (const v of [1, true, {}, [], "r".repeat(257), "a\u0001b", "a\nb"]) bad(`reason = ${short(JSON.stringify(v), 40)}`, { reason: v });
  for (const v of [1, "", {}, ["run_x"], "run\u0001", "r".repeat(300)]) bad(`callingRunId = ${short(JSON.stringify(v), 40)}`, { callingRunId: v });
  add("close: reason invalid UTF-8", "POST", T, { raw: invalidUtf8('{"reason":"a', '"}', [0xff, 0xfe]), status: 400 });
  add("close: unknown externalId", "POST", `/api/v1/sessions/${uniq("nobody")}/close`, { json: {}, status: 404 });
  add("close: unknown session_ id", "POST", "/api/v1/sessions/session_doesnotexist0000000000/close", { json: {}, status: 404 });
  add("close: B's session by id with A's key", "POST", `/api/v1/sessions/${F.bOnly.id}/close`, { json: { reason: "x" }, status: 404 });
  add("close: B's session by externalId with A's key", "POST", `/api/v1/sessions/${enc(F.bOnly.externalId)}/close`, { json: { reason: "x" }, status: 404 });
  add("close: A's session with B's key", "POST", T, { token: F.B.key, json: { reason: "x" }, status: 404 });
  add("close: key with a control character", "POST", "/api/v1/sessions/a%0db/close", { json: {}, status: 400 });
  add("close: a closed session again, another reason → 200, write-once (nothing changes)", "POST", `/api/v1/sessions/${F.closed.id}/close`, {
    json: { reason: "again", callingRunId: F.closed.runId },
    status: 200,
    unchanged: true,
    check: (r) => {
      assert.equal(r.json.closedReason, "done");
      assert.equal(r.json.closed, true);
    },
  });
  add("close (control): 256-character reason and callingRunId", "POST", `/api/v1/sessions/${F.scratch[0].id}/close`, {
    json: { reason: "r".repeat(256), callingRunId: F.scratch[0].runId },
    status: 200,
    check: (r) => {
      assert.equal(r.json.closedReason, "r".repeat(256));
      assert.notEqual(r.json.closedAt, null);
    },
  });
  add("close (control): no body", "POST", `/api/v1/sessions/${F.scratch[1].id}/close`, { status: 200, check: (r) => assert.equal(r.json.closed, true) });
  credentialRows(add, "close", "POST", T, { json: { reason: "hacked" } });
  add("close: GET is not a method of the route", "GET", T, { status: 405 });
  return list;
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/sessions/:session/end-and-continue

function eacRows() {
  const { list, add } = rows();
  const T = `/api/v1/sessions/${F.eac.id}/end-and-continue`;
  const body = (extra) => ({ callingRunId: F.eacR1, reason: "upgrade", ...extra });
  const bad = (name, json, opts = {}) => add(`end-and-continue: ${name}`, "POST", T, { json, status: 400, ...opts });
  for (const [name, raw] of [
    ["truncated object", "{"],
    ["empty body", ""],
    ["array", "[]"],
    ["null", "null"],
    ["invalid UTF-8 bytes", invalidUtf8(`{"callingRunId":"${F.eacR1}","reason":"a`, '"}')],
  ]) {
    add(`end-and-continue: malformed JSON, ${name}`, "POST", T, { raw, status: 400 });
  }
  bad("{}", {});
  bad("no callingRunId", { reason: "upgrade" });
  bad("no reason", { callingRunId: F.eacR1 });
  for (const v of [1, "", null, {}, [F.eacR1], true, "run\u0001"]) bad(`callingRunId = ${JSON.stringify(v)}`, body({ callingRunId: v }));
  for (const v of [1, null, {}, "r".repeat(65), "a\u0001", "a\nb"]) bad(`reason = ${short(JSON.stringify(v), 40)}`, body({ reason: v }));
  for (const v of [5, {}, true, ["d"]]) {
    bad(`externalDeploymentId = ${JSON.stringify(v)}`, body({ externalDeploymentId: v }), {
    });
  }
  add("end-and-continue: unknown session", "POST", `/api/v1/sessions/${uniq("nobody")}/end-and-continue`, { json: body(), status: 404 });
  add("end-and-continue: unknown session_ id", "POST", "/api/v1/sessions/session_doesnotexist0000000000/end-and-continue", { json: body(), status: 404 });
  add("end-and-continue: B's session with A's key", "POST", `/api/v1/sessions/${F.bOnly.id}/end-and-continue`, { json: body({ callingRunId: F.bOnly.runId }), status: 404 });
  add("end-and-continue: A's session with B's key", "POST", T, { token: F.B.key, json: body(), status: 404 });
  add("end-and-continue: closed session → 409 session_closed", "POST", `/api/v1/sessions/${F.closed.id}/end-and-continue`, {
    json: { callingRunId: F.closed.runId, reason: "upgrade" },
    status: 409,
    code: "session_closed",
  });
  add("end-and-continue: closed session with a bad body → 400 first", "POST", `/api/v1/sessions/${F.closed.id}/end-and-continue`, { json: { reason: "x" }, status: 400 });
  const notSwapped = (r) => assert.deepEqual(r.json, { runId: F.eacR1, swapped: false });
  add("end-and-continue: stale callingRunId (the previous run) → swapped:false naming the current run", "POST", T, { json: body({ callingRunId: F.eacR0 }), status: 200, unchanged: true, check: notSwapped });
  add("end-and-continue: another session's current run → swapped:false", "POST", T, { json: body({ callingRunId: F.other.runId }), status: 200, unchanged: true, check: notSwapped });
  add("end-and-continue: an unknown run id → swapped:false", "POST", T, { json: body({ callingRunId: "run_doesnotexist000000000000" }), status: 200, unchanged: true, check: notSwapped });
  add("end-and-continue: B's run id → swapped:false", "POST", T, { json: body({ callingRunId: F.bOnly.runId }), status: 200, unchanged: true, check: notSwapped });
  add("end-and-continue: stale caller with an empty reason → swapped:false", "POST", T, { json: body({ callingRunId: F.eacR0, reason: "" }), status: 200, unchanged: true, check: notSwapped });
  add("end-and-continue (control): 64-character reason and a deployment id", "POST", `/api/v1/sessions/${F.scratch[2].id}/end-and-continue`, {
    json: { callingRunId: F.scratch[2].runId, reason: "r".repeat(64), externalDeploymentId: "deployment_1" },
    status: 200,
    check: (r) => {
      assert.equal(r.json.swapped, true);
      assert.match(r.json.runId, /^run_/);
      assert.notEqual(r.json.runId, F.scratch[2].runId);
    },
  });
  credentialRows(add, "end-and-continue", "POST", T, { json: body() });
  return list;
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/auth/jwt/claims, POST /api/v1/auth/public-tokens

function authRows() {
  const { list, add } = rows();
  const C = "/api/v1/auth/jwt/claims";
  const P = "/api/v1/auth/public-tokens";
  add("claims (control): the secret key", "POST", C, { status: 200, check: (r) => assert.deepEqual(r.json, { sub: F.A.env.id, pub: true }) });
  add("claims (control): B's secret key names B", "POST", C, { token: F.B.key, status: 200, check: (r) => assert.deepEqual(r.json, { sub: F.B.env.id, pub: true }) });
  add("claims: GET is not a method of the route", "GET", C, { status: 405 });
  credentialRows(add, "claims", "POST", C);

  const bad = (name, json) => add(`public-tokens: ${name}`, "POST", P, { json, status: 400 });
  for (const [name, raw] of [
    ["truncated object", "{"],
    ["array", "[]"],
    ["empty body", ""],
    ["invalid UTF-8 in a scope", invalidUtf8('{"scopes":["read:sessions:a', '"]}')],
  ]) {
    add(`public-tokens: malformed JSON, ${name}`, "POST", P, { raw, status: 400 });
  }
  for (const v of [undefined, null, "read:all", {}, [], [""], [null], [7], [["read:all"]], ["read:sessions:a\u0001"], ["read:sessions:a\nb"], ["s".repeat(301)], Array.from({ length: 101 }, () => "read:all")]) {
    bad(`scopes = ${short(JSON.stringify(v) ?? "absent", 50)}`, v === undefined ? {} : { scopes: v });
  }
  const now = nowS();
  for (const v of [0, -1, true, {}, [], "", "soon", "15", "-5m", "31d", "1 fortnight", now - 10, now + 31 * 86400, Date.now() + 60000, 1e300]) {
    bad(`expirationTime = ${JSON.stringify(v)}`, { scopes: ["read:all"], expirationTime: v });
  }
  const expAbout = (lo, hi) => (r) => {
    const exp = JSON.parse(Buffer.from(r.json.token.split(".")[1], "base64url")).exp;
    assert.ok(exp >= lo() && exp <= hi(), `exp ${exp}`);
  };
  add("public-tokens (control): expirationTime 30d", "POST", P, { json: { scopes: ["read:all"], expirationTime: "30d" }, status: 200, check: expAbout(() => nowS() + 30 * 86400 - 60, () => nowS() + 30 * 86400) });
  add("public-tokens (control): expirationTime absolute Unix seconds", "POST", P, { json: { scopes: ["read:all"], expirationTime: now + 120 }, status: 200, check: expAbout(() => now + 120, () => now + 120) });
  add("public-tokens (control): scopes weir does not serve are accepted", "POST", P, { json: { scopes: ["read:tags:t1", "trigger:tasks:x", "read:batch:b"] }, status: 200 });
  credentialRows(add, "public-tokens", "POST", P, { json: { scopes: ["admin"] } });
  return list;
}

// ---------------------------------------------------------------------------------------------
// Session channels (issue 16: side channels, closed sessions, public tokens)

function channelRows() {
  const { list, add } = rows();
  const O = F.open.externalId;
  const ch = (key, rest) => `/realtime/v1/sessions/${key}/${rest}`;
  const text = { "content-type": "text/plain" };
  const appendRow = (name, path, opts) => add(name, "POST", path, { raw: "x", headers: text, ...opts });

  for (const [what, token] of [
    ["another session's public token", F.other.publicAccessToken],
    ["a token whose scopes weir does not serve", F.noScope],
  ]) {
    add(`channel: PUT .in, ${what}`, "PUT", ch(O, "in"), { token, status: 403 });
    add(`channel: PUT side .in, ${what}`, "PUT", ch(O, "channels/side/in"), { token, status: 403 });
    add(`channel: records .in, ${what}`, "GET", ch(O, "in/records"), { token, status: 403 });
    add(`channel: records side .in, ${what}`, "GET", ch(O, "channels/side/in/records"), { token, status: 403 });
    appendRow(`channel: append .in, ${what}`, ch(O, "in/append"), { token, status: 403 });
    appendRow(`channel: append side .in, ${what}`, ch(O, "channels/side/in/append"), { token, status: 403 });
    appendRow(`channel: append .in by session_ id, ${what}`, ch(F.open.id, "in/append"), { token, status: 403 });
  }
  for (const [what, token] of [
    ["the session's own public token", F.open.publicAccessToken],
    ["a locally signed trigger.dev token", F.local],
    ["an admin public token", F.admin],
  ]) {
    add(`channel: PUT .out, ${what} → 403 (secret key only)`, "PUT", ch(O, "out"), { token, status: 403 });
    appendRow(`channel: append .out, ${what} → 403`, ch(O, "out/append"), { token, status: 403 });
    appendRow(`channel: append side .out, ${what} → 403`, ch(O, "channels/side/out/append"), { token, status: 403 });
  }
  for (const [what, token] of [
    ["no Authorization", null],
    ["wrong secret key", `sk_${randomBytes(20).toString("hex")}`],
    ["root token", weir.token],
    ["expired locally signed token", F.localExpired],
  ]) {
    appendRow(`channel: append .in, ${what}`, ch(O, "in/append"), { token, status: 401 });
    add(`channel: records .in, ${what}`, "GET", ch(O, "in/records"), { token, status: 401 });
  }
  add("channel: B's admin token on A's session_ id → 404", "GET", ch(F.open.id, "in/records"), { token: F.bAdmin, status: 404 });
  appendRow("channel: B's admin token appends to A's session_ id → 404", ch(F.open.id, "in/append"), { token: F.bAdmin, status: 404 });
  add("channel (control): B's admin token on A's externalId reads B's own (empty) channel", "GET", ch(O, "in/records"), {
    token: F.bAdmin,
    status: 200,
    check: (r) => assert.deepEqual(r.json, { records: [] }),
  });
  for (const [what, token] of [
    ["the session's own public token", F.open.publicAccessToken],
    ["a locally signed trigger.dev token", F.local],
  ]) {
    add(`channel (control): records .in, ${what}`, "GET", ch(O, "in/records"), {
      token,
      status: 200,
      check: (r) => assert.deepEqual(r.json.records.map((x) => x.data), ["seed-open-in"]),
    });
    add(`channel (control): records side .in by id, ${what}`, "GET", ch(F.open.id, "channels/side/in/records"), {
      token,
      status: 200,
      check: (r) => assert.deepEqual(r.json.records.map((x) => x.data), ["seed-open-side"]),
    });
  }

  // Side channel names: 1-64 of [A-Za-z0-9._-].
  for (const [what, name] of [
    ["a space", "a%20b"],
    ["65 characters", "n".repeat(65)],
    ["a star", "a*b"],
    ["a control character", "a%01b"],
    ["an encoded slash", "a%2Fb"],
    ["non-ASCII", "%C3%A9"],
    ["a colon", "a:b"],
  ]) {
    add(`channel: PUT side channel named with ${what}`, "PUT", ch(O, `channels/${name}/in`), { status: 400 });
    appendRow(`channel: append side channel named with ${what}`, ch(O, `channels/${name}/in/append`), { status: 400 });
  }
  add("channel: side channel, unknown io", "PUT", ch(O, "channels/side/sideways"), { status: 404 });
  add("channel: session key with an encoded slash", "PUT", ch(`${enc(O)}%2Fchannels%2Fside`, "in"), { status: 400 });

  // Closed session: writes refused (append → 409 session_closed, PUT → 400), reads allowed.
  for (const key of [F.closed.id, F.closed.externalId]) {
    const by = key === F.closed.id ? "by id" : "by externalId";
    appendRow(`closed (${by}): append .in → 409`, ch(key, "in/append"), { status: 409, code: "session_closed" });
    appendRow(`closed (${by}): append side .in → 409`, ch(key, "channels/side/in/append"), { status: 409, code: "session_closed" });
    appendRow(`closed (${by}): append .in with its public token → 409`, ch(key, "in/append"), { token: F.closed.publicAccessToken, status: 409, code: "session_closed" });
    add(`closed (${by}): PUT .in → 400`, "PUT", ch(key, "in"), { status: 400 });
    add(`closed (${by}): PUT side .out → 400`, "PUT", ch(key, "channels/side/out"), { status: 400 });
    add(`closed (${by}): records .in still readable`, "GET", ch(key, "in/records"), {
      token: F.closed.publicAccessToken,
      status: 200,
      check: (r) => assert.deepEqual(r.json.records.map((x) => x.data), ["seed-closed-in"]),
    });
  }
  // A session_ id without a row.
  const NR = "session_doesnotexist0000000000";
  appendRow("no row: append .in → 404", ch(NR, "in/append"), { status: 404 });
  add("no row: PUT side .in → 404", "PUT", ch(NR, "channels/side/in"), { status: 404 });
  add("no row: records side .in → 404", "GET", ch(NR, "channels/side/in/records"), { status: 404 });
  return list;
}

// ---------------------------------------------------------------------------------------------
// The tables

for (const [name, rows] of [
  ["POST /api/v1/sessions: bad input, credentials, existing and closed externalIds", createRows],
  ["GET /api/v1/sessions: page sizes, cursors, filters, isolation, credentials", listRows],
  ["GET /api/v1/sessions/:session: unknown, other environment, bad names, credentials", getRows],
  ["PATCH /api/v1/sessions/:session: bad fields, collisions (409, atomic), credentials", patchRows],
  ["POST /api/v1/sessions/:session/close: bad fields, write-once, credentials", closeRows],
  ["POST /api/v1/sessions/:session/end-and-continue: bad fields, stale callers, closed, credentials", eacRows],
  ["POST /api/v1/auth/jwt/claims and /api/v1/auth/public-tokens: bad input, credentials", authRows],
  ["session channels: public tokens of other sessions, side channel names, closed sessions", channelRows],
]) {
  test(name, async (t) => {
    await runTable(t, rows());
  });
}

// ---------------------------------------------------------------------------------------------
// Races and cross-session effects

test("end-and-continue races: one of eight concurrent callers swaps, the others name its run", async () => {
  const s = (await ok("POST", "/api/v1/sessions", { token: F.A.key, body: { externalId: uniq("race") } }, 201)).json;
  const T = `/api/v1/sessions/${s.id}/end-and-continue`;
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => send({ method: "POST", path: T, token: F.A.key, json: { callingRunId: s.runId, reason: `r${i}` } })));
  for (const a of answers) assert.equal(a.status, 200, a.text);
  const won = answers.filter((a) => a.json.swapped);
  assert.equal(won.length, 1, `exactly one swap: ${answers.map((a) => a.text).join(" ")}`);
  const winner = won[0].json.runId;
  assert.notEqual(winner, s.runId);
  for (const a of answers) assert.equal(a.json.runId, winner, "every loser names the run that won");
  const now = (await ok("GET", `/api/v1/sessions/${s.id}`, { token: F.A.key })).json;
  assert.equal(now.currentRunId, winner);
  // The new run is registered (its streams can be written), in this environment only.
  assert.equal((await send({ method: "PUT", path: `/realtime/v1/streams/${winner}/self/s`, token: F.A.key })).status, 202);
  const fromB = await send({ method: "PUT", path: `/realtime/v1/streams/${winner}/self/s`, token: F.B.key });
  assert.equal(fromB.status, 404, fromB.text);
  // The first caller, now stale, changes nothing; the winner can hand over again.
  const stale = await send({ method: "POST", path: T, token: F.A.key, json: { callingRunId: s.runId, reason: "late" } });
  assert.deepEqual(stale.json, { runId: winner, swapped: false });
  assert.deepEqual((await ok("GET", `/api/v1/sessions/${s.id}`, { token: F.A.key })).json, now);
  const next = await send({ method: "POST", path: T, token: F.A.key, json: { callingRunId: winner, reason: "again" } });
  assert.equal(next.json.swapped, true);
  assert.notEqual(next.json.runId, winner);
});

test("end-and-continue racing close: the close wins or the swap lands first; the session ends closed", async () => {
  const s = (await ok("POST", "/api/v1/sessions", { token: F.A.key, body: { externalId: uniq("race-close") } }, 201)).json;
  const [closed, eac] = await Promise.all([
    send({ method: "POST", path: `/api/v1/sessions/${s.id}/close`, token: F.A.key, json: { reason: "bye" } }),
    send({ method: "POST", path: `/api/v1/sessions/${s.id}/end-and-continue`, token: F.A.key, json: { callingRunId: s.runId, reason: "upgrade" } }),
  ]);
  assert.equal(closed.status, 200, closed.text);
  const after = (await ok("GET", `/api/v1/sessions/${s.id}`, { token: F.A.key })).json;
  assert.equal(after.closed, true);
  assert.equal(after.closedReason, "bye");
  if (eac.status === 200) {
    assert.equal(eac.json.swapped, true);
    assert.equal(after.currentRunId, eac.json.runId);
  } else {
    assert.equal(eac.status, 409, eac.text);
    assert.equal(eac.json.code, "session_closed");
    assert.equal(after.currentRunId, s.runId);
  }
});

test(
  "an externalId with '/' must not name another session's side channel",
  async () => {
    const victim = (await ok("POST", "/api/v1/sessions", { token: F.A.key, body: { externalId: uniq("victim") } }, 201)).json;
    const ap = await send({ method: "POST", path: `/realtime/v1/sessions/${victim.externalId}/channels/x/in/append`, token: F.A.key, raw: "victim-private", headers: { "content-type": "text/plain" } });
    assert.equal(ap.status, 200, ap.text);
    const res = await send({ method: "POST", path: "/api/v1/sessions", token: F.A.key, json: { externalId: `${victim.externalId}/channels/x` } });
    if (res.status === 201) {
      const leak = await send({ method: "GET", path: `/realtime/v1/sessions/${res.json.id}/in/records`, token: res.json.publicAccessToken });
      assert.deepEqual(leak.json?.records ?? [], [], `the new session's own channel shows the victim's side channel: ${leak.text}`);
    }
    assert.equal(res.status, 400, `create answered ${res.status} ${short(res.text)}`);
    assertErrorBody(res);
  },
);

test(
  "a session created with an externalId another session was renamed away from gets channels of its own",
  async () => {
    const X = uniq("renamed");
    const s1 = (await ok("POST", "/api/v1/sessions", { token: F.A.key, body: { externalId: X } }, 201)).json;
    const ap = await send({ method: "POST", path: `/realtime/v1/sessions/${X}/in/append`, token: F.A.key, raw: "s1-private", headers: { "content-type": "text/plain" } });
    assert.equal(ap.status, 200, ap.text);
    await ok("PATCH", `/api/v1/sessions/${s1.id}`, { token: F.A.key, body: { externalId: `${X}-moved` } });
    const s2 = (await ok("POST", "/api/v1/sessions", { token: F.A.key, body: { externalId: X } }, 201)).json;
    assert.notEqual(s2.id, s1.id);
    // S1 keeps its channel (documented: renaming does not move channels) …
    const mine = await send({ method: "GET", path: `/realtime/v1/sessions/${s1.id}/in/records`, token: F.A.key });
    assert.deepEqual(mine.json.records.map((r) => r.data), ["s1-private"]);
    // … and S2, a new session, must not see it.
    const theirs = await send({ method: "GET", path: `/realtime/v1/sessions/${s2.id}/in/records`, token: s2.publicAccessToken });
    assert.equal(theirs.status, 200, theirs.text);
    assert.deepEqual(theirs.json.records, [], `S2 reads S1's records: ${theirs.text}`);
  },
);

// ---------------------------------------------------------------------------------------------
// X-S2-Endpoint on PUT /realtime/v1/sessions/:session/out (always embedded servers: over the
// remote backend writers are sent to the S2 endpoint instead).

/** A raw HTTP/1.1 request, so Host and the forwarding headers are exactly what the row says. */
function rawRequest(port, method, path, headerLines) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error("no answer in 20 s"));
    }, 20000);
    sock.on("data", (d) => chunks.push(d));
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const head = text.slice(0, text.indexOf("\r\n\r\n"));
      let body = text.slice(head.length + 4);
      const [statusLine, ...lines] = head.split("\r\n");
      const headers = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      if (/chunked/i.test(headers["transfer-encoding"] || "")) {
        let out = "";
        for (let rest = body; ; ) {
          const nl = rest.indexOf("\r\n");
          const n = parseInt(rest.slice(0, nl), 16);
          if (!n) break;
          out += rest.slice(nl + 2, nl + 2 + n);
          rest = rest.slice(nl + 2 + n + 2);
        }
        body = out;
      }
      let json;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body, json });
    });
    sock.write(`${method} ${path} HTTP/1.1\r\n${[...headerLines, "content-length: 0", "connection: close"].join("\r\n")}\r\n\r\n`);
  });
}

test("X-S2-Endpoint: public URL, trusted proxies' Forwarded / X-Forwarded-*, the Host header, bad hosts", async (t) => {
  const PUB = "https://pub.example.test/v1";
  const FWD = "https://streams.example.test/v1";
  const servers = [
    { name: "--trusted-proxies 127.0.0.1/32", args: ["--trusted-proxies", "127.0.0.1/32"], trusted: true },
    { name: "WEIR_TRUSTED_PROXIES=10.1.2.3,::1,127.0.0.1", env: { WEIR_TRUSTED_PROXIES: "10.1.2.3,::1,127.0.0.1" }, trusted: true },
    { name: "no trusted proxies", args: [], trusted: false },
    { name: "--trusted-proxies 10.0.0.0/8 (not the client)", args: ["--trusted-proxies", "10.0.0.0/8"], trusted: false },
    { name: "--public-url https://pub.example.test + trusted 127.0.0.1/32", args: ["--public-url", "https://pub.example.test", "--trusted-proxies", "127.0.0.1/32"], pub: PUB },
    { name: "--public-url with a trailing slash", args: ["--public-url", "https://pub.example.test/"], pub: PUB },
  ];
  const failures = [];
  const crRows = [];
  for (const srv of servers) {
    const w = await startWeir({ embedded: true, args: srv.args ?? [], env: srv.env ?? {} });
    try {
      const H = realtimeHelpers(() => w);
      const ten = await H.tenant();
      const sess = (await H.ok("POST", "/api/v1/sessions", { token: ten.key, body: { externalId: uniq("ep") } }, 201)).json;
      const HOST = `127.0.0.1:${w.port}`;
      const direct = `http://${HOST}/v1`;
      // [name, header lines, expected endpoint when untrusted, when trusted]
      const cases = [
        ["plain Host", [`host: ${HOST}`], direct, direct],
        ["Forwarded proto=https;host=…", [`host: ${HOST}`, "forwarded: proto=https;host=streams.example.test"], direct, FWD],
        ["Forwarded, quoted values, port, a second element", [`host: ${HOST}`, 'forwarded: for=192.0.2.1;proto="https";host="streams.example.test:8443", proto=http;host=evil.test'], direct, "https://streams.example.test:8443/v1"],
        ["Forwarded, parameter names in upper case", [`host: ${HOST}`, "forwarded: Proto=https;Host=streams.example.test"], direct, FWD],
        ["X-Forwarded-Proto + X-Forwarded-Host", [`host: ${HOST}`, "x-forwarded-proto: https", "x-forwarded-host: streams.example.test"], direct, FWD],
        ["X-Forwarded-* lists: the first value", [`host: ${HOST}`, "x-forwarded-proto: https, http", "x-forwarded-host: streams.example.test, evil.test"], direct, FWD],
        ["Forwarded wins over X-Forwarded-*", [`host: ${HOST}`, "forwarded: proto=https;host=streams.example.test", "x-forwarded-proto: http", "x-forwarded-host: evil.test"], direct, FWD],
        ["X-Forwarded-Host alone keeps http", [`host: ${HOST}`, "x-forwarded-host: streams.example.test"], direct, "http://streams.example.test/v1"],
        ["Forwarded host with a space: ignored, proto kept", [`host: ${HOST}`, 'forwarded: proto=https;host="evil test"'], direct, `https://${HOST}/v1`],
        ["Forwarded host with a path: ignored", [`host: ${HOST}`, "forwarded: proto=https;host=evil.test/x"], direct, `https://${HOST}/v1`],
        ["X-Forwarded-Host with userinfo: ignored", [`host: ${HOST}`, "x-forwarded-proto: https", "x-forwarded-host: user@evil.test"], direct, `https://${HOST}/v1`],
        ["Forwarded proto=ftp: ignored", [`host: ${HOST}`, "forwarded: proto=ftp;host=streams.example.test"], direct, "http://streams.example.test/v1"],
        ["X-Forwarded-Proto javascript: ignored", [`host: ${HOST}`, "x-forwarded-proto: javascript", "x-forwarded-host: streams.example.test"], direct, "http://streams.example.test/v1"],
        ["Host streams.example.test:9000", ["host: streams.example.test:9000"], "http://streams.example.test:9000/v1", "http://streams.example.test:9000/v1"],
        ["Host [::1]:9000", ["host: [::1]:9000"], "http://[::1]:9000/v1", "http://[::1]:9000/v1"],
        ["Host with a space → localhost", ["host: evil host"], "http://localhost/v1", "http://localhost/v1"],
        ["Host with a tab → localhost", ["host: evil\thost"], "http://localhost/v1", "http://localhost/v1"],
        ["Host with a path → localhost", ["host: evil.test/path"], "http://localhost/v1", "http://localhost/v1"],
        ["Host with userinfo → localhost", ["host: user@evil.test"], "http://localhost/v1", "http://localhost/v1"],
        ["Host with a quote → localhost", ['host: evil".test'], "http://localhost/v1", "http://localhost/v1"],
        ["Host of 300 characters → localhost", [`host: ${"h".repeat(300)}`], "http://localhost/v1", "http://localhost/v1"],
        ["no Host → localhost", [], "http://localhost/v1", "http://localhost/v1"],
        ["bad Host, trusted Forwarded", ["host: evil host", "forwarded: proto=https;host=streams.example.test"], "http://localhost/v1", FWD],
      ];
      for (const [name, lines, untrusted, trusted] of cases) {
        const want = srv.pub ?? (srv.trusted ? trusted : untrusted);
        for (const [who, path, token] of [
          ["secret key, .out", `/realtime/v1/sessions/${sess.externalId}/out`, ten.key],
          ["public token, .in", `/realtime/v1/sessions/${sess.externalId}/in`, sess.publicAccessToken],
        ]) {
          if (who.startsWith("public") && !/Forwarded|plain/.test(name)) continue;
          const res = await rawRequest(w.port, "PUT", path, [...lines, `authorization: Bearer ${token}`]);
          try {
            assert.equal(res.status, 202, short(res.body));
            assert.equal(res.headers["x-s2-endpoint"], want);
          } catch (e) {
            failures.push(`${srv.name} | ${name} (${who}): ${e.message.split("\n")[0]} — got ${res.status} ${res.headers["x-s2-endpoint"] ?? short(res.body)}`);
          }
        }
      }
      // A bare CR in Host: the head cannot be parsed, so it is refused before any route is known
      // (docs/realtime.md: in S2's {"code","message"} shape), and the CR is never echoed.
      const cr = await rawRequest(w.port, "PUT", `/realtime/v1/sessions/${sess.externalId}/out`, ["host: evil\r.test", `authorization: Bearer ${ten.key}`]);
      crRows.push({ srv: srv.name, res: cr, want: srv.pub ?? "http://localhost/v1" });
    } finally {
      await w.stop();
    }
  }
  for (const { srv, res } of crRows) {
    assert.equal(res.status, 400, `${srv}: Host with a bare CR answered ${res.status}`);
    assert.equal(typeof res.json?.code, "string", `${srv}: ${short(res.body)}`);
    assert.ok(!JSON.stringify(res.headers).includes("evil\r"), `${srv}: the CR never reaches a response header`);
  }
  assert.deepEqual(failures, [], `${failures.length} rows failed:\n${failures.join("\n")}`);
});

test("--public-url and --trusted-proxies that are not URLs / ranges stop the server at boot", async () => {
  const refused = [
    ["--public-url", "ftp://pub.example.test"],
    ["--public-url", "pub.example.test"],
    ["--public-url", "https://"],
    ["--public-url", "https:///path"],
    ["--public-url", "https://pub.example.test/a b"],
    ["--public-url", "https://pub.example.test\r\nx-evil: 1"],
    ["--trusted-proxies", "garbage"],
    ["--trusted-proxies", "127.0.0.1/33"],
    ["--trusted-proxies", "300.1.1.1"],
    ["--trusted-proxies", "::1/129"],
    ["--trusted-proxies", "127.0.0.1/32,"],
  ];
  const failures = [];
  for (const args of refused) {
    let w;
    try {
      w = await startWeir({ embedded: true, args });
    } catch (e) {
      if (!/exited with (\d+) before listening/.test(e.message) || /exited with 0 /.test(e.message)) failures.push(`${args.join(" ")}: ${e.message.split("\n")[0]}`);
      continue;
    }
    await w.stop();
    failures.push(`${args.join(" ")}: the server started`);
  }
  assert.deepEqual(failures, [], failures.join("\n"));
});
