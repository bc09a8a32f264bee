// s2-tokens.test.mjs — access tokens (issue 7): authentication (401 authn) and authorization
// (403 permission_denied) on every /v1 route, over raw HTTP/1.1 (node:http) and the official SDK.
//
// - A permission matrix, one row per operation that has a route: a token with exactly the op(s)
//   the request needs is allowed in scope and refused (403) on an out-of-scope basin, stream or
//   token id; a token with every op except one of them is refused on the same resources.
// - Escalation attempts (broader resources, extra ops, later expiry, no issue right, no scope for
//   the new id) are 403 and leave nothing behind; expiry and revocation take effect at once.
// - auto_prefix_streams through @s2-dev/streamstore (fetch and s2s transports).
// - Tokens survive a restart; a generated root token (<data-dir>/root_token, mode 0600, printed
//   once); `--auth none`; a table of bad inputs for the token routes.
//
// Expectations come from the contract (../shared/docs/s2-api.md §1.3, §1.4, §2.1, §7), issue 7
// and the lead's decisions for it (ensure needs create + reconfigure, command records need
// `fence`/`trim` on top of `append`, lists show only in-scope items, `root` is reserved, expiry
// defaults to and may not exceed the issuer's, auto-prefix needs a prefix stream scope (422),
// an empty permission set or an unknown op is 422, malformed shapes are 400 bad_json).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppendInput, AppendRecord } from "@s2-dev/streamstore";
import { startWeir } from "./harness.mjs";
import { exactRequest, rejectsWith, sdkClient as sdkFor } from "./helpers.mjs";

let weir;
before(async () => {
  weir = await startWeir();
});
after(async () => {
  await weir.stop();
});

/** Every operation name of §7 (including those without a route yet). */
const ALL_OPS = [
  "list-basins", "create-basin", "delete-basin", "reconfigure-basin", "get-basin-config",
  "issue-access-token", "revoke-access-token", "list-access-tokens", "list-streams", "create-stream",
  "delete-stream", "get-stream-config", "reconfigure-stream", "check-tail", "append", "read", "trim",
  "fence", "account-metrics", "basin-metrics", "stream-metrics", "list-locations",
  "get-default-location", "set-default-location",
];

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * One HTTP/1.1 request with node:http. `token`: undefined = the server's root token, null = no
 * Authorization header, a string = `Bearer <string>`; `authorization` sets the header verbatim.
 * An object `body` is sent as JSON (Content-Type application/json unless headers say otherwise;
 * a null header value omits it). Resolves to { status, headers, text, json }.
 */
function request(method, path, { headers = {}, body, token, authorization, server = weir } = {}) {
  const h = {};
  if (authorization !== undefined) h.authorization = authorization;
  else if (token !== null) h.authorization = `Bearer ${token ?? server.token}`;
  Object.assign(h, headers);
  let payload;
  if (body !== undefined) {
    payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["content-type"] = "application/json";
  }
  for (const k of Object.keys(h)) if (h[k] === null) delete h[k];
  return exactRequest(server.url, method, path, h, payload);
}

async function expectStatus(res, status, what, code) {
  res = await res;
  assert.equal(res.status, status, `${what}: expected ${status}${code ? ` ${code}` : ""}, got ${res.status} ${res.text}`);
  if (code !== undefined) assert.equal(res.json?.code, code, `${what}: code (body ${res.text})`);
  return res;
}
const denied = (res, what) => expectStatus(res, 403, what, "permission_denied");
const unauthenticated = (res, what) => expectStatus(res, 401, what, "authn");

const enc = encodeURIComponent;
const sp = (stream) => `/v1/streams/${enc(stream)}`;
const bh = (basin) => ({ "s2-basin": basin });

/** Every secret issued by the main server (none may show up in its output). */
const issued = new Set();

/** Issues a token (as `as`, default root); asserts 201 and a URL-safe ≥ 32-byte secret. */
async function issue(info, { as, server = weir } = {}) {
  const res = await request("POST", "/v1/access-tokens", { token: as, body: info, server });
  assert.equal(res.status, 201, `issue ${info.id}: ${res.text}`);
  const secret = res.json?.access_token;
  assert.equal(typeof secret, "string", `issue ${info.id}: ${res.text}`);
  assert.match(secret, /^[A-Za-z0-9_-]{43,}$/, "a URL-safe secret of at least 32 random bytes");
  assert.equal(issued.has(secret), false, "every secret is new");
  if (server === weir) issued.add(secret);
  return secret;
}

async function listTokens(query = "", { as, server = weir } = {}) {
  const res = await expectStatus(request("GET", `/v1/access-tokens${query}`, { token: as, server }), 200, `list tokens ${query}`);
  return res.json;
}

async function rootOk(method, path, opts = {}, status = 200) {
  return expectStatus(request(method, path, opts), status, `${method} ${path} (root)`);
}

async function createBasin(name, config) {
  await rootOk("POST", "/v1/basins", { body: { basin: name, ...(config ? { config } : {}) } }, 201);
}
async function createStream(basin, stream, records = []) {
  await rootOk("POST", "/v1/streams", { headers: bh(basin), body: { stream } }, 201);
  if (records.length) await rootOk("POST", `${sp(stream)}/records`, { headers: bh(basin), body: { records: records.map((body) => ({ body })) } });
}

/** An SSE read: resolves when the body ends (the read has a count limit) to { status, headers, text }. */
function sseRead(basin, stream, token, query = "seq_num=0&count=1") {
  return request("GET", `${sp(stream)}/records?${query}`, { token, headers: { ...bh(basin), accept: "text/event-stream" } });
}

const inSec = (s) => new Date(Date.now() + s * 1000).toISOString();

// ---------------------------------------------------------------------------------------------
// The permission matrix

/**
 * One row per operation with a route (plus the two ensures, which need two ops each, and the two
 * command records, which need `append` and their own op). Fields:
 *   needs     ops the request needs; the "exact" token has exactly these
 *   res       resources the request names: "basin", "stream", "token"; each gets an
 *             out-of-scope variant that must be 403
 *   noBasin   the in-scope basin does not exist beforehand (create-basin)
 *   streams   seed streams (in-scope and out-of-scope, with a record each)
 *   tokens    seed tokens with the in-scope and the out-of-scope id
 *   req(r, token, target)  the request; target = { basin, stream, tokenId, ops }
 *   ok        the status the in-scope request must get with the exact token
 *   check     extra assertions on the allowed response
 *   more      extra checks with the exact token (what a list shows; out-of-scope names that
 *             do not exist)
 *   verify    after everything: side effects of the refused requests are absent (as root)
 */
