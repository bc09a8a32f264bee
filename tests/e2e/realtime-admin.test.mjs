// realtime-admin.test.mjs — issue 8 (tenants and per-organization basins), through the real binary:
// the admin API (organizations, projects, environments, keys), provisioning (ensure/deprovision,
// plans, apply_to_existing), stamping of runs and sessions, the runs/sessions API, bad input,
// boot-time validation of the realtime configuration, and restart.
//
// Expectations come from ../shared/docs/realtime.md §1–§5 and issue 8's Tests section.
// Servers: `main` (flag on, non-default basin settings so the basin config proves they are
// applied), `off` (flag off), and a pair on one data dir with default settings (restart).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWeir, WEIR_BIN, REMOTE, s2Of } from "./harness.mjs";
import { answerOf } from "./helpers.mjs";

const DAY = 86400;
const MAIN_ENV = {
  WEIR_PER_ORG_BASINS: "true",
  WEIR_BASIN_NAME_PREFIX: "wt",
  WEIR_BASIN_NAME_ENV: "e2e",
  WEIR_GLOBAL_BASIN: "e2e-shared-basin",
  WEIR_BASIN_DEFAULT_RETENTION: "14d",
  WEIR_BASIN_STORAGE_CLASS: "standard",
  WEIR_BASIN_DELETE_ON_EMPTY_MIN_AGE: "2h",
  WEIR_PLAN_RETENTION: "free=shared,hobby=30d,pro=365d,team=7d",
};
const mainBasin = (orgId) => `wt-e2e-org-${orgId}`;

let main;
let off;
before(async () => {
  [main, off] = await Promise.all([startWeir({ env: MAIN_ENV }), startWeir()]);
});
after(async () => {
  await Promise.all([main?.stop(), off?.stop()]);
});

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * One request. `token`: undefined = the server's root token, null = no Authorization header,
 * a string = `Bearer <string>`. An object body is sent as JSON; a string verbatim.
 * Resolves to { status, headers, text, json }.
 */
