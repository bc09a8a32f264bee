// realtime-listings.test.mjs — issue 20: the listings the web console needs, as ordinary
// authenticated API routes: GET /admin/api/v1/orgs/:orgId/projects (projects with their
// environments, never a key), GET /admin/api/v1/plans, and GET /api/v1/runs (an environment's
// runs, newest first, cursor pages). Each gets its auth rows (no token, wrong token, the other
// kind of credential) and bad-input rows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWeir } from "./harness.mjs";
import { answerOf } from "./helpers.mjs";

let weir;
before(async () => {
  weir = await startWeir({ env: { WEIR_PLAN_RETENTION: "free=shared,hobby=30d,pro=365d,odd=36h" } });
});
after(async () => {
  await weir?.stop();
});

/** token: undefined = root, null = none, string = Bearer. */
async function req(method, path, { body, token } = {}) {
  const headers = {};
  if (token !== null) headers.authorization = `Bearer ${token ?? weir.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(weir.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return answerOf(res);
}

async function tenant(slug) {
  const org = (await req("POST", "/admin/api/v1/orgs", { body: { slug, title: slug } })).json;
  const proj = (await req("POST", `/admin/api/v1/orgs/${org.id}/projects`, { body: { slug: "app" } })).json;
  const env = (await req("POST", `/admin/api/v1/projects/${proj.id}/environments`, { body: { slug: "dev" } })).json;
  return { org, proj, env, key: env.apiKey };
}

test("GET /admin/api/v1/orgs/:orgId/projects: projects with environments, oldest first, no keys", async () => {
  const a = await tenant("list-a");
  const b = await tenant("list-b");
  const p2 = (await req("POST", `/admin/api/v1/orgs/${a.org.id}/projects`, { body: { slug: "second" } })).json;
  const e2 = (await req("POST", `/admin/api/v1/projects/${a.proj.id}/environments`, { body: { slug: "prod" } })).json;
  const r = await req("GET", `/admin/api/v1/orgs/${a.org.id}/projects`);
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.json.projects.map((p) => [p.id, p.slug, p.organizationId, p.environments.map((e) => e.slug)]),
    [
      [a.proj.id, "app", a.org.id, ["dev", "prod"]],
      [p2.id, "second", a.org.id, []],
    ],
  );
  const env = r.json.projects[0].environments[1];
  assert.deepEqual(Object.keys(env).sort(), ["createdAt", "id", "organizationId", "projectId", "slug"]);
  assert.equal(env.id, e2.id);
  assert.match(env.createdAt, /^\d{4}-\d\d-\d\dT/);
  assert.ok(!r.text.includes("sk_"), "no key is ever listed");
  // The other organization sees only its own.
  const rb = await req("GET", `/admin/api/v1/orgs/${b.org.id}/projects`);
  assert.deepEqual(rb.json.projects.map((p) => p.id), [b.proj.id]);
  // An organization without projects.
  const lone = (await req("POST", "/admin/api/v1/orgs", { body: { slug: "lonely", title: "L" } })).json;
  assert.deepEqual((await req("GET", `/admin/api/v1/orgs/${lone.id}/projects`)).json, { projects: [] });

  const rows = [
    // [path, token, status]
    [`/admin/api/v1/orgs/${a.org.id}/projects`, null, 401],
    [`/admin/api/v1/orgs/${a.org.id}/projects`, "wrong", 401],
    [`/admin/api/v1/orgs/${a.org.id}/projects`, a.key, 401], // an environment key is no admin token
    ["/admin/api/v1/orgs/cnope000000000000000000000/projects", undefined, 404],
    [`/admin/api/v1/orgs/${"x".repeat(300)}/projects`, undefined, 404],
    ["/admin/api/v1/orgs/%01/projects", undefined, 400],
  ];
  for (const [path, token, status] of rows) assert.equal((await req("GET", path, { token })).status, status, `${path} ${token}`);
  assert.equal((await req("POST", `/admin/api/v1/orgs/${a.org.id}/projects`, { body: { slug: "x" }, token: a.key })).status, 401);
});

test("GET /admin/api/v1/plans: the plan table, the default first", async () => {
  const r = await req("GET", "/admin/api/v1/plans");
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, {
    plans: [
      { name: "free", shared: true, retention: null, default: true },
      { name: "hobby", shared: false, retention: "30d", default: false },
      { name: "pro", shared: false, retention: "365d", default: false },
      { name: "odd", shared: false, retention: "36h", default: false },
    ],
    perOrgBasins: false,
    globalBasin: "weir-shared",
  });
  const { key } = await tenant("plans-env");
  for (const [token, status] of [[null, 401], ["wrong", 401], [key, 401]]) assert.equal((await req("GET", "/admin/api/v1/plans", { token })).status, status);
  assert.equal((await req("POST", "/admin/api/v1/plans", { body: {} })).status, 405);
});

test("GET /api/v1/runs: the environment's runs, newest first, in cursor pages", async () => {
  const a = await tenant("runs-a");
  const b = await tenant("runs-b");
  const ids = [];
  for (let i = 0; i < 7; i++) {
    const r = await req("POST", "/api/v1/runs", { token: a.key, body: { taskIdentifier: `task-${i}` } });
    assert.equal(r.status, 201);
    assert.match(r.json.createdAt, /^\d{4}-/);
    ids.push(r.json.id);
  }
  await req("POST", `/api/v1/runs/${ids[2]}/complete`, { token: a.key });
  const other = (await req("POST", "/api/v1/runs", { token: b.key, body: { taskIdentifier: "b" } })).json;

  const seen = [];
  let after = null;
  for (let pages = 0; pages < 10; pages++) {
    const q = new URLSearchParams({ "page[size]": "3" });
    if (after) q.set("page[after]", after);
    const r = await req("GET", `/api/v1/runs?${q}`, { token: a.key });
    assert.equal(r.status, 200);
    seen.push(...r.json.data.map((x) => x.id));
    after = r.json.pagination.next;
    if (!after) break;
  }
  assert.deepEqual(seen, [...ids].reverse());
  const all = (await req("GET", "/api/v1/runs", { token: a.key })).json.data; // default page size 20
  assert.equal(all.length, 7);
  const done = all.find((r) => r.id === ids[2]);
  assert.match(done.completedAt, /^\d{4}-/);
  assert.deepEqual(Object.keys(done).sort(), ["completedAt", "createdAt", "id", "parentRunId", "realtimeStreamsVersion", "rootRunId", "streamBasinName", "taskIdentifier"]);
  assert.deepEqual((await req("GET", "/api/v1/runs", { token: b.key })).json.data.map((r) => r.id), [other.id]);

  const pub = (await req("POST", "/api/v1/auth/public-tokens", { token: a.key, body: { scopes: ["read:runs"] } })).json.token;
  const rows = [
    // [query, token, status]
    ["", null, 401],
    ["", "wrong", 401],
    ["", undefined, 401], // the root token is not an environment's key
    ["", pub, 401], // public tokens never list
    ["?page[size]=0", a.key, 400],
    ["?page[size]=101", a.key, 400],
    ["?page[size]=-1", a.key, 400],
    ["?page[size]=abc", a.key, 400],
    ["?page[size]=1e2", a.key, 400],
    [`?page[after]=${other.id}`, a.key, 400], // another environment's run
    ["?page[after]=run_missing", a.key, 400],
    [`?page[after]=${"r".repeat(500)}`, a.key, 400],
    ["?page[after]=%01", a.key, 400],
    ["?page[after]=%ff", a.key, 400],
    ["?page[after]=%zz", a.key, 400],
    ["?page[size]=100&unknown=1", a.key, 200],
  ];
  for (const [query, token, status] of rows) {
    const r = await req("GET", `/api/v1/runs${query}`, { token });
    assert.equal(r.status, status, `${query} ${token === undefined ? "root" : token}: ${r.text}`);
    if (status !== 200) assert.equal(typeof r.json.error, "string");
  }
});