const ROWS = [
  {
    name: "list-basins", needs: ["list-basins"], res: [],
    req: (r, token) => request("GET", `/v1/basins?prefix=${r.basinPrefix}`, { token }),
    ok: 200,
    more: async (r, token) => {
      const res = await expectStatus(request("GET", `/v1/basins?prefix=${r.basinPrefix}`, { token }), 200, "list basins");
      assert.deepEqual(res.json.basins.map((b) => b.name), [r.basin], "only the in-scope basin is listed");
      const all = await expectStatus(request("GET", "/v1/basins", { token }), 200, "list all basins");
      assert.deepEqual(all.json.basins.map((b) => b.name), [r.basin], "no basin outside the scope, whatever the prefix");
    },
  },
  {
    name: "create-basin", needs: ["create-basin"], res: ["basin"], noBasin: true,
    req: (r, token, t) => request("POST", "/v1/basins", { token, body: { basin: t.basin } }),
    ok: 201,
    more: async (r, token) => {
      // An out-of-scope name that does not exist: 403, and it is not created.
      await denied(request("POST", "/v1/basins", { token, body: { basin: `${r.outBasin}-new` } }), "create an out-of-scope new basin");
      await expectStatus(request("GET", `/v1/basins/${r.outBasin}-new`), 404, "not created", "basin_not_found");
    },
    verify: async (r) => {
      await rootOk("GET", `/v1/basins/${r.basin}`);
    },
  },
  {
    name: "ensure-basin", needs: ["create-basin", "reconfigure-basin"], res: ["basin"],
    req: (r, token, t) => request("PUT", `/v1/basins/${t.basin}`, { token, body: { config: { create_stream_on_read: true } } }),
    ok: 200,
    verify: async (r) => {
      const out = await rootOk("GET", `/v1/basins/${r.outBasin}`);
      assert.equal(out.json.create_stream_on_read, false, "the refused ensure changed nothing");
    },
  },
  {
    name: "delete-basin", needs: ["delete-basin"], res: ["basin"],
    req: (r, token, t) => request("DELETE", `/v1/basins/${t.basin}`, { token }),
    ok: 202,
  },
  {
    name: "reconfigure-basin", needs: ["reconfigure-basin"], res: ["basin"],
    req: (r, token, t) => request("PATCH", `/v1/basins/${t.basin}`, { token, body: { create_stream_on_append: true } }),
    ok: 200,
    check: (res) => assert.equal(res.json.create_stream_on_append, true),
    verify: async (r) => {
      const out = await rootOk("GET", `/v1/basins/${r.outBasin}`);
      assert.equal(out.json.create_stream_on_append, false, "the refused reconfigure changed nothing");
    },
  },
  {
    name: "get-basin-config", needs: ["get-basin-config"], res: ["basin"],
    req: (r, token, t) => request("GET", `/v1/basins/${t.basin}`, { token }),
    ok: 200,
  },
  {
    // The new token's scope names the basin, the stream and the id: each out of the issuer's
    // scope is a 403. The new ops are the caller's first op, so only the op check can refuse
    // the "every op but issue-access-token" token.
    name: "issue-access-token", needs: ["issue-access-token"], res: ["basin", "stream", "token"],
    req: (r, token, t) =>
      request("POST", "/v1/access-tokens", {
        token,
        body: {
          id: t.tokenId,
          scope: { basins: { exact: t.basin }, streams: { exact: t.stream }, access_tokens: { prefix: r.tp }, ops: [t.ops[0]] },
        },
      }),
    ok: 201,
    check: (res) => assert.match(res.json.access_token, /^[A-Za-z0-9_-]{43,}$/),
    verify: async (r) => {
      const ids = (await listTokens(`?prefix=${enc(r.tp)}`)).access_tokens.map((t) => t.id);
      assert.deepEqual(ids, [r.tokenId], "only the allowed request created a token");
      assert.deepEqual((await listTokens(`?prefix=${enc(r.outTokenId)}`)).access_tokens, []);
    },
  },
  {
    name: "revoke-access-token", needs: ["revoke-access-token"], res: ["token"], tokens: true,
    req: (r, token, t) => request("DELETE", `/v1/access-tokens/${enc(t.tokenId)}`, { token }),
    ok: 204,
    verify: async (r) => {
      // The seed tokens may only check tails: any other request is 403 while they live, 401 once revoked.
      await unauthenticated(request("GET", "/v1/basins", { token: r.seed.in }), "the revoked token");
      await denied(request("GET", "/v1/basins", { token: r.seed.out }), "the token the refused revoke named still lives");
      const ids = (await listTokens(`?prefix=${enc(r.outTokenId)}`)).access_tokens.map((t) => t.id);
      assert.deepEqual(ids, [r.outTokenId]);
    },
  },
  {
    name: "list-access-tokens", needs: ["list-access-tokens"], res: [], tokens: true,
    req: (r, token) => request("GET", "/v1/access-tokens", { token }),
    ok: 200,
    more: async (r, token) => {
      const all = await listTokens("", { as: token });
      assert.deepEqual(all.access_tokens.map((t) => t.id), [r.tokenId], "only ids inside the access_tokens scope");
      assert.deepEqual((await listTokens(`?prefix=${enc(r.outTokenId)}`, { as: token })).access_tokens, []);
      for (const t of all.access_tokens) assert.equal(t.access_token, undefined, "no secret in a listing");
    },
  },
  {
    name: "list-streams", needs: ["list-streams"], res: ["basin"], streams: true,
    req: (r, token, t) => request("GET", "/v1/streams", { token, headers: bh(t.basin) }),
    ok: 200,
    more: async (r, token) => {
      const res = await expectStatus(request("GET", "/v1/streams", { token, headers: bh(r.basin) }), 200, "list streams");
      assert.deepEqual(res.json.streams.map((s) => s.name), [r.stream], "only streams inside the prefix");
      const other = await expectStatus(request("GET", "/v1/streams?prefix=other", { token, headers: bh(r.basin) }), 200, "list other");
      assert.deepEqual(other.json.streams, []);
    },
  },
  {
    name: "create-stream", needs: ["create-stream"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => request("POST", "/v1/streams", { token, headers: bh(t.basin), body: { stream: `${t.stream}-new` } }),
    ok: 201,
    check: (res, r) => assert.equal(res.json.name, `${r.stream}-new`),
    verify: async (r) => {
      await expectStatus(request("GET", sp(`${r.outStream}-new`), { headers: bh(r.basin) }), 404, "refused create (stream)", "stream_not_found");
      await expectStatus(request("GET", sp(`${r.stream}-new`), { headers: bh(r.outBasin) }), 404, "refused create (basin)", "stream_not_found");
    },
  },
  {
    name: "ensure-stream", needs: ["create-stream", "reconfigure-stream"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => request("PUT", sp(t.stream), { token, headers: bh(t.basin), body: { storage_class: "standard" } }),
    ok: 200,
    verify: async (r) => {
      const a = await rootOk("GET", sp(r.outStream), { headers: bh(r.basin) });
      const b = await rootOk("GET", sp(r.stream), { headers: bh(r.outBasin) });
      assert.equal(a.json.storage_class, "express", "the refused ensure changed nothing");
      assert.equal(b.json.storage_class, "express", "the refused ensure changed nothing");
    },
  },
  {
    name: "delete-stream", needs: ["delete-stream"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => request("DELETE", sp(t.stream), { token, headers: bh(t.basin) }),
    ok: 202,
  },
  {
    name: "get-stream-config", needs: ["get-stream-config"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => request("GET", sp(t.stream), { token, headers: bh(t.basin) }),
    ok: 200,
  },
  {
    name: "reconfigure-stream", needs: ["reconfigure-stream"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => request("PATCH", sp(t.stream), { token, headers: bh(t.basin), body: { storage_class: "standard" } }),
    ok: 200,
    check: (res) => assert.equal(res.json.storage_class, "standard"),
    verify: async (r) => {
      const a = await rootOk("GET", sp(r.outStream), { headers: bh(r.basin) });
      const b = await rootOk("GET", sp(r.stream), { headers: bh(r.outBasin) });
      assert.equal(a.json.storage_class, "express", "the refused reconfigure changed nothing");
      assert.equal(b.json.storage_class, "express", "the refused reconfigure changed nothing");
    },
  },
  {
    name: "check-tail", needs: ["check-tail"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => request("GET", `${sp(t.stream)}/records/tail`, { token, headers: bh(t.basin) }),
    ok: 200,
    check: (res) => assert.equal(res.json.tail.seq_num, 1),
  },
  {
    name: "append", needs: ["append"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => request("POST", `${sp(t.stream)}/records`, { token, headers: bh(t.basin), body: { records: [{ body: "x" }] } }),
    ok: 200,
    check: (res) => assert.equal(res.json.start.seq_num, 1),
  },
  {
    name: "read", needs: ["read"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => request("GET", `${sp(t.stream)}/records?seq_num=0`, { token, headers: bh(t.basin) }),
    ok: 200,
    check: (res) => assert.deepEqual(res.json.records.map((x) => x.body), ["seed"]),
  },
  {
    name: "read-sse", needs: ["read"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) => sseRead(t.basin, t.stream, token),
    ok: 200,
    check: (res) => {
      assert.match(res.headers["content-type"], /^text\/event-stream/);
      assert.match(res.text, /event: batch\r?\n/);
      assert.match(res.text, /"body":"seed"/);
    },
  },
  {
    // A trim command record (s2-format base64: header name "", value "trim", body u64 BE 0).
    name: "trim", needs: ["append", "trim"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) =>
      request("POST", `${sp(t.stream)}/records`, {
        token,
        headers: { ...bh(t.basin), "s2-format": "base64" },
        body: { records: [{ headers: [["", Buffer.from("trim").toString("base64")]], body: Buffer.alloc(8).toString("base64") }] },
      }),
    ok: 200,
  },
  {
    name: "fence", needs: ["append", "fence"], res: ["basin", "stream"], streams: true,
    req: (r, token, t) =>
      request("POST", `${sp(t.stream)}/records`, { token, headers: bh(t.basin), body: { records: [{ headers: [["", "fence"]], body: "tok" }] } }),
    ok: 200,
    verify: async (r) => {
      // The refused fences set nothing: an append with fencing token "" (none set) succeeds there.
      for (const [basin, stream] of [[r.basin, r.outStream], [r.outBasin, r.stream]])
        await rootOk("POST", `${sp(stream)}/records`, { headers: bh(basin), body: { records: [{ body: "y" }], fencing_token: "" } });
    },
  },
];

function rowContext(row) {
  const n = row.name;
  return {
    basinPrefix: `mx-${n}-`,
    basin: `mx-${n}-in`,
    outBasin: `mx-${n}-out`,
    prefix: `${n}/`,
    stream: `${n}/s`,
    outStream: `other/${n}`,
    tp: `t-${n}-`,
    tokenId: `t-${n}-target`,
    outTokenId: `zz-${n}-target`,
  };
}

const matrixScope = (r, ops) => ({
  basins: { exact: r.basin },
  streams: { prefix: r.prefix },
  access_tokens: { prefix: r.tp },
  ops,
});

test("permission matrix: every routed op, in and out of scope, with and without the op", async (t) => {
  for (const row of ROWS) {
    await t.test(row.name, async () => {
      const r = rowContext(row);
      // Fresh resources per row (root).
      if (!row.noBasin) await createBasin(r.basin);
      await createBasin(r.outBasin);
      if (row.streams) {
        await createStream(r.basin, r.stream, ["seed"]);
        await createStream(r.basin, r.outStream, ["seed"]);
        await createStream(r.outBasin, r.stream, ["seed"]);
      }
      if (row.tokens) {
        const scope = { basins: { exact: r.basin }, streams: { prefix: "" }, ops: ["check-tail"] };
        r.seed = {
          in: await issue({ id: r.tokenId, scope }),
          out: await issue({ id: r.outTokenId, scope }),
        };
      }
      const target = (over = {}) => ({ basin: r.basin, stream: r.stream, tokenId: r.tokenId, ...over });

      // 1. Every op but one the request needs (same resources): 403.
      for (const op of row.needs) {
        const ops = ALL_OPS.filter((o) => o !== op);
        const tok = await issue({ id: `m-${row.name}-no-${op}`, scope: matrixScope(r, ops) });
        await denied(row.req(r, tok, target({ ops })), `${row.name} with every op except ${op}`);
      }
      // 2. Only some of the ops it needs: 403.
      if (row.needs.length > 1) {
        for (const op of row.needs) {
          const ops = row.needs.filter((o) => o !== op);
          const tok = await issue({ id: `m-${row.name}-only-${ops.join("-")}`, scope: matrixScope(r, ops) });
          await denied(row.req(r, tok, target({ ops })), `${row.name} with only ${ops.join(", ")}`);
        }
      }
      // 3. Exactly the ops it needs, out of scope: 403.
      const ops = row.needs;
      const exact = await issue({ id: `m-${row.name}-exact`, scope: matrixScope(r, ops) });
      if (row.res.includes("basin")) await denied(row.req(r, exact, target({ basin: r.outBasin, ops })), `${row.name} on an out-of-scope basin`);
      if (row.res.includes("stream")) await denied(row.req(r, exact, target({ stream: r.outStream, ops })), `${row.name} on an out-of-scope stream`);
      if (row.res.includes("token")) await denied(row.req(r, exact, target({ tokenId: r.outTokenId, ops })), `${row.name} on an out-of-scope token id`);
      if (row.more) await row.more(r, exact);
      // 4. Exactly the ops it needs, in scope: allowed.
      const res = await row.req(r, exact, target({ ops }));
      assert.ok(res.status !== 401 && res.status !== 403, `${row.name} in scope must be allowed: ${res.status} ${res.text}`);
      assert.equal(res.status, row.ok, `${row.name} in scope: ${res.text}`);
      if (row.check) row.check(res, r);
      // 5. The refused requests had no effect (root's view).
      if (row.res.includes("basin")) {
        const l = await rootOk("GET", `/v1/basins?prefix=${r.outBasin}`);
        assert.deepEqual(l.json.basins.map((b) => [b.name, b.deleted_at]), [[r.outBasin, null]], "out-of-scope basin untouched");
      }
      if (row.streams && row.res.includes("stream")) {
        const a = await rootOk("GET", `${sp(r.outStream)}/records/tail`, { headers: bh(r.basin) });
        const b = await rootOk("GET", `${sp(r.stream)}/records/tail`, { headers: bh(r.outBasin) });
        assert.equal(a.json.tail.seq_num, 1, "out-of-scope stream untouched");
        assert.equal(b.json.tail.seq_num, 1, "stream in the out-of-scope basin untouched");
      }
      if (row.verify) await row.verify(r);
    });
  }
});

test("matrix coverage: every routed op has a row", () => {
  const routed = ALL_OPS.filter((o) => !/metrics|location/.test(o));
  const covered = new Set(ROWS.flatMap((r) => r.needs));
  assert.deepEqual(routed.filter((o) => !covered.has(o)), []);
});

test("op groups expand to the documented ops (stream.read allows read, not append)", async () => {
  const basin = "grp-basin-01";
  await createBasin(basin);
  await createStream(basin, "s", ["seed"]);
  const tok = await issue({
    id: "grp-stream-read",
    scope: { basins: { exact: basin }, streams: { prefix: "" }, op_groups: { stream: { read: true } } },
  });
  for (const path of [sp("s"), `${sp("s")}/records/tail`, `${sp("s")}/records?seq_num=0`])
    await expectStatus(request("GET", path, { token: tok, headers: bh(basin) }), 200, `stream.read: GET ${path}`);
  await denied(request("POST", `${sp("s")}/records`, { token: tok, headers: bh(basin), body: { records: [{ body: "x" }] } }), "stream.read: append");
  await denied(request("GET", "/v1/streams", { token: tok, headers: bh(basin) }), "stream.read: list-streams (basin.read)");
  const w = await issue({
    id: "grp-basin-write",
    scope: { basins: { exact: basin }, streams: { prefix: "" }, op_groups: { basin: { write: true }, account: { read: true } } },
  });
  await expectStatus(request("POST", "/v1/streams", { token: w, headers: bh(basin), body: { stream: "new" } }), 201, "basin.write: create-stream");
  await expectStatus(request("PATCH", `/v1/basins/${basin}`, { token: w, body: {} }), 200, "basin.write: reconfigure-basin");
  await expectStatus(request("GET", "/v1/basins", { token: w }), 200, "account.read: list-basins");
  await denied(request("GET", `/v1/basins/${basin}`, { token: w }), "basin.write: get-basin-config (basin.read)");
  await denied(request("POST", "/v1/basins", { token: w, body: { basin: "grp-basin-02" } }), "basin.write: create-basin (account.write)");
});

/**
 * Pages through a scoped list with limit=1 and start_after = the last name of each page. Every
 * page with has_more must carry an item (a client has no other start_after to continue from).
 */
async function pageAll(path, headers, token, key) {
  const seen = [];
  let startAfter = "";
  for (let pages = 0; pages < 20; pages++) {
    const sep = path.includes("?") ? "&" : "?";
    const res = await expectStatus(
      request("GET", `${path}${sep}limit=1${startAfter ? `&start_after=${enc(startAfter)}` : ""}`, { token, headers }),
      200,
      `${path} page after ${JSON.stringify(startAfter)}`,
    );
    const names = res.json[key].map((x) => x.name);
    if (res.json.has_more) assert.ok(names.length > 0, `${path}: a page with has_more:true is empty (start_after ${JSON.stringify(startAfter)}): ${res.text}`);
    seen.push(...names);
    if (!res.json.has_more) break;
    startAfter = names.at(-1);
  }
  return seen;
}

// Server bug (reported to the lead): scoped lists filter after the store applied `limit`, so a
// page can be empty with has_more:true and the SDK's listAll stops there, silently dropping the
// in-scope items after it. Remove `todo` once fixed.

test("scoped stream list pages correctly (out-of-scope names sort before and between)", async () => {
  const basin = "page-basin-01";
  await createBasin(basin);
  for (const s of ["a-out", "a-out2", "p/1", "b-out", "p/2", "q-out", "p/3"]) await createStream(basin, s);
  const tok = await issue({ id: "page-streams", scope: { basins: { exact: basin }, streams: { prefix: "p/" }, ops: ["list-streams"] } });
  assert.deepEqual(await pageAll("/v1/streams", bh(basin), tok, "streams"), ["p/1", "p/2", "p/3"]);
});

test("scoped basin list pages correctly (out-of-scope names sort first)", async () => {
  for (const b of ["page-aa-out-1", "page-zz-in-1", "page-aa-out-2", "page-zz-in-2"]) await createBasin(b);
  const tok = await issue({ id: "page-basins", scope: { basins: { prefix: "page-zz-" }, ops: ["list-basins"] } });
  assert.deepEqual(await pageAll("/v1/basins?prefix=page-", {}, tok, "basins"), ["page-zz-in-1", "page-zz-in-2"]);
});

// ---------------------------------------------------------------------------------------------
// Authentication

test("missing, malformed, unknown tokens are 401 authn on every route; the scheme is case-insensitive", async () => {
  const basin = "authn-basin-01";
  await createBasin(basin);
  await createStream(basin, "s", ["seed"]);
  const routes = [
    ["GET", "/v1/basins"],
    ["POST", "/v1/basins", { basin: "authn-basin-02" }],
    ["GET", `/v1/basins/${basin}`],
    ["PUT", `/v1/basins/${basin}`],
    ["PATCH", `/v1/basins/${basin}`, {}],
    ["DELETE", `/v1/basins/${basin}`],
    ["GET", "/v1/access-tokens"],
    ["POST", "/v1/access-tokens", { id: "authn-x", scope: { ops: ["read"] } }],
    ["DELETE", "/v1/access-tokens/authn-x"],
    ["GET", "/v1/streams"],
    ["POST", "/v1/streams", { stream: "t" }],
    ["GET", sp("s")],
    ["PUT", sp("s")],
    ["PATCH", sp("s"), {}],
    ["DELETE", sp("s")],
    ["GET", `${sp("s")}/records/tail`],
    ["GET", `${sp("s")}/records?seq_num=0`],
    ["POST", `${sp("s")}/records`, { records: [{ body: "x" }] }],
    ["GET", "/v1/metrics"],
  ];
  const bad = [
    ["no header", { token: null }],
    ["unknown secret", { token: "not-a-real-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }],
    ["empty bearer", { authorization: "Bearer " }],
    ["bearer without space", { authorization: `Bearer${weir.token}` }],
    ["basic scheme", { authorization: `Basic ${Buffer.from(`x:${weir.token}`).toString("base64")}` }],
    ["root token with a suffix", { token: `${weir.token}x` }],
    ["root token prefix", { token: weir.token.slice(0, -1) }],
  ];
  for (const [method, path, body] of routes) {
    for (const [what, auth] of bad) {
      await unauthenticated(request(method, path, { ...auth, headers: bh(basin), body }), `${method} ${path} (${what})`);
    }
  }
  // Nothing happened.
  await rootOk("GET", `/v1/basins/${basin}`);
  await rootOk("GET", sp("s"), { headers: bh(basin) });
  await expectStatus(request("GET", "/v1/basins/authn-basin-02"), 404, "not created");
  await expectStatus(request("GET", "/v1/basins", { authorization: `bearer ${weir.token}` }), 200, "lower-case scheme");
  await expectStatus(request("GET", "/v1/basins", { authorization: `BEARER ${weir.token}` }), 200, "upper-case scheme");
  // Health checks outside /v1 need no token.
  await expectStatus(request("GET", "/ping", { token: null }), 200, "/ping");
});

// ---------------------------------------------------------------------------------------------
// Escalation

test("escalation attempts are 403 and create nothing; narrower tokens are allowed", async () => {
  const basin = "esc-basin-01";
  await createBasin(basin);
  await createStream(basin, "p/x", ["seed"]);
  const expires = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000).toISOString();
  const scope = { basins: { exact: basin }, streams: { prefix: "p/" }, access_tokens: { prefix: "esc-" }, ops: ["issue-access-token", "read", "append"] };
  const issuer = await issue({ id: "issuer-esc", expires_at: expires, scope });
  const narrow = { basins: { exact: basin }, streams: { exact: "p/x" }, access_tokens: { exact: "esc-none" }, ops: ["read"] };
  const as = (body) => request("POST", "/v1/access-tokens", { token: issuer, body });
  const allowed = [];
  let n = 0;
  const refuse = async (what, s, extra = {}) => {
    n += 1;
    await denied(as({ id: `esc-${n}`, scope: s, ...extra }), what);
  };
  const permit = async (what, s, extra = {}) => {
    n += 1;
    const res = await expectStatus(as({ id: `esc-${n}`, scope: s, ...extra }), 201, what);
    allowed.push(`esc-${n}`);
    return res.json.access_token;
  };

  // Positive controls: the same scope, a narrower one, absent resource sets (match nothing).
  await permit("the issuer's own scope", scope);
  const child = await permit("a narrower scope", narrow);
  await permit("absent resource sets", { ops: ["read"] });
  await permit("an earlier expiry", narrow, { expires_at: inSec(1800) });
  await permit("an explicit null expiry (defaults to the issuer's)", narrow, { expires_at: null });
  await permit("exactly the issuer's expiry", narrow, { expires_at: expires });
  await expectStatus(request("GET", `${sp("p/x")}/records?seq_num=0`, { token: child, headers: bh(basin) }), 200, "the narrow child reads");
  await denied(request("POST", `${sp("p/x")}/records`, { token: child, headers: bh(basin), body: { records: [{ body: "x" }] } }), "the narrow child cannot append");

  // Broader resources.
  await refuse("basins: prefix \"\" (everything)", { ...narrow, basins: { prefix: "" } });
  await refuse("basins: a prefix of its exact basin", { ...narrow, basins: { prefix: "esc-basin" } });
  await refuse("basins: another exact basin", { ...narrow, basins: { exact: "esc-basin-02" } });
  await refuse("streams: prefix \"\"", { ...narrow, streams: { prefix: "" } });
  await refuse("streams: a shorter prefix", { ...narrow, streams: { prefix: "p" } });
  await refuse("streams: another prefix", { ...narrow, streams: { prefix: "q/" } });
  await refuse("streams: an exact name outside the prefix", { ...narrow, streams: { exact: "q/x" } });
  await refuse("access_tokens: prefix \"\"", { ...narrow, access_tokens: { prefix: "" } });
  await refuse("access_tokens: a shorter prefix", { ...narrow, access_tokens: { prefix: "esc" } });
  await refuse("access_tokens: an exact id outside", { ...narrow, access_tokens: { exact: "other" } });
  // Extra ops, directly or through groups.
  await refuse("an extra op", { ...narrow, ops: ["read", "check-tail"] });
  await refuse("an op it lacks", { ...narrow, ops: ["trim"] });
  await refuse("a group with ops it lacks", { ...narrow, ops: [], op_groups: { stream: { read: true } } });
  await refuse("an account group", { ...narrow, ops: [], op_groups: { account: { write: true } } });
  // Later expiry, or none at all.
  await refuse("a later expiry", narrow, { expires_at: new Date(Date.parse(expires) + 1000).toISOString() });
  await refuse("a much later expiry", narrow, { expires_at: "2999-01-01T00:00:00Z" });
  // An id outside its access_tokens scope; the reserved root id.
  await denied(as({ id: "outside-esc", scope: narrow }), "an id outside the access_tokens scope");
  await denied(as({ id: "root", scope: narrow }), "id root is outside the issuer's scope too");

  // A token without issue-access-token, and tokens with no scope for any id.
  const noIssue = await issue({ id: "issuer-no-issue", scope: { ...scope, access_tokens: { prefix: "" }, ops: ["read", "append", "list-access-tokens", "revoke-access-token"] } });
  await denied(request("POST", "/v1/access-tokens", { token: noIssue, body: { id: "esc-from-noissue", scope: narrow } }), "issuing without issue-access-token");
  const noIds = await issue({ id: "issuer-no-ids", scope: { ...scope, access_tokens: undefined } });
  await denied(request("POST", "/v1/access-tokens", { token: noIds, body: { id: "esc-from-noids", scope: narrow } }), "issuing with no access_tokens scope");
  const emptyExact = await issue({ id: "issuer-empty-exact", scope: { ...scope, access_tokens: { exact: "" } } });
  await denied(request("POST", "/v1/access-tokens", { token: emptyExact, body: { id: "esc-from-empty", scope: narrow } }), "issuing with an empty exact access_tokens set");

  // Two levels: a child with issue rights cannot give its own child what only the grandparent had.
  const sub = await permit("a child that may issue", { ...scope, access_tokens: { prefix: "esc-sub-" }, ops: ["issue-access-token", "read"] });
  await denied(request("POST", "/v1/access-tokens", { token: sub, body: { id: "esc-sub-1", scope: { ...narrow, ops: ["append"] } } }), "grandchild with the grandparent's op");
  await expectStatus(request("POST", "/v1/access-tokens", { token: sub, body: { id: "esc-sub-2", scope: { ...narrow, access_tokens: null } } }), 201, "grandchild within");
  allowed.push("esc-sub-2");

  // Exactly the permitted tokens exist; defaults were applied.
  const listed = (await listTokens("?prefix=esc-")).access_tokens;
  assert.deepEqual(listed.map((t) => t.id).sort(), [...allowed].sort());
  const byId = Object.fromEntries(listed.map((t) => [t.id, t]));
  assert.equal(Date.parse(byId["esc-2"].expires_at), Date.parse(expires), "expires_at defaults to the issuer's");
  assert.equal(Date.parse(byId["esc-5"].expires_at), Date.parse(expires), "an explicit null defaults to the issuer's too");
  assert.equal(Date.parse(byId["esc-sub-2"].expires_at), Date.parse(expires), "inherited through two levels");
  assert.deepEqual(byId["esc-2"].scope.basins, { exact: basin });
  assert.deepEqual(byId["esc-2"].scope.streams, { exact: "p/x" });
  assert.deepEqual(byId["esc-2"].scope.ops, ["read"]);
  assert.equal(byId["esc-2"].auto_prefix_streams, false);
});

test("the root id is reserved and the root token cannot be revoked", async () => {
  const res = await request("POST", "/v1/access-tokens", { body: { id: "root", scope: { ops: ["read"] } } });
  assert.equal(res.status, 409, `issuing id root: ${res.text}`);
  const del = await request("DELETE", "/v1/access-tokens/root");
  assert.ok(del.status >= 400 && del.status < 500, `revoking root must be refused: ${del.status} ${del.text}`);
  await rootOk("GET", "/v1/basins");
});

// ---------------------------------------------------------------------------------------------
// Expiry and revocation

test("expiry: a token works until its expires_at, then 401; its children expire with it", async () => {
  const basin = "exp-basin-01";
  await createBasin(basin);
  await createStream(basin, "s", ["seed"]);
  const scope = { basins: { exact: basin }, streams: { prefix: "" }, access_tokens: { prefix: "exp-" }, ops: ["check-tail", "issue-access-token"] };
  const expiresAt = inSec(2);
  const tok = await issue({ id: "exp-parent", expires_at: expiresAt, scope });
  const tail = (token) => request("GET", `${sp("s")}/records/tail`, { token, headers: bh(basin) });
  await expectStatus(tail(tok), 200, "before expiry");
  const childRes = await request("POST", "/v1/access-tokens", { token: tok, body: { id: "exp-child", scope: { ...scope, ops: ["check-tail"] } } });
  assert.equal(childRes.status, 201, childRes.text);
  const child = childRes.json.access_token;
  await denied(
    request("POST", "/v1/access-tokens", { token: tok, body: { id: "exp-later", expires_at: inSec(3600), scope: { ...scope, ops: ["check-tail"] } } }),
    "a child outliving its issuer",
  );
  const listed = (await listTokens("?prefix=exp-child")).access_tokens;
  assert.equal(Date.parse(listed[0].expires_at), Date.parse(expiresAt), "the child inherits the expiry");
  await expectStatus(tail(child), 200, "the child before expiry");

  // Poll (a guard, not a timing assertion) until the parent stops working: it must be a 401.
  const seen = [];
  let last;
  for (let i = 0; i < 200; i++) {
    last = await tail(tok);
    if (last.status !== 200) break;
    seen.push(last.status);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(seen.length > 0 || last.status === 401, "polled");
  await unauthenticated(last, "after expiry");
  await unauthenticated(tail(child), "the child after expiry");
  await unauthenticated(request("GET", "/v1/access-tokens", { token: tok }), "any route after expiry");
  // An expires_at in the past cannot be issued.
  await expectStatus(request("POST", "/v1/access-tokens", { body: { id: "exp-past", expires_at: "2001-01-01T00:00:00Z", scope } }), 422, "expires_at in the past", "invalid");
});

test("revocation takes effect on the very next request; the id can be issued again", async () => {
  const basin = "rev-basin-01";
  await createBasin(basin);
  await createStream(basin, "s", ["seed"]);
  const scope = { basins: { exact: basin }, streams: { prefix: "" }, ops: ["check-tail", "read"] };
  const tail = (token) => request("GET", `${sp("s")}/records/tail`, { token, headers: bh(basin) });
  const old = await issue({ id: "rev-1", scope });
  await expectStatus(tail(old), 200, "before revoke");
  await expectStatus(request("DELETE", "/v1/access-tokens/rev-1"), 204, "revoke");
  await unauthenticated(tail(old), "the very next request");
  await expectStatus(request("DELETE", "/v1/access-tokens/rev-1"), 404, "revoke again", "access_token_not_found");
  assert.deepEqual((await listTokens("?prefix=rev-1")).access_tokens, []);
  const fresh = await issue({ id: "rev-1", scope });
  assert.notEqual(fresh, old);
  await expectStatus(tail(fresh), 200, "the re-issued token");
  await unauthenticated(tail(old), "the old secret stays dead");

  // Revoked by a scoped token with revoke-access-token: same effect.
  const revoker = await issue({ id: "rev-revoker", scope: { access_tokens: { prefix: "rev-" }, ops: ["revoke-access-token"] } });
  await expectStatus(request("DELETE", "/v1/access-tokens/rev-1", { token: revoker }), 204, "scoped revoke");
  await unauthenticated(tail(fresh), "after the scoped revoke");
  // A token can revoke itself; it is dead right after.
  await expectStatus(request("DELETE", "/v1/access-tokens/rev-revoker", { token: revoker }), 204, "self-revoke");
  await unauthenticated(request("DELETE", "/v1/access-tokens/rev-x", { token: revoker }), "after self-revoke");
});

// ---------------------------------------------------------------------------------------------
// auto_prefix_streams through the official SDK

const sdkClient = (token, server = weir) => sdkFor(server, token);

const str = (body) => AppendRecord.string({ body });

test("auto_prefix_streams: SDK round trip with relative names; nothing outside the prefix is reachable", async () => {
  const basin = "ap-basin-01";
  await createBasin(basin);
  await createBasin("ap-basin-02");
  await createStream(basin, "orders", ["root-data"]); // same relative name, outside the prefix
  await createStream(basin, "tenant-b/secret", ["b-data"]);
  const secret = await issue({
    id: "ap-tenant-a",
    auto_prefix_streams: true,
    scope: {
      basins: { exact: basin },
      streams: { prefix: "tenant-a/" },
      op_groups: { basin: { read: true, write: true }, stream: { read: true, write: true } },
    },
  });
  const listed = (await listTokens("?prefix=ap-tenant-a")).access_tokens;
  assert.equal(listed[0].auto_prefix_streams, true);

  const client = sdkClient(secret);
  const b = client.basin(basin);
  const info = await b.streams.create({ stream: "orders" });
  assert.equal(info.name, "orders", "the created name is shown relative");
  await b.streams.create({ stream: "orders-2" });
  await b.streams.create({ stream: "zeta" });
  const orders = b.stream("orders", { forceTransport: "fetch" });
  const ack = await orders.append(AppendInput.create([str("a1"), str("a2")]));
  assert.equal(ack.start.seqNum, 0, "a fresh stream, not root's `orders`");
  assert.equal(ack.end.seqNum, 2);
  const batch = await orders.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } });
  assert.deepEqual(batch.records.map((r) => r.body), ["a1", "a2"]);
  assert.equal((await orders.checkTail()).tail.seqNum, 2);
  const cfg = await b.streams.reconfigure({ stream: "orders", storageClass: "standard" });
  assert.equal(cfg.storageClass, "standard");
  assert.equal((await b.streams.getConfig({ stream: "orders" })).storageClass, "standard");
  const ens = await b.streams.ensure({ stream: "zeta" });
  assert.equal(ens.stream.name, "zeta", "ensure shows the relative name");

  // Lists show relative names, only inside the prefix; prefix and startAfter are relative too.
  assert.deepEqual((await b.streams.list()).streams.map((s) => s.name), ["orders", "orders-2", "zeta"]);
  assert.deepEqual((await b.streams.list({ prefix: "orders" })).streams.map((s) => s.name), ["orders", "orders-2"]);
  assert.deepEqual((await b.streams.list({ startAfter: "orders" })).streams.map((s) => s.name), ["orders-2", "zeta"]);
  const all = [];
  for await (const s of b.streams.listAll()) all.push(s.name);
  assert.deepEqual(all, ["orders", "orders-2", "zeta"]);

  // Root sees the stored (prefixed) names; root's own `orders` is untouched.
  const rootList = await rootOk("GET", "/v1/streams", { headers: bh(basin) });
  assert.deepEqual(rootList.json.streams.map((s) => s.name), ["orders", "tenant-a/orders", "tenant-a/orders-2", "tenant-a/zeta", "tenant-b/secret"]);
  const rootRead = await rootOk("GET", `${sp("tenant-a/orders")}/records?seq_num=0`, { headers: bh(basin) });
  assert.deepEqual(rootRead.json.records.map((r) => r.body), ["a1", "a2"]);
  const plain = await rootOk("GET", `${sp("orders")}/records?seq_num=0`, { headers: bh(basin) });
  assert.deepEqual(plain.json.records.map((r) => r.body), ["root-data"]);

  // Outside the prefix: names are always taken relative, so another tenant's stream is not found.
  await rejectsWith(() => b.stream("tenant-b/secret", { forceTransport: "fetch" }).read({ start: { from: { seqNum: 0 } } }), { status: 404, code: "stream_not_found" });
  await rejectsWith(() => b.stream("../tenant-b/secret", { forceTransport: "fetch" }).checkTail(), { status: 404, code: "stream_not_found" });
  await rejectsWith(() => b.streams.getConfig({ stream: "tenant-b/secret" }), { status: 404, code: "stream_not_found" });
  await rejectsWith(() => client.basin("ap-basin-02").streams.list(), { status: 403, code: "permission_denied" });
  await rejectsWith(() => client.basins.list(), { status: 403, code: "permission_denied" });
  // A raw SSE read with the token uses the relative name too.
  const sse = await expectStatus(sseRead(basin, "orders", secret, "seq_num=0&count=2"), 200, "SSE read with the auto-prefix token");
  assert.match(sse.text, /"body":"a1"/);
  assert.doesNotMatch(sse.text, /root-data/);
  const bTail = await rootOk("GET", `${sp("tenant-b/secret")}/records/tail`, { headers: bh(basin) });
  assert.equal(bTail.json.tail.seq_num, 1);

  // Over s2s (the SDK's default transport in Node): append and read sessions, relative names.
  const live = b.stream("live");
  await b.streams.create({ stream: "live" });
  const sess = await live.appendSession();
  const tickets = [];
  for (let i = 0; i < 5; i++) tickets.push(await sess.submit(AppendInput.create([str(`l${i}`)])));
  const acks = await Promise.all(tickets.map((t) => t.ack()));
  assert.deepEqual(acks.map((a) => a.start.seqNum), [0, 1, 2, 3, 4]);
  await sess.close();
  const rs = await live.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 5 } } });
  const got = [];
  for await (const r of rs) got.push(r.body);
  assert.deepEqual(got, ["l0", "l1", "l2", "l3", "l4"]);
  await live.close();
  const liveTail = await rootOk("GET", `${sp("tenant-a/live")}/records/tail`, { headers: bh(basin) });
  assert.equal(liveTail.json.tail.seq_num, 5);

  // Deleting through the prefix deletes the prefixed stream only.
  await b.streams.delete({ stream: "orders" });
  const after = await rootOk("GET", "/v1/streams?prefix=orders", { headers: bh(basin) });
  assert.deepEqual(after.json.streams.map((s) => [s.name, s.deleted_at === null]), [["orders", true]]);
  await orders.close();
});

test("s2s sessions are authorized too: out-of-scope and fence without `fence` are refused", async () => {
  const basin = "s2s-auth-basin-01";
  await createBasin(basin);
  await createStream(basin, "in/s");
  await createStream(basin, "out/s");
  const secret = await issue({ id: "s2s-writer", scope: { basins: { exact: basin }, streams: { prefix: "in/" }, ops: ["append", "read", "check-tail"] } });
  const b = sdkClient(secret).basin(basin);
  const outStream = b.stream("out/s");
  await assert.rejects(
    (async () => {
      const sess = await outStream.appendSession();
      const t = await sess.submit(AppendInput.create([str("x")]));
      await t.ack();
    })(),
    (e) => e.status === 403,
    "append session on an out-of-scope stream",
  );
  await outStream.close();
  const inStream = b.stream("in/s");
  const sess = await inStream.appendSession();
  const ok = await sess.submit(AppendInput.create([str("x")]));
  assert.equal((await ok.ack()).start.seqNum, 0);
  const fence = await sess.submit(AppendInput.create([AppendRecord.fence("tok")]));
  await assert.rejects(fence.ack(), (e) => e.status === 403, "a fence record without the fence op");
  await sess.close().catch(() => {});
  await inStream.close();
  const tail = await rootOk("GET", `${sp("in/s")}/records/tail`, { headers: bh(basin) });
  assert.equal(tail.json.tail.seq_num, 1, "the refused fence was not written");
  const outTail = await rootOk("GET", `${sp("out/s")}/records/tail`, { headers: bh(basin) });
  assert.equal(outTail.json.tail.seq_num, 0);
});

// ---------------------------------------------------------------------------------------------
// Persistence and the root token

/** Every byte of every file under dir except `skip`. */
function dirBytes(dir, skip) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (p === skip) continue;
    if (e.isDirectory()) out.push(...dirBytes(p, skip));
    else if (e.isFile()) out.push(readFileSync(p));
  }
  return out;
}

test("tokens survive a restart (and so do revocations); secrets are never stored", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "weir-tokens-"));
  const env = { WEIR_ROOT_TOKEN: `persist-root-${process.pid}-${Date.now()}` };
  try {
    let w = await startWeir({ dataDir, env });
    const scope = { basins: { prefix: "" }, streams: { prefix: "" }, ops: ["list-basins"] };
    const keep = await issue({ id: "keep", scope, expires_at: "2999-01-01T00:00:00Z" }, { server: w });
    const gone = await issue({ id: "gone", scope }, { server: w });
    await expectStatus(request("GET", "/v1/basins", { token: keep, server: w }), 200, "before restart");
    await expectStatus(request("DELETE", "/v1/access-tokens/gone", { server: w }), 204, "revoke before restart");
    await w.stop();
    for (const buf of dirBytes(dataDir))
      for (const s of [keep, gone]) assert.equal(buf.includes(s), false, "a token secret is stored in the data dir");

    w = await startWeir({ dataDir, env });
    try {
      await expectStatus(request("GET", "/v1/basins", { token: keep, server: w }), 200, "after restart");
      await denied(request("GET", "/v1/access-tokens", { token: keep, server: w }), "still scoped after restart");
      await unauthenticated(request("GET", "/v1/basins", { token: gone, server: w }), "revoked before restart");
      const listed = (await listTokens("", { server: w })).access_tokens;
      assert.deepEqual(listed.map((t) => t.id), ["keep"]);
      assert.equal(Date.parse(listed[0].expires_at), Date.parse("2999-01-01T00:00:00Z"));
      assert.deepEqual(listed[0].scope.ops, ["list-basins"]);
      assert.deepEqual(listed[0].scope.basins, { prefix: "" });
      await expectStatus(request("POST", "/v1/access-tokens", { server: w, body: { id: "keep", scope } }), 409, "the id is still taken", "resource_already_exists");
    } finally {
      await w.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("generated root token: <data-dir>/root_token, mode 0600, printed once, reused on restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "weir-root-"));
  const file = join(dataDir, "root_token");
  try {
    let w = await startWeir({ dataDir, env: { WEIR_ROOT_TOKEN: "" } });
    let secret;
    try {
      const st = statSync(file);
      assert.equal(st.mode & 0o777, 0o600, `root_token mode ${(st.mode & 0o777).toString(8)}`);
      secret = readFileSync(file, "utf8").trim();
      assert.match(secret, /^[A-Za-z0-9_-]{43,}$/, "a URL-safe secret of at least 32 random bytes");
      const { stdout, stderr } = w.output();
      assert.equal(stdout.split(secret).length - 1, 1, "stdout shows the new root token exactly once");
      assert.equal(stderr.includes(secret), false, "the log does not show the root token");
      await expectStatus(request("GET", "/v1/basins", { token: secret, server: w }), 200, "the generated root token");
      await expectStatus(request("POST", "/v1/basins", { token: secret, server: w, body: { basin: "root-gen-basin" } }), 201, "root can create");
      await unauthenticated(request("GET", "/v1/basins", { token: null, server: w }), "no token");
    } finally {
      await w.stop();
    }
    w = await startWeir({ dataDir, env: { WEIR_ROOT_TOKEN: "" } });
    try {
      assert.equal(readFileSync(file, "utf8").trim(), secret, "the file is reused, not regenerated");
      const { stdout, stderr } = w.output();
      assert.equal(stdout.includes(secret) || stderr.includes(secret), false, "printed only when generated");
      const res = await expectStatus(request("GET", "/v1/basins", { token: secret, server: w }), 200, "after restart");
      // The realtime layer's shared basin (WEIR_GLOBAL_BASIN) exists from the first start.
      assert.deepEqual(res.json.basins.map((b) => b.name).filter((n) => n !== "weir-shared"), ["root-gen-basin"]);
    } finally {
      await w.stop();
    }
    // WEIR_ROOT_TOKEN, when set, wins over the file.
    w = await startWeir({ dataDir, env: { WEIR_ROOT_TOKEN: "explicit-root-token-value" } });
    try {
      await expectStatus(request("GET", "/v1/basins", { token: "explicit-root-token-value", server: w }), 200, "the env root token");
      await unauthenticated(request("GET", "/v1/basins", { token: secret, server: w }), "the file's token is not the root now");
    } finally {
      await w.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// --auth none

test("--auth none (flag or WEIR_AUTH=none) accepts any token and none, and says so", async () => {
  for (const opts of [{ args: ["--auth", "none"] }, { env: { WEIR_AUTH: "none" } }]) {
    const w = await startWeir(opts);
    try {
      const what = JSON.stringify(opts);
      const basin = "none-basin-01";
      await expectStatus(request("POST", "/v1/basins", { token: null, server: w, body: { basin } }), 201, `${what}: no token`);
      await expectStatus(request("POST", "/v1/streams", { token: "anything", server: w, headers: bh(basin), body: { stream: "s" } }), 201, `${what}: any token`);
      await expectStatus(request("POST", `${sp("s")}/records`, { authorization: "Basic Zm9vOmJhcg==", server: w, headers: bh(basin), body: { records: [{ body: "x" }] } }), 200, `${what}: another scheme`);
      const res = await expectStatus(request("GET", `${sp("s")}/records?seq_num=0`, { token: null, server: w, headers: bh(basin) }), 200, `${what}: read`);
      assert.deepEqual(res.json.records.map((r) => r.body), ["x"]);
      await expectStatus(request("GET", "/v1/basins", { token: w.token, server: w }), 200, `${what}: the root token too`);
      // The SDK with an arbitrary token.
      const s2 = sdkClient("whatever", w);
      assert.deepEqual((await s2.basins.list()).basins.map((b) => b.name).filter((n) => n !== "weir-shared"), [basin]);
      const { stdout, stderr } = w.output();
      assert.match(stdout + stderr, /auth(entication)?[^\n]*(off|none|disabled)/i, `${what}: the log says authentication is off`);
    } finally {
      await w.stop();
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Bad inputs for the token routes

test("token routes: bad inputs get the documented status and code", async () => {
  const ok = { ops: ["read"] };
  const cases = [
    // shapes: 400 bad_json
    { name: "not JSON", body: "{", status: 400, code: "bad_json" },
    { name: "empty body", body: "", status: 400, code: "bad_json" },
    { name: "an array", body: [], status: 400, code: "bad_json" },
    { name: "no content-type", body: JSON.stringify({ id: "bi-ct", scope: ok }), headers: { "content-type": null }, status: 400, code: "bad_json" },
    { name: "missing id", body: { scope: ok }, status: 400, code: "bad_json" },
    { name: "id a number", body: { id: 7, scope: ok }, status: 400, code: "bad_json" },
    { name: "id of 0 bytes", body: { id: "", scope: ok }, status: 400, code: "bad_json" },
    { name: "id of 97 bytes", body: { id: "i".repeat(97), scope: ok }, status: 400, code: "bad_json" },
    { name: "missing scope", body: { id: "bi-noscope" }, status: 400, code: "bad_json" },
    { name: "scope a string", body: { id: "bi-scope-str", scope: "all" }, status: 400, code: "bad_json" },
    { name: "ops not an array", body: { id: "bi-ops-str", scope: { ops: "read" } }, status: 400, code: "bad_json" },
    { name: "ops with a number", body: { id: "bi-ops-num", scope: { ops: [1] } }, status: 400, code: "bad_json" },
    { name: "resource set with both exact and prefix", body: { id: "bi-rs-both", scope: { ...ok, basins: { exact: "a", prefix: "b" } } }, status: 400, code: "bad_json" },
    { name: "resource set with neither", body: { id: "bi-rs-none", scope: { ...ok, streams: {} } }, status: 400, code: "bad_json" },
    { name: "resource set a string", body: { id: "bi-rs-str", scope: { ...ok, access_tokens: "x" } }, status: 400, code: "bad_json" },
    { name: "exact not a string", body: { id: "bi-rs-num", scope: { ...ok, basins: { exact: 5 } } }, status: 400, code: "bad_json" },
    { name: "op_groups not an object", body: { id: "bi-grp", scope: { op_groups: true } }, status: 400, code: "bad_json" },
    { name: "op_groups flag not a bool", body: { id: "bi-grp-flag", scope: { op_groups: { stream: { read: "yes" } } } }, status: 400, code: "bad_json" },
    { name: "auto_prefix_streams not a bool", body: { id: "bi-ap-str", auto_prefix_streams: "yes", scope: { ...ok, streams: { prefix: "a/" } } }, status: 400, code: "bad_json" },
    // expires_at
    { name: "expires_at not RFC 3339", body: { id: "bi-exp-word", expires_at: "tomorrow", scope: ok }, status: 400, code: "bad_json" },
    { name: "expires_at a number", body: { id: "bi-exp-num", expires_at: 4102444800, scope: ok }, status: 400, code: "bad_json" },
    { name: "expires_at month 13", body: { id: "bi-exp-m13", expires_at: "2099-13-01T00:00:00Z", scope: ok }, status: 400, code: "bad_json" },
    { name: "expires_at without zone", body: { id: "bi-exp-nz", expires_at: "2099-01-01T00:00:00", scope: ok }, status: 400, code: "bad_json" },
    { name: "expires_at date only", body: { id: "bi-exp-date", expires_at: "2099-01-01", scope: ok }, status: 400, code: "bad_json" },
    { name: "expires_at in the past", body: { id: "bi-exp-past", expires_at: "2000-01-01T00:00:00Z", scope: ok }, status: 422, code: "invalid" },
    // semantics: 422 invalid
    { name: "unknown op", body: { id: "bi-op", scope: { ops: ["read", "frobnicate"] } }, status: 422, code: "invalid" },
    { name: "op in snake_case", body: { id: "bi-op-snake", scope: { ops: ["check_tail"] } }, status: 422, code: "invalid" },
    { name: "empty permission set", body: { id: "bi-empty", scope: { basins: { prefix: "" }, ops: [] } }, status: 422, code: "invalid" },
    { name: "only false op_groups", body: { id: "bi-false", scope: { op_groups: { account: { read: false, write: false }, stream: { read: false } } } }, status: 422, code: "invalid" },
    { name: "auto_prefix with an exact stream scope", body: { id: "bi-ap-exact", auto_prefix_streams: true, scope: { ...ok, streams: { exact: "a" } } }, status: 422, code: "invalid" },
    { name: "auto_prefix without a stream scope", body: { id: "bi-ap-none", auto_prefix_streams: true, scope: ok }, status: 422, code: "invalid" },
  ];
  for (const c of cases) {
    const res = await request("POST", "/v1/access-tokens", { body: c.body, headers: c.headers });
    assert.equal(res.status, c.status, `${c.name}: ${res.text}`);
    assert.equal(res.json?.code, c.code, `${c.name}: ${res.text}`);
    assert.match(res.headers["content-type"] ?? "", /^application\/json/, `${c.name}: JSON error body`);
  }
  // None of them created a token.
  assert.deepEqual((await listTokens("?prefix=bi-")).access_tokens, []);
  assert.deepEqual((await listTokens(`?prefix=${"i".repeat(90)}`)).access_tokens, []);

  // Boundaries that are fine: 1 and 96 bytes, unknown fields ignored, prefix auto-prefix, an
  // explicit offset in expires_at.
  await issue({ id: "b", scope: ok });
  await issue({ id: "B".repeat(96), scope: ok, unknown_field: 1 });
  await issue({ id: "bo-ap", auto_prefix_streams: true, scope: { ...ok, streams: { prefix: "a/" } } });
  await issue({ id: "bo-offset", expires_at: "2099-01-01T02:00:00+02:00", scope: ok });
  const off = (await listTokens("?prefix=bo-offset")).access_tokens[0];
  assert.equal(Date.parse(off.expires_at), Date.parse("2099-01-01T00:00:00Z"), "the offset is applied");
  await expectStatus(request("POST", "/v1/access-tokens", { body: { id: "b", scope: ok } }), 409, "duplicate id", "resource_already_exists");

  // Ids are any 1-96 bytes: a `/` and non-ASCII work, percent-encoded in the DELETE path.
  const odd = "bo/slash é";
  await issue({ id: odd, scope: ok });
  assert.deepEqual((await listTokens(`?prefix=${enc("bo/")}`)).access_tokens.map((t) => t.id), [odd]);
  await expectStatus(request("DELETE", `/v1/access-tokens/${enc(odd)}`), 204, "revoke a percent-encoded id");
  assert.deepEqual((await listTokens(`?prefix=${enc("bo/")}`)).access_tokens, []);

  // DELETE and GET.
  await expectStatus(request("DELETE", "/v1/access-tokens/never-issued"), 404, "revoke unknown", "access_token_not_found");
  await expectStatus(request("DELETE", `/v1/access-tokens/${"d".repeat(97)}`), 400, "revoke id of 97 bytes", "bad_path");
  await expectStatus(request("GET", "/v1/access-tokens?limit=abc"), 400, "list limit", "bad_query");
  await expectStatus(request("GET", "/v1/access-tokens?prefix=%zz"), 400, "list bad percent-encoding", "bad_query");
});

test("token list: prefix, start_after (exclusive), limit, has_more, AccessTokenInfo shape", async () => {
  const scope = { basins: { exact: "some-basin-1" }, streams: { prefix: "s/" }, access_tokens: { exact: "x" }, op_groups: { stream: { read: true } }, ops: ["append"] };
  for (const id of ["pg-c", "pg-a", "pg-b"]) await issue({ id, scope, expires_at: "2099-06-01T00:00:00Z" });
  const page1 = await listTokens("?prefix=pg-&limit=2");
  assert.deepEqual(page1.access_tokens.map((t) => t.id), ["pg-a", "pg-b"]);
  assert.equal(page1.has_more, true);
  const page2 = await listTokens("?prefix=pg-&limit=2&start_after=pg-b");
  assert.deepEqual(page2.access_tokens.map((t) => t.id), ["pg-c"]);
  assert.equal(page2.has_more, false);
  const info = page1.access_tokens[0];
  assert.deepEqual(Object.keys(info).sort(), ["auto_prefix_streams", "expires_at", "id", "scope"]);
  assert.equal(Date.parse(info.expires_at), Date.parse("2099-06-01T00:00:00Z"));
  assert.deepEqual(info.scope.basins, { exact: "some-basin-1" });
  assert.deepEqual(info.scope.streams, { prefix: "s/" });
  assert.deepEqual(info.scope.access_tokens, { exact: "x" });
  assert.deepEqual(info.scope.ops, ["append"]);
  assert.equal(info.scope.op_groups.stream.read, true);
  assert.equal(info.scope.op_groups.stream.write, false);
  // A token without an expiry (issued by root, which has none) lists expires_at null.
  await issue({ id: "pg-noexp", scope });
  assert.equal((await listTokens("?prefix=pg-noexp")).access_tokens[0].expires_at, null);
});

test("no secret appears in the server's output (root token from the environment, issued tokens)", () => {
  assert.ok(issued.size > 50, "the tests above issued tokens");
  const { stdout, stderr } = weir.output();
  for (const secret of [weir.token, ...issued]) {
    assert.equal(stdout.includes(secret), false, "a secret in stdout");
    assert.equal(stderr.includes(secret), false, "a secret in the log");
  }
});