async function req(server, method, path, { body, token, node = false } = {}) {
  if (path.startsWith("/v1/") && !node) server = s2Of(server); // where the streams are
  const headers = {};
  if (token !== null) headers.authorization = `Bearer ${token ?? server.token}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    headers["content-type"] = "application/json";
  }
  const res = await fetch(server.url + path, { method, headers, body: payload });
  return answerOf(res);
}

async function ok(server, method, path, opts = {}, status = 200) {
  const res = await req(server, method, path, opts);
  assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
  return res;
}

let seq = 0;
const uniq = (p) => `${p}-${process.pid}-${++seq}`;

/** An organization with one project and one environment; returns { org, project, env, key }. */
async function tenant(server, { plan, envSlug = "dev" } = {}) {
  const body = { slug: uniq("org"), title: "Org " + seq };
  if (plan !== undefined) body.plan = plan;
  const org = (await ok(server, "POST", "/admin/api/v1/orgs", { body }, 201)).json;
  const project = (await ok(server, "POST", `/admin/api/v1/orgs/${org.id}/projects`, { body: { slug: "proj" } }, 201)).json;
  const env = (await ok(server, "POST", `/admin/api/v1/projects/${project.id}/environments`, { body: { slug: envSlug } }, 201)).json;
  return { org, project, env, key: env.apiKey };
}

const ensure = (server, orgId, extra = {}) =>
  ok(server, "POST", `/admin/api/v1/orgs/${orgId}/stream-basin`, { body: { action: "ensure", ...extra } }).then((r) => r.json);
const deprovision = (server, orgId) =>
  ok(server, "POST", `/admin/api/v1/orgs/${orgId}/stream-basin`, { body: { action: "deprovision" } }).then((r) => r.json);
const setPlan = (server, orgId, plan) =>
  ok(server, "PUT", `/admin/api/v1/orgs/${orgId}/plan`, { body: { plan } }).then((r) => r.json);
const getOrg = (server, orgId) => ok(server, "GET", `/admin/api/v1/orgs/${orgId}`).then((r) => r.json);
const basinConfig = (server, basin) => ok(server, "GET", `/v1/basins/${basin}`).then((r) => r.json);
const basinRetention = async (server, basin) => (await basinConfig(server, basin)).default_stream_config?.retention_policy?.age;
const streamRetention = async (server, basin, stream) => {
  server = s2Of(server);
  const res = await fetch(`${server.url}/v1/streams/${encodeURIComponent(stream)}`, {
    headers: { authorization: `Bearer ${server.token}`, "s2-basin": basin },
  });
  const text = await res.text();
  assert.equal(res.status, 200, `GET stream ${stream}: ${text}`);
  return JSON.parse(text).retention_policy?.age;
};
const createStream = async (server, basin, stream) => {
  server = s2Of(server);
  const res = await fetch(`${server.url}/v1/streams`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "s2-basin": basin, "content-type": "application/json" },
    body: JSON.stringify({ stream }),
  });
  assert.equal(res.status, 201, `create stream ${stream}: ${await res.text()}`);
};
const basinNames = async (server) => (await ok(server, "GET", "/v1/basins?limit=1000")).json.basins.map((b) => b.name);

const createRun = (server, key, body, status = 201) =>
  ok(server, "POST", "/api/v1/runs", { token: key, body }, status).then((r) => r.json);
/** Creates (or gets) a session; returns the row (a SessionItem) without what only the create
 * answer carries: publicAccessToken, which it checks is a compact JWT (the browser's token;
 * realtime-sessions tests what it grants), runId (the current run) and isCached (false for 201). */
const createSession = (server, key, body, status = 201) =>
  ok(server, "POST", "/api/v1/sessions", { token: key, body }, status).then((r) => {
    const { publicAccessToken, runId, isCached, ...row } = r.json;
    assert.match(publicAccessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(runId, row.currentRunId);
    assert.equal(isCached, status !== 201);
    return row;
  });
const getSession = (server, key, idOrExt) =>
  ok(server, "GET", `/api/v1/sessions/${encodeURIComponent(idOrExt)}`, { token: key }).then((r) => r.json);

// ---------------------------------------------------------------------------------------------
// Admin API shapes

test("admin: organizations, projects, environments and keys have the documented shapes", async () => {
  const slug = uniq("shape");
  const org = (await ok(main, "POST", "/admin/api/v1/orgs", { body: { slug, title: "Shape Inc" } }, 201)).json;
  assert.match(org.id, /^[a-z0-9]{25}$/, "a 25-char lowercase id");
  assert.deepEqual(org, { id: org.id, slug, title: "Shape Inc", plan: "free", streamBasinName: null });
  assert.deepEqual(await getOrg(main, org.id), org);
  const list = (await ok(main, "GET", "/admin/api/v1/orgs")).json;
  assert.ok(list.organizations.some((o) => o.id === org.id && o.slug === slug));

  const project = (await ok(main, "POST", `/admin/api/v1/orgs/${org.id}/projects`, { body: { slug: "web" } }, 201)).json;
  assert.equal(project.slug, "web");
  assert.equal(typeof project.id, "string");
  const env = (await ok(main, "POST", `/admin/api/v1/projects/${project.id}/environments`, { body: { slug: "prod" } }, 201)).json;
  assert.equal(env.slug, "prod");
  assert.equal(typeof env.id, "string");
  assert.match(env.apiKey, /^\S{20,}$/);

  // The key works on /api; rotation replaces it (the old one stops working at once).
  await createRun(main, env.apiKey, { taskIdentifier: "t" });
  const rotated = (await ok(main, "POST", `/admin/api/v1/environments/${env.id}/rotate-key`)).json;
  assert.equal(typeof rotated.apiKey, "string");
  assert.notEqual(rotated.apiKey, env.apiKey);
  assert.equal((await req(main, "POST", "/api/v1/runs", { token: env.apiKey, body: { taskIdentifier: "t" } })).status, 401);
  await createRun(main, rotated.apiKey, { taskIdentifier: "t" });

  // A duplicate slug is a conflict.
  assert.equal((await req(main, "POST", "/admin/api/v1/orgs", { body: { slug, title: "Again" } })).status, 409);
});

test("the global basin is created at boot with create_stream_on_append/read", async () => {
  const g = await basinConfig(main, "e2e-shared-basin");
  assert.equal(g.create_stream_on_append, true);
  assert.equal(g.create_stream_on_read, true);
  assert.ok((await basinNames(off)).includes("weir-shared"));
});

// ---------------------------------------------------------------------------------------------
// Provisioning

test("ensure provisions the basin with the configured settings and stamps the organization", async () => {
  const { org } = await tenant(main);
  const basin = mainBasin(org.id);
  assert.equal((await basinNames(main)).includes(basin), false);

  const res = await ensure(main, org.id, { retention: "7d" });
  assert.deepEqual(res, { ok: true, kind: "provisioned", basin, retention: "7d" });
  const cfg = await basinConfig(main, basin);
  assert.equal(cfg.create_stream_on_append, true);
  assert.equal(cfg.create_stream_on_read, true);
  assert.equal(cfg.default_stream_config.storage_class, "standard", "WEIR_BASIN_STORAGE_CLASS");
  assert.deepEqual(cfg.default_stream_config.retention_policy, { age: 7 * DAY });
  assert.deepEqual(cfg.default_stream_config.delete_on_empty, { min_age_secs: 2 * 3600 }, "WEIR_BASIN_DELETE_ON_EMPTY_MIN_AGE");
  assert.equal((await getOrg(main, org.id)).streamBasinName, basin);

  // Ensure again without a retention: reconfigured to WEIR_BASIN_DEFAULT_RETENTION, same basin.
  assert.deepEqual(await ensure(main, org.id), { ok: true, kind: "reconfigured", basin, retention: "14d" });
  assert.equal(await basinRetention(main, basin), 14 * DAY);
  const after2 = await basinConfig(main, basin);
  assert.equal(after2.default_stream_config.storage_class, "standard", "reconfigure keeps the storage class");
  assert.deepEqual(after2.default_stream_config.delete_on_empty, { min_age_secs: 2 * 3600 });
  assert.equal((await getOrg(main, org.id)).streamBasinName, basin);
});

test("ensure accepts every documented duration form and answers the retention in days", async () => {
  const { org } = await tenant(main);
  await ensure(main, org.id, { retention: "1d" });
  const cases = [
    ["30 Days", 30 * DAY, "30d"],
    ["1y", 365 * DAY, "365d"],
    ["2 weeks", 14 * DAY, "14d"],
    ["48H", 2 * DAY, "2d"],
    ["2880 min", 2 * DAY, "2d"],
    ["86400s", DAY, "1d"],
  ];
  for (const [input, secs, shown] of cases) {
    const res = await ensure(main, org.id, { retention: input });
    assert.equal(res.kind, "reconfigured", input);
    assert.equal(res.retention, shown, input);
    assert.equal(await basinRetention(main, mainBasin(org.id)), secs, input);
  }
  const odd = await ensure(main, org.id, { retention: "90m" });
  assert.equal(odd.kind, "reconfigured");
  assert.equal(await basinRetention(main, mainBasin(org.id)), 90 * 60);
});

test("plan changes free → hobby → pro → free → hobby reconfigure and deprovision", async () => {
  const { org } = await tenant(main, { plan: "free" });
  const basin = mainBasin(org.id);
  assert.equal(org.streamBasinName, null);
  assert.equal(org.plan, "free");

  assert.deepEqual(await setPlan(main, org.id, "hobby"), { ok: true, kind: "provisioned", basin, retention: "30d", plan: "hobby" });
  assert.equal(await basinRetention(main, basin), 30 * DAY);
  assert.deepEqual(await getOrg(main, org.id), { ...org, plan: "hobby", streamBasinName: basin });

  assert.deepEqual(await setPlan(main, org.id, "pro"), { ok: true, kind: "reconfigured", basin, retention: "365d", plan: "pro" });
  assert.equal(await basinRetention(main, basin), 365 * DAY);
  assert.equal((await getOrg(main, org.id)).plan, "pro");

  const down = await setPlan(main, org.id, "free");
  assert.equal(down.ok, true);
  assert.equal(down.kind, "deprovisioned");
  assert.equal(down.plan, "free");
  assert.deepEqual(await getOrg(main, org.id), { ...org, plan: "free", streamBasinName: null });
  // The basin stays (its streams age out) with its last retention.
  assert.equal(await basinRetention(main, basin), 365 * DAY);

  // Free again: nothing to deprovision.
  assert.deepEqual(await setPlan(main, org.id, "free"), { ok: true, kind: "skipped", reason: "no-basin", plan: "free" });

  // Paying again converges on the existing basin ("already exists" is success) with the plan's retention.
  assert.deepEqual(await setPlan(main, org.id, "hobby"), { ok: true, kind: "provisioned", basin, retention: "30d", plan: "hobby" });
  assert.equal(await basinRetention(main, basin), 30 * DAY);
  assert.equal((await getOrg(main, org.id)).streamBasinName, basin);

  // A custom plan from WEIR_PLAN_RETENTION.
  assert.equal((await setPlan(main, org.id, "team")).retention, "7d");
  assert.equal(await basinRetention(main, basin), 7 * DAY);
});

test("an organization created on a paid plan is provisioned at once", async () => {
  const { org } = await tenant(main, { plan: "pro" });
  assert.equal(org.plan, "pro");
  assert.equal(org.streamBasinName, mainBasin(org.id));
  assert.equal(await basinRetention(main, mainBasin(org.id)), 365 * DAY);
});

test("apply_to_existing reconfigures the org's existing streams; without it they keep theirs", async () => {
  const { org } = await tenant(main);
  const basin = mainBasin(org.id);
  await ensure(main, org.id, { retention: "7d" });
  await createStream(main, basin, "env/dev/x/runs/a/out");
  await createStream(main, basin, "env/dev/x/runs/b/out");
  assert.equal(await streamRetention(main, basin, "env/dev/x/runs/a/out"), 7 * DAY);

  const r1 = await ensure(main, org.id, { retention: "20d" });
  assert.equal(r1.kind, "reconfigured");
  assert.equal(await basinRetention(main, basin), 20 * DAY);
  assert.equal(await streamRetention(main, basin, "env/dev/x/runs/a/out"), 7 * DAY, "existing streams keep theirs");
  assert.equal(await streamRetention(main, basin, "env/dev/x/runs/b/out"), 7 * DAY);
  await createStream(main, basin, "env/dev/x/runs/c/out");
  assert.equal(await streamRetention(main, basin, "env/dev/x/runs/c/out"), 20 * DAY, "new streams get the new default");

  const r2 = await ensure(main, org.id, { retention: "60d", apply_to_existing: true });
  assert.equal(r2.kind, "reconfigured");
  assert.equal(await basinRetention(main, basin), 60 * DAY);
  for (const s of ["a", "b", "c"]) assert.equal(await streamRetention(main, basin, `env/dev/x/runs/${s}/out`), 60 * DAY, s);

  // apply_to_existing: false is the same as leaving it out.
  await ensure(main, org.id, { retention: "61d", apply_to_existing: false });
  assert.equal(await streamRetention(main, basin, "env/dev/x/runs/a/out"), 60 * DAY);
});

test("ensure/deprovision skips: unknown org, no basin; another org's basin is untouched", async () => {
  assert.deepEqual(await ensure(main, "c".repeat(25)), { ok: true, kind: "skipped", reason: "org-not-found" });
  assert.deepEqual(await deprovision(main, "c".repeat(25)), { ok: true, kind: "skipped", reason: "org-not-found" });
  const a = await tenant(main);
  const b = await tenant(main);
  assert.deepEqual(await deprovision(main, a.org.id), { ok: true, kind: "skipped", reason: "no-basin" });
  await ensure(main, a.org.id, { retention: "3d" });
  await ensure(main, b.org.id, { retention: "4d" });
  assert.deepEqual(await deprovision(main, a.org.id), { ok: true, kind: "deprovisioned" });
  assert.equal((await getOrg(main, a.org.id)).streamBasinName, null);
  assert.equal((await getOrg(main, b.org.id)).streamBasinName, mainBasin(b.org.id));
  assert.equal(await basinRetention(main, mainBasin(b.org.id)), 4 * DAY);
  assert.ok((await basinNames(main)).includes(mainBasin(a.org.id)), "a deprovisioned basin stays");
  assert.deepEqual(await deprovision(main, a.org.id), { ok: true, kind: "skipped", reason: "no-basin" });
});

test("concurrent ensures of a fresh org converge on one basin (one provisioned, the rest reconfigured)", async () => {
  const { org } = await tenant(main);
  const results = await Promise.all(Array.from({ length: 6 }, () => ensure(main, org.id, { retention: "3d" })));
  assert.equal(results.filter((r) => r.kind === "provisioned").length >= 1, true);
  for (const r of results) {
    assert.ok(["provisioned", "reconfigured"].includes(r.kind), JSON.stringify(r));
    assert.equal(r.basin, mainBasin(org.id));
  }
  assert.equal((await getOrg(main, org.id)).streamBasinName, mainBasin(org.id));
});

// A crash between basin create and stamp leaves the basin with an unstamped org; the retry finds
// "already exists" and must converge on the requested configuration (realtime.md §3 step 3).
// Simulated with a pre-existing basin carrying a different configuration.
test("ensure onto an existing basin converges on the full requested configuration", async () => {
  const { org } = await tenant(main);
  const basin = mainBasin(org.id);
  await ok(main, "POST", "/v1/basins", { body: { basin } }, 201);
  assert.deepEqual(await ensure(main, org.id, { retention: "3d" }), { ok: true, kind: "provisioned", basin, retention: "3d" });
  assert.equal((await getOrg(main, org.id)).streamBasinName, basin);
  const cfg = await basinConfig(main, basin);
  assert.deepEqual(cfg.default_stream_config.retention_policy, { age: 3 * DAY });
  assert.equal(cfg.create_stream_on_append, true);
  assert.equal(cfg.create_stream_on_read, true);
  assert.equal(cfg.default_stream_config.storage_class, "standard");
  assert.deepEqual(cfg.default_stream_config.delete_on_empty, { min_age_secs: 2 * 3600 });
});

// ---------------------------------------------------------------------------------------------
// Stamping

test("runs and sessions are stamped with the org's basin at creation and keep it for life", async () => {
  const { org, key } = await tenant(main);
  const basin = mainBasin(org.id);

  // Before provisioning: null (shared basin).
  const run0 = await createRun(main, key, { taskIdentifier: "pre" });
  assert.equal(run0.streamBasinName, null);
  const ses0 = await createSession(main, key, { externalId: "chat-pre" });
  assert.equal(ses0.streamBasinName, null);

  await ensure(main, org.id, { retention: "5d" });

  const run1 = await createRun(main, key, { taskIdentifier: "post" });
  assert.equal(run1.streamBasinName, basin);
  const ses1 = await createSession(main, key, { externalId: "chat-post" });
  assert.equal(ses1.streamBasinName, basin);
  const ses1b = await createSession(main, key, {}); // no externalId
  assert.equal(ses1b.streamBasinName, basin);
  // A child of a pre-provisioning run gets the org's current basin (stamps are per row).
  const child0 = await createRun(main, key, { taskIdentifier: "child", parentRunId: run0.id });
  assert.equal(child0.streamBasinName, basin);
  assert.equal(child0.rootRunId, run0.id);

  // Rows created before keep null: GET, create-or-get (200, never re-stamped), completion.
  assert.equal((await getSession(main, key, ses0.id)).streamBasinName, null);
  assert.equal((await getSession(main, key, "chat-pre")).streamBasinName, null);
  const again0 = await createSession(main, key, { externalId: "chat-pre" }, 200);
  assert.equal(again0.id, ses0.id);
  assert.equal(again0.streamBasinName, null, "create-or-get never re-stamps");
  const done0 = (await ok(main, "POST", `/api/v1/runs/${run0.id}/complete`, { token: key })).json;
  assert.equal(done0.streamBasinName, null);

  // Deprovision: new rows null; old rows keep their basin.
  await deprovision(main, org.id);
  const run2 = await createRun(main, key, { taskIdentifier: "after" });
  assert.equal(run2.streamBasinName, null);
  const ses2 = await createSession(main, key, { externalId: "chat-after" });
  assert.equal(ses2.streamBasinName, null);
  assert.equal((await getSession(main, key, "chat-post")).streamBasinName, basin);
  assert.equal((await getSession(main, key, ses1b.id)).streamBasinName, basin);
  const again1 = await createSession(main, key, { externalId: "chat-post" }, 200);
  assert.equal(again1.id, ses1.id);
  assert.equal(again1.streamBasinName, basin, "create-or-get never re-stamps");
  const done1 = (await ok(main, "POST", `/api/v1/runs/${run1.id}/complete`, { token: key })).json;
  assert.equal(done1.streamBasinName, basin);
  const child1 = await createRun(main, key, { taskIdentifier: "child", parentRunId: run1.id });
  assert.equal(child1.streamBasinName, null, "a child after deprovision gets the org's current (null)");

  // Re-provisioning does not re-stamp rows created while deprovisioned.
  await ensure(main, org.id);
  assert.equal((await getSession(main, key, "chat-after")).streamBasinName, null);
  assert.equal((await createSession(main, key, { externalId: "chat-after" }, 200)).streamBasinName, null);
  assert.equal((await createRun(main, key, { taskIdentifier: "re" })).streamBasinName, basin);
});

test("flag off: ensure is a no-op (feature-disabled), no basin is created, rows stay shared", async () => {
  const before = await basinNames(off);
  const { org, key } = await tenant(off);
  assert.deepEqual(await ensure(off, org.id, { retention: "30d" }), { ok: true, kind: "skipped", reason: "feature-disabled" });
  assert.deepEqual(await ensure(off, org.id, { retention: "30d", apply_to_existing: true }), { ok: true, kind: "skipped", reason: "feature-disabled" });
  assert.deepEqual(await ensure(off, "c".repeat(25)), { ok: true, kind: "skipped", reason: "feature-disabled" });
  // Deprovision is not gated by the flag.
  assert.deepEqual(await deprovision(off, org.id), { ok: true, kind: "skipped", reason: "no-basin" });
  assert.deepEqual(await deprovision(off, "c".repeat(25)), { ok: true, kind: "skipped", reason: "org-not-found" });
  // A paid plan sets the plan but provisions nothing.
  const p = await setPlan(off, org.id, "pro");
  assert.equal(p.kind, "skipped");
  assert.equal(p.reason, "feature-disabled");
  assert.equal(p.plan, "pro");
  const paid = (await ok(off, "POST", "/admin/api/v1/orgs", { body: { slug: uniq("paid"), title: "Paid", plan: "pro" } }, 201)).json;
  assert.equal(paid.streamBasinName, null);
  assert.deepEqual(await getOrg(off, org.id), { ...org, plan: "pro", streamBasinName: null });
  assert.deepEqual(await basinNames(off), before, "no basin created");
  assert.equal((await createRun(off, key, { taskIdentifier: "t" })).streamBasinName, null);
  assert.equal((await createSession(off, key, { externalId: "x" })).streamBasinName, null);
});

// ---------------------------------------------------------------------------------------------
// Runs and sessions API

test("sessions: create 201 / same externalId 200 / GET by id and externalId / close write-once / 409 after close", async () => {
  const { key } = await tenant(main);
  const other = await tenant(main);
  const body = { externalId: "conv-1", type: "chat.agent", taskIdentifier: "agent", metadata: { a: 1, b: ["x"] }, tags: ["t1", "t2"] };
  const s = await createSession(main, key, body);
  assert.match(s.id, /^session_/);
  assert.equal(s.externalId, "conv-1");
  assert.equal(s.type, "chat.agent");
  assert.equal(s.taskIdentifier, "agent");
  assert.deepEqual(s.metadata, { a: 1, b: ["x"] });
  assert.deepEqual(s.tags, ["t1", "t2"]);
  assert.equal(s.closed, false);
  assert.equal(s.closedAt, null);

  const again = await createSession(main, key, { externalId: "conv-1", type: "other" }, 200);
  assert.equal(again.id, s.id);
  assert.equal(again.type, "chat.agent", "the existing row is returned unchanged");
  assert.deepEqual(await getSession(main, key, s.id), s);
  assert.deepEqual(await getSession(main, key, "conv-1"), s);

  // externalId is unique per environment: another environment gets its own row, and cannot see ours.
  const theirs = await createSession(main, other.key, { externalId: "conv-1" });
  assert.notEqual(theirs.id, s.id);
  assert.equal((await req(main, "GET", `/api/v1/sessions/${s.id}`, { token: other.key })).status, 404);
  assert.equal((await req(main, "POST", `/api/v1/sessions/${s.id}/close`, { token: other.key, body: {} })).status, 404);

  const closed = (await ok(main, "POST", "/api/v1/sessions/conv-1/close", { token: key, body: { reason: "done" } })).json;
  assert.equal(closed.id, s.id);
  assert.equal(closed.closed, true);
  assert.equal(closed.closedReason, "done");
  assert.equal(typeof closed.closedAt, "string");
  const closedAgain = (await ok(main, "POST", `/api/v1/sessions/${s.id}/close`, { token: key, body: { reason: "other" } })).json;
  assert.equal(closedAgain.closedReason, "done", "write-once");
  assert.equal(closedAgain.closedAt, closed.closedAt, "write-once");
  assert.deepEqual(await getSession(main, key, "conv-1"), closed);
  const conflict = await req(main, "POST", "/api/v1/sessions", { token: key, body: { externalId: "conv-1" } });
  assert.equal(conflict.status, 409, conflict.text);
  assert.equal(typeof conflict.json?.error, "string");

  // Concurrent create-or-get of one externalId: exactly one row (one 201, the rest 200).
  const racers = await Promise.all(Array.from({ length: 8 }, () => req(main, "POST", "/api/v1/sessions", { token: key, body: { externalId: "race-1" } })));
  assert.deepEqual(racers.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
  assert.equal(new Set(racers.map((r) => r.json.id)).size, 1);
  // An externalId with URL-special characters is addressable percent-encoded ('/' is refused:
  // it would name another session's side channel).
  const odd = await createSession(main, key, { externalId: "user 42 conv?x=ü&y#z%" });
  assert.deepEqual(await getSession(main, key, "user 42 conv?x=ü&y#z%"), odd);

  // Close without a body; a session without externalId.
  const anon = await createSession(main, key, {});
  assert.equal(anon.externalId, null);
  assert.deepEqual(await getSession(main, key, anon.id), anon);
  const anonClosed = (await ok(main, "POST", `/api/v1/sessions/${anon.id}/close`, { token: key })).json;
  assert.equal(anonClosed.closed, true);

  // Bad input.
  for (const [name, b] of [
    ["externalId starting with session_", { externalId: "session_abc" }],
    ["externalId exactly session_", { externalId: "session_" }],
    ["empty externalId", { externalId: "" }],
    ["externalId of 257 chars", { externalId: "e".repeat(257) }],
    ["externalId is a number", { externalId: 5 }],
    ["tags is a string", { externalId: "t-bad", tags: "x" }],
    ["type is an object", { type: {} }],
  ]) {
    const r = await req(main, "POST", "/api/v1/sessions", { token: key, body: b });
    assert.equal(r.status, 400, `${name}: ${r.text}`);
  }
  assert.equal((await createSession(main, key, { externalId: "e".repeat(256) })).externalId.length, 256);
  for (const b of ["", "{", "[]"]) assert.equal((await req(main, "POST", "/api/v1/sessions", { token: key, body: b })).status, 400, JSON.stringify(b));
  assert.equal((await req(main, "GET", "/api/v1/sessions/nope-nope", { token: key })).status, 404);
  assert.equal((await req(main, "GET", "/api/v1/sessions/session_doesnotexist", { token: key })).status, 404);
  assert.equal((await req(main, "POST", "/api/v1/sessions/nope-nope/close", { token: key })).status, 404);
});

test("runs: root derived from parentRunId, complete, bad input", async () => {
  const { key } = await tenant(main);
  const other = await tenant(main);
  const root = await createRun(main, key, { taskIdentifier: "root-task" });
  assert.match(root.id, /^run_/);
  assert.equal(root.taskIdentifier, "root-task");
  assert.equal(root.parentRunId, null);
  assert.equal(root.rootRunId, root.id);
  assert.equal(root.realtimeStreamsVersion, "v2");
  assert.equal(root.completedAt, null);
  const child = await createRun(main, key, { taskIdentifier: "c", parentRunId: root.id });
  assert.equal(child.parentRunId, root.id);
  assert.equal(child.rootRunId, root.id);
  const grandchild = await createRun(main, key, { taskIdentifier: "g", parentRunId: child.id });
  assert.equal(grandchild.parentRunId, child.id);
  assert.equal(grandchild.rootRunId, root.id, "root derived through the chain");
  assert.equal((await createRun(main, key, { taskIdentifier: "n", parentRunId: null })).parentRunId, null);

  const done = (await ok(main, "POST", `/api/v1/runs/${child.id}/complete`, { token: key })).json;
  assert.equal(done.id, child.id);
  assert.equal(typeof done.completedAt, "string");
  assert.ok(!Number.isNaN(Date.parse(done.completedAt)));
  assert.equal(done.rootRunId, root.id);

  assert.equal((await req(main, "POST", "/api/v1/runs/run_doesnotexist/complete", { token: key })).status, 404);
  assert.equal((await req(main, "POST", `/api/v1/runs/${root.id}/complete`, { token: other.key })).status, 404, "another env's run");
  for (const [name, b] of [
    ["no taskIdentifier", {}],
    ["empty taskIdentifier", { taskIdentifier: "" }],
    ["taskIdentifier is a number", { taskIdentifier: 1 }],
    ["unknown parent", { taskIdentifier: "t", parentRunId: "run_nope" }],
    ["parent is a number", { taskIdentifier: "t", parentRunId: 7 }],
    ["empty body", ""],
    ["malformed JSON", "{"],
  ]) {
    const r = await req(main, "POST", "/api/v1/runs", { token: key, body: b });
    assert.equal(r.status, 400, `${name}: ${r.text}`);
  }
  const foreign = await req(main, "POST", "/api/v1/runs", { token: other.key, body: { taskIdentifier: "t", parentRunId: root.id } });
  assert.equal(foreign.status, 400, `a parent from another environment: ${foreign.text}`);
});

// ---------------------------------------------------------------------------------------------
// Bad input and auth

test("stream-basin: bad input table (400 with the documented bodies)", async () => {
  const { org } = await tenant(main);
  const path = `/admin/api/v1/orgs/${org.id}/stream-basin`;
  const INVALID_JSON = { ok: false, error: "Invalid JSON body" };
  for (const [name, body] of [
    ["empty body", ""],
    ["malformed JSON", '{"action":'],
    ["not JSON", "ensure"],
  ]) {
    const r = await req(main, "POST", path, { body });
    assert.equal(r.status, 400, name);
    assert.deepEqual(r.json, INVALID_JSON, name);
  }
  const r0 = await req(main, "POST", path);
  assert.equal(r0.status, 400, "no body at all");
  assert.deepEqual(r0.json, INVALID_JSON);

  const schema = [
    ["missing action", {}, "action"],
    ["unknown action", { action: "destroy" }, "action"],
    ["action in capitals", { action: "ENSURE" }, "action"],
    ["action is a number", { action: 1 }, "action"],
    ["action is null", { action: null }, "action"],
    ...["0d", "1.5d", "-1d", "30", "d", "30 days ago", "", " ", "1d2h", "30x", "0", "99999999999999999999d"].map((v) => [
      `retention ${JSON.stringify(v)}`, { action: "ensure", retention: v }, "retention",
    ]),
    ["retention is a number", { action: "ensure", retention: 30 }, "retention"],
    ["retention is an object", { action: "ensure", retention: { days: 30 } }, "retention"],
    ["apply_to_existing is a string", { action: "ensure", apply_to_existing: "yes" }, "apply_to_existing"],
    ["apply_to_existing is 1", { action: "ensure", apply_to_existing: 1 }, "apply_to_existing"],
  ];
  for (const [name, body, field] of schema) {
    const r = await req(main, "POST", path, { body });
    assert.equal(r.status, 400, `${name}: ${r.text}`);
    assert.equal(r.json?.ok, false, name);
    assert.equal(typeof r.json?.error, "string", name);
    assert.ok(r.json?.fieldErrors && Array.isArray(r.json.fieldErrors[field]), `${name}: fieldErrors.${field} in ${r.text}`);
    if (field === "retention") assert.match(r.json.fieldErrors.retention[0], /must be a duration like 7d, 30d, 365d, 1h, 1y/);
  }
  // Nothing of the above provisioned anything.
  assert.equal((await getOrg(main, org.id)).streamBasinName, null);
  assert.equal((await basinNames(main)).includes(mainBasin(org.id)), false);
});

test("admin: other bad input (400/404/409)", async () => {
  const { org, project, env } = await tenant(main);
  const cases = [
    ["org: empty body", "POST", "/admin/api/v1/orgs", "", 400],
    ["org: malformed", "POST", "/admin/api/v1/orgs", "{", 400],
    ["org: no slug", "POST", "/admin/api/v1/orgs", { title: "T" }, 400],
    ["org: bad slug", "POST", "/admin/api/v1/orgs", { slug: "Bad Slug", title: "T" }, 400],
    ["org: slug is a number", "POST", "/admin/api/v1/orgs", { slug: 5, title: "T" }, 400],
    ["org: no title", "POST", "/admin/api/v1/orgs", { slug: uniq("nt") }, 400],
    ["org: title is a number", "POST", "/admin/api/v1/orgs", { slug: uniq("nt"), title: 5 }, 400],
    ["org: unknown plan", "POST", "/admin/api/v1/orgs", { slug: uniq("np"), title: "T", plan: "platinum" }, 400],
    ["org: plan is a number", "POST", "/admin/api/v1/orgs", { slug: uniq("np"), title: "T", plan: 3 }, 400],
    ["get: unknown org", "GET", `/admin/api/v1/orgs/${"z".repeat(25)}`, undefined, 404],
    ["plan: unknown org", "PUT", `/admin/api/v1/orgs/${"z".repeat(25)}/plan`, { plan: "pro" }, 404],
    ["plan: unknown plan", "PUT", `/admin/api/v1/orgs/${org.id}/plan`, { plan: "platinum" }, 400],
    ["plan: plan missing", "PUT", `/admin/api/v1/orgs/${org.id}/plan`, {}, 400],
    ["plan: plan is a number", "PUT", `/admin/api/v1/orgs/${org.id}/plan`, { plan: 1 }, 400],
    ["plan: empty body", "PUT", `/admin/api/v1/orgs/${org.id}/plan`, "", 400],
    ["plan: malformed", "PUT", `/admin/api/v1/orgs/${org.id}/plan`, "{", 400],
    ["project: unknown org", "POST", `/admin/api/v1/orgs/${"z".repeat(25)}/projects`, { slug: "p" }, 404],
    ["project: bad slug", "POST", `/admin/api/v1/orgs/${org.id}/projects`, { slug: "" }, 400],
    ["project: empty body", "POST", `/admin/api/v1/orgs/${org.id}/projects`, "", 400],
    ["env: unknown project", "POST", `/admin/api/v1/projects/${"z".repeat(25)}/environments`, { slug: "dev" }, 404],
    ["env: bad slug", "POST", `/admin/api/v1/projects/${project.id}/environments`, { slug: "a/b" }, 400],
    ["env: slug too long", "POST", `/admin/api/v1/projects/${project.id}/environments`, { slug: "a".repeat(65) }, 400],
    ["rotate: unknown env", "POST", `/admin/api/v1/environments/${"z".repeat(25)}/rotate-key`, undefined, 404],
    // Ids longer than any id (41+ characters) are not found without a control-plane read.
    ["get: org id too long", "GET", `/admin/api/v1/orgs/${"z".repeat(41)}`, undefined, 404],
    ["plan: org id too long", "PUT", `/admin/api/v1/orgs/${"z".repeat(41)}/plan`, { plan: "pro" }, 404],
    ["project: org id too long", "POST", `/admin/api/v1/orgs/${"z".repeat(41)}/projects`, { slug: "p" }, 404],
    ["projects: org id too long", "GET", `/admin/api/v1/orgs/${"z".repeat(41)}/projects`, undefined, 404],
    ["usage: org id too long", "GET", `/admin/api/v1/orgs/${"z".repeat(41)}/usage`, undefined, 404],
    ["env: project id too long", "POST", `/admin/api/v1/projects/${"z".repeat(41)}/environments`, { slug: "dev" }, 404],
  ];
  for (const [name, method, path, body, status] of cases) {
    const r = await req(main, method, path, { body });
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(typeof r.json?.error, "string", `${name}: an error body: ${r.text}`);
  }
  // None of it changed the org.
  assert.deepEqual(await getOrg(main, org.id), org);
  assert.equal(typeof env.apiKey, "string");
});

test("auth: admin routes need the root token (401/403); /api routes need an environment key (401)", async () => {
  const { org, project, env, key } = await tenant(main);
  // A scoped (non-root) S2 access token.
  // Over the remote backend the node has no /v1 and knows no S2 token: the upstream's is a
  // stranger to it (401).
  const issued = await req(main, "POST", "/v1/access-tokens", {
    node: !REMOTE,
    body: { id: uniq("scoped"), scope: { basins: { prefix: "" }, streams: { prefix: "" }, ops: ["list-basins"] } },
  });
  assert.equal(issued.status, 201, issued.text);
  const scoped = issued.json.access_token;

  const adminRoutes = [
    ["POST", "/admin/api/v1/orgs", { slug: uniq("x"), title: "X" }],
    ["GET", "/admin/api/v1/orgs"],
    ["GET", `/admin/api/v1/orgs/${org.id}`],
    ["POST", `/admin/api/v1/orgs/${org.id}/projects`, { slug: "p2" }],
    ["POST", `/admin/api/v1/projects/${project.id}/environments`, { slug: "e2" }],
    ["POST", `/admin/api/v1/environments/${env.id}/rotate-key`],
    ["POST", `/admin/api/v1/orgs/${org.id}/stream-basin`, { action: "ensure" }],
    ["POST", `/admin/api/v1/orgs/${org.id}/stream-basin`, { action: "deprovision" }],
    ["PUT", `/admin/api/v1/orgs/${org.id}/plan`, { plan: "pro" }],
  ];
  for (const [method, path, body] of adminRoutes) {
    for (const [who, token, status] of [
      ["no token", null, [401]],
      ["wrong token", "not-a-token", [401]],
      ["env API key", key, [401, 403]],
      ["scoped token", scoped, REMOTE ? [401] : [403]],
    ]) {
      const r = await req(main, method, path, { body, token });
      assert.ok(status.includes(r.status), `${who} on ${method} ${path}: ${r.status} ${r.text}`);
      assert.equal(typeof r.json?.error, "string", `${who} on ${method} ${path}: ${r.text}`);
    }
  }
  // Nothing happened: same org, same key, no basin.
  assert.deepEqual(await getOrg(main, org.id), org);
  await createRun(main, key, { taskIdentifier: "still-works" });
  assert.equal((await basinNames(main)).includes(mainBasin(org.id)), false);

  const apiRoutes = [
    ["POST", "/api/v1/runs", { taskIdentifier: "t" }],
    ["POST", "/api/v1/runs/run_x/complete"],
    ["POST", "/api/v1/sessions", { externalId: "auth-probe" }],
    ["GET", "/api/v1/sessions/auth-probe"],
    ["POST", "/api/v1/sessions/auth-probe/close", {}],
  ];
  for (const [method, path, body] of apiRoutes) {
    for (const [who, token] of [
      ["no key", null],
      ["wrong key", "sk_" + "x".repeat(40)],
      ["root token", main.token],
      ["scoped token", scoped],
    ]) {
      const r = await req(main, method, path, { body, token });
      assert.equal(r.status, 401, `${who} on ${method} ${path}: ${r.text}`);
    }
  }
  assert.equal((await req(main, "GET", "/api/v1/sessions/auth-probe", { token: key })).status, 404, "no session was created");
});

// ---------------------------------------------------------------------------------------------
// Boot-time configuration

/** Runs `weir serve` with `env`; resolves to { code, stdout, stderr } (kills it after 15 s). */
function serveOnce(env) {
  const dir = mkdtempSync(join(tmpdir(), "weir-e2e-cfg-"));
  return new Promise((resolve) => {
    const proc = spawn(WEIR_BIN, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dir], {
      env: { ...process.env, WEIR_ROOT_TOKEN: "cfg-root-token-0123456789", ...env },
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => (stdout += d));
    proc.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 15000);
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test("invalid realtime configuration exits 2 naming the variable", async () => {
  // (An empty variable means "unset" — the default applies — so empty values are not bad input.)
  const cases = [
    ["WEIR_PLAN_RETENTION", "pro=0d"],
    ["WEIR_PLAN_RETENTION", "free=shared,pro=forever"],
    ["WEIR_PLAN_RETENTION", "free=shared,pro=1.5d"],
    ["WEIR_PLAN_RETENTION", "free"],
    ["WEIR_PLAN_RETENTION", "pro=30d,pro=60d"],
    ["WEIR_BASIN_NAME_PREFIX", "Bad"],
    ["WEIR_BASIN_NAME_PREFIX", "a_b"],
    ["WEIR_BASIN_NAME_PREFIX", "a".repeat(15)], // 15+1+3+5+25 = 49 > 48
    ["WEIR_BASIN_NAME_PREFIX", "-weir"], // basin names start with a letter or digit
    ["WEIR_BASIN_NAME_ENV", "DEV"],
    ["WEIR_GLOBAL_BASIN", "x"],
    ["WEIR_GLOBAL_BASIN", "Weir-Shared"],
    ["WEIR_BASIN_STORAGE_CLASS", "gold"],
    ["WEIR_BASIN_DEFAULT_RETENTION", "1.5d"],
    ["WEIR_BASIN_DEFAULT_RETENTION", "0d"],
    ["WEIR_BASIN_DELETE_ON_EMPTY_MIN_AGE", "-1h"],
    ["WEIR_PER_ORG_BASINS", "maybe"],
    ["WEIR_CONTROL_PLANE", "mysql://weir@127.0.0.1/weir"], // only PostgreSQL URLs
    ["WEIR_CONTROL_PLANE", "sqlite:///var/lib/weir/control.sqlite3"], // SQLite is the default, not a URL
    ["WEIR_CONTROL_PLANE", "127.0.0.1:5432"],
    ["WEIR_CONTROL_PLANE", "postgres://weir@127.0.0.1/%zz"], // libpq refuses to parse it
  ];
  const results = await Promise.all(cases.map(([name, value]) => serveOnce({ [name]: value })));
  const failures = [];
  cases.forEach(([name, value], i) => {
    const r = results[i];
    const out = r.stdout + r.stderr;
    if (r.code !== 2 || !out.includes(name)) failures.push(`${name}=${JSON.stringify(value)}: code=${r.code} signal=${r.signal} output=${out.slice(0, 300)}`);
  });
  assert.deepEqual(failures, []);

  // A well-formed URL of a server that is not there: exit 1 naming the variable and the server.
  const down = await serveOnce({ WEIR_CONTROL_PLANE: "postgresql://weir@127.0.0.1:1/weir" });
  assert.equal(down.code, 1, down.stderr);
  assert.match(down.stderr, /WEIR_CONTROL_PLANE.*127\.0\.0\.1:1/);

  // The longest valid prefix boots (14+1+3+5+25 = 48).
  const w = await startWeir({ env: { WEIR_BASIN_NAME_PREFIX: "a".repeat(14), WEIR_PER_ORG_BASINS: "true" } });
  try {
    const { org } = await tenant(w);
    const res = await ensure(w, org.id);
    assert.equal(res.basin, `${"a".repeat(14)}-dev-org-${org.id}`);
    assert.equal(res.basin.length, 48);
  } finally {
    await w.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Restart

test("restart keeps organizations, environments and keys, runs, sessions and stamps (default config)", { skip: REMOTE && "restarts one node over a new upstream" }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "weir-e2e-rt-restart-"));
  const env = { WEIR_PER_ORG_BASINS: "true", WEIR_ROOT_TOKEN: `restart-root-${process.pid}-0123456789` };
  let w = await startWeir({ env, dataDir });
  try {
    // Defaults: weir-shared, weir-dev-org-{id}, express, 1h, 30d, hobby=30d.
    assert.ok((await basinNames(w)).includes("weir-shared"));
    const a = await tenant(w, { plan: "free" });
    const b = await tenant(w, { plan: "hobby" });
    const basinB = `weir-dev-org-${b.org.id}`;
    assert.equal(b.org.streamBasinName, basinB);
    const cfg = await basinConfig(w, basinB);
    assert.equal(cfg.default_stream_config.storage_class, "express");
    assert.deepEqual(cfg.default_stream_config.retention_policy, { age: 30 * DAY });
    assert.deepEqual(cfg.default_stream_config.delete_on_empty, { min_age_secs: 3600 });
    assert.equal(cfg.create_stream_on_append, true);
    assert.equal(cfg.create_stream_on_read, true);
    const ensA = await ensure(w, a.org.id); // WEIR_BASIN_DEFAULT_RETENTION = 30d
    assert.deepEqual(ensA, { ok: true, kind: "provisioned", basin: `weir-dev-org-${a.org.id}`, retention: "30d" });
    await deprovision(w, a.org.id);

    const runA = await createRun(w, a.key, { taskIdentifier: "a" });
    const sesA = await createSession(w, a.key, { externalId: "conv-a", metadata: { k: "v" }, tags: ["x"] });
    const runB = await createRun(w, b.key, { taskIdentifier: "b" });
    const childB = await createRun(w, b.key, { taskIdentifier: "b2", parentRunId: runB.id });
    const sesB = await createSession(w, b.key, { externalId: "conv-b" });
    const closedB = (await ok(w, "POST", "/api/v1/sessions/conv-b/close", { token: b.key, body: { reason: "bye" } })).json;
    const doneB = (await ok(w, "POST", `/api/v1/runs/${runB.id}/complete`, { token: b.key })).json;
    assert.equal(runA.streamBasinName, null);
    assert.equal(sesB.streamBasinName, basinB);
    const rotated = (await ok(w, "POST", `/admin/api/v1/environments/${b.env.id}/rotate-key`)).json.apiKey;
    const orgsBefore = (await ok(w, "GET", "/admin/api/v1/orgs")).json;

    await w.stop();
    w = await startWeir({ env, dataDir });

    assert.deepEqual((await ok(w, "GET", "/admin/api/v1/orgs")).json, orgsBefore);
    assert.equal((await getOrg(w, b.org.id)).streamBasinName, basinB);
    assert.equal((await getOrg(w, a.org.id)).streamBasinName, null);
    assert.equal((await getOrg(w, b.org.id)).plan, "hobby");
    // Keys: a's key works; b's old key was rotated away, the new one works.
    assert.equal((await req(w, "GET", "/api/v1/sessions/conv-b", { token: b.key })).status, 401);
    assert.deepEqual(await getSession(w, rotated, "conv-b"), closedB);
    assert.deepEqual(await getSession(w, a.key, "conv-a"), sesA);
    assert.deepEqual(await getSession(w, a.key, sesA.id), sesA);
    assert.equal((await req(w, "POST", "/api/v1/sessions", { token: rotated, body: { externalId: "conv-b" } })).status, 409, "still closed");
    assert.deepEqual(await createSession(w, a.key, { externalId: "conv-a" }, 200), sesA);
    // Runs survive: completion of an existing run, root derivation from a pre-restart parent.
    const doneA = (await ok(w, "POST", `/api/v1/runs/${runA.id}/complete`, { token: a.key })).json;
    assert.equal(doneA.streamBasinName, null);
    const grand = await createRun(w, rotated, { taskIdentifier: "b3", parentRunId: childB.id });
    assert.equal(grand.rootRunId, runB.id);
    assert.equal(grand.streamBasinName, basinB);
    const doneB2 = (await ok(w, "POST", `/api/v1/runs/${runB.id}/complete`, { token: rotated })).json;
    assert.equal(doneB2.streamBasinName, basinB);
    assert.equal(typeof doneB.completedAt, "string");
    // Provisioning state survives: b reconfigures (not provisions); the basin config persisted.
    assert.deepEqual(await setPlan(w, b.org.id, "pro"), { ok: true, kind: "reconfigured", basin: basinB, retention: "365d", plan: "pro" });
    assert.equal(await basinRetention(w, basinB), 365 * DAY);
    assert.deepEqual(await deprovision(w, a.org.id), { ok: true, kind: "skipped", reason: "no-basin" });
  } finally {
    await w.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
