// cli.test.mjs — the `weir` command line client (issue 19) against real servers.
//
// - Every subcommand's happy path, with --json output parsed and human output checked.
// - The /v1 commands run twice: with the root token on one server, and on a second server with
//   a token issued (by the CLI, with the root token) for one basin prefix only; out-of-scope
//   commands then exit 1 with permission_denied.
// - A table of bad arguments (exit 2, one line naming the argument) and server errors (exit 1,
//   the server's code and message).
// - `tail -f` receives live appends and resumes after the server restarts on the same data
//   directory and port: no record missed, none repeated.
// - `append` of a 100 MB file on a pseudo-terminal (`script` from util-linux) shows a progress
//   line with records/s and bytes/s; without a terminal it does not.
// - Configuration precedence (flag > environment > config file), completion scripts, colours.
//
// Every CLI process gets a clean environment (no S2_*/WEIR_* from the caller) and its own
// XDG_CONFIG_HOME. Under ASan a leaking CLI exits non-zero, so exit-code checks catch leaks too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync, openSync, writeSync, closeSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWeir, WEIR_BIN } from "./harness.mjs";

let weir; // server A: root token, per-organization basins on
let home; // XDG_CONFIG_HOME of the CLI runs
const tmp = mkdtempSync(join(tmpdir(), "weir-cli-"));

before(async () => {
  weir = await startWeir({ env: { WEIR_PER_ORG_BASINS: "true" } });
  home = join(tmp, "config");
});
after(async () => {
  await weir.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The caller's environment without weir's and S2's settings. */
function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(S2_|WEIR_)/.test(k) && k !== "NO_COLOR") env[k] = v;
  return env;
}

/**
 * Runs the CLI. `server`/`token` set S2_ACCOUNT_ENDPOINT and S2_ACCESS_TOKEN (null: unset);
 * `env` adds (or, with undefined values, removes) variables; `input` is stdin.
 */
function cli(args, { server = weir, token, env = {}, input } = {}) {
  const e = { ...baseEnv(), XDG_CONFIG_HOME: home };
  if (server) e.S2_ACCOUNT_ENDPOINT = server.url;
  const tok = token === undefined ? server?.token : token;
  if (tok) e.S2_ACCESS_TOKEN = tok;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return new Promise((resolve) => {
    const proc = spawn(WEIR_BIN, args, { env: e });
    const out = [];
    let stderr = "";
    proc.stdout.on("data", (d) => out.push(d));
    proc.stderr.on("data", (d) => (stderr += d));
    proc.on("exit", (code) => {
      const buf = Buffer.concat(out);
      resolve({ code, stdout: buf.toString("utf8"), raw: buf, stderr });
    });
    proc.stdin.on("error", () => {});
    proc.stdin.end(input ?? "");
  });
}

/** Runs with --json, asserts exit 0 and returns the parsed stdout. */
async function json(args, opts) {
  const r = await cli([...args, "--json"], opts);
  assert.equal(r.code, 0, `weir ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Asserts exit 0 and returns stdout. */
async function ok(args, opts) {
  const r = await cli(args, opts);
  assert.equal(r.code, 0, `weir ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function waitFor(what, cond, ms = 30000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A long-running CLI process (tail -f, sessions tail): its output so far, and stop(). */
function spawnCli(args, { server = weir, token, env = {} } = {}) {
  const e = { ...baseEnv(), XDG_CONFIG_HOME: home, S2_ACCOUNT_ENDPOINT: server.url, S2_ACCESS_TOKEN: token ?? server.token, ...env };
  const proc = spawn(WEIR_BIN, args, { env: e, stdio: ["ignore", "pipe", "pipe"] });
  const p = { stdout: "", stderr: "", proc };
  proc.stdout.on("data", (d) => (p.stdout += d));
  proc.stderr.on("data", (d) => (p.stderr += d));
  const exited = new Promise((r) => proc.on("exit", (code, signal) => r({ code, signal })));
  p.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    return exited;
  };
  p.exited = exited;
  return p;
}

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const lines = (s) => s.split("\n").filter((l) => l !== "");
const jsonLines = (s) => lines(s).map((l) => JSON.parse(l));

// ---------------------------------------------------------------------------------------------
// The /v1 commands, as one scenario run with a given server and token.

async function v1Suite(server, token, basin) {
  const o = { server, token };
  const B = `s2://${basin}`;
  const S = `${B}/orders`;

  // Basins.
  const info = await json(["create-basin", B, "--create-stream-on-append"], o);
  assert.equal(info.name, basin);
  assert.match(await ok(["ls"], o), new RegExp(`^NAME +STATE +CREATED\\n(.*\\n)*${basin} +active `, "m"));
  assert.ok((await json(["ls"], o)).basins.some((b) => b.name === basin));
  assert.ok((await json(["ls", "--prefix", basin.slice(0, 5)], o)).basins.every((b) => b.name.startsWith(basin.slice(0, 5))));
  assert.equal((await json(["get-basin-config", B], o)).create_stream_on_append, true);
  assert.match(await ok(["get-basin-config", B], o), /^create_stream_on_append +true$/m);
  const bcfg = await json(["reconfigure-basin", B, "--retention-policy", "1d", "--create-stream-on-read=false"], o);
  assert.deepEqual(bcfg.default_stream_config.retention_policy, { age: 86400 });

  // Streams.
  const sinfo = await json(["create-stream", S, "--retention-policy", "infinite", "--storage-class", "standard",
    "--timestamping-mode", "arrival", "--delete-on-empty-min-age", "1h"], o);
  assert.equal(sinfo.name, "orders");
  const scfg = await json(["get-stream-config", S], o);
  assert.deepEqual(scfg.retention_policy, { infinite: {} });
  assert.equal(scfg.storage_class, "standard");
  assert.equal(scfg.timestamping.mode, "arrival");
  assert.equal(scfg.delete_on_empty.min_age_secs, 3600);
  assert.match(await ok(["get-stream-config", S], o), /^delete_on_empty\.min_age_secs +1h$/m);
  assert.deepEqual((await json(["reconfigure-stream", S, "--retention-policy", "2d"], o)).retention_policy, { age: 172800 });
  assert.match(await ok(["get-stream-config", S], o), /^retention_policy\.age +2d$/m);
  assert.deepEqual((await json(["ls", B], o)).streams.map((s) => s.name), ["orders"]);
  assert.equal((await json(["ls", `${B}/ord`], o)).streams.length, 1);
  assert.equal((await json(["ls", `${B}/zzz`], o)).streams.length, 0);
  assert.match(await ok(["ls", B], o), new RegExp(`^s2://${basin}/orders +active `, "m"));

  // Append: text lines, JSON records, conditions.
  const a1 = await json(["append", S], { ...o, input: "a\nb\nc\n" });
  assert.deepEqual({ records: a1.records, start: a1.start.seq_num, end: a1.end.seq_num }, { records: 3, start: 0, end: 3 });
  assert.equal(a1.bytes, 27);
  assert.match(await ok(["append", S, "--format", "json"], { ...o, input: '{"body":"d","headers":[["k","v"]]}\n' }),
    new RegExp(`^appended 1 record \\(13 B\\) to s2://${basin}/orders: seq_num 3 to 3$`, "m"));
  await ok(["append", S, "--match-seq-num", "4"], { ...o, input: "e" }); // no final newline
  const mm = await cli(["append", S, "--match-seq-num", "0"], { ...o, input: "x\n" });
  assert.equal(mm.code, 1);
  assert.match(mm.stderr, /seq_num_mismatch \(412\): the stream's next seq_num is 5/);

  // Read: formats, start positions, limits, the end of the stream.
  const recs = jsonLines(await ok(["read", S, "--json"], o));
  assert.deepEqual(recs.map((r) => [r.seq_num, r.body]), [[0, "a"], [1, "b"], [2, "c"], [3, "d"], [4, "e"]]);
  assert.deepEqual(recs[3].headers, [["k", "v"]]);
  assert.equal(await ok(["read", S], o), "a\nb\nc\nd\ne\n");
  assert.equal(await ok(["read", S, "--format", "raw"], o), "abcde");
  assert.equal(jsonLines(await ok(["read", S, "--format", "json"], o)).length, 5);
  assert.equal(await ok(["read", S, "--seq-num", "1", "--count", "2"], o), "b\nc\n");
  assert.equal(await ok(["read", S, "--tail-offset", "2"], o), "d\ne\n");
  assert.equal(await ok(["read", S, "--bytes", "18"], o), "a\nb\n");
  assert.equal(await ok(["read", S, "--timestamp", "0"], o), "a\nb\nc\nd\ne\n");
  assert.equal(await ok(["read", S, "--until", "1"], o), "");
  assert.equal(await ok(["read", S, "--seq-num", "5"], o), ""); // at the tail: nothing
  const past = await cli(["read", S, "--seq-num", "100"], o);
  assert.equal(past.code, 1);
  assert.match(past.stderr, /range_not_satisfiable \(416\): the start is past the tail \(seq_num 5\)/);
  assert.equal(await ok(["read", S, "--seq-num", "100", "--clamp"], o), ""); // clamped to the tail
  assert.deepEqual((await json(["check-tail", S], o)).tail.seq_num, 5);
  assert.match(await ok(["check-tail", S], o), /^seq_num +5\ntimestamp +\d+ \(\d{4}-\d\d-\d\dT/);
  assert.equal(await ok(["tail", S, "-n", "2"], o), "d\ne\n");
  assert.deepEqual((await json(["tail", S, "-n", "1"], o)).body, "e");

  // Fencing and trimming: command records.
  const fence = await json(["fence", S, "tok1"], o);
  assert.equal(fence.start.seq_num, 5);
  const wrong = await cli(["append", S, "--fencing-token", "nope"], { ...o, input: "f\n" });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /fencing_token_mismatch \(412\): the stream's fencing token is "tok1"/);
  await ok(["append", S, "--fencing-token", "tok1"], { ...o, input: "f\n" });
  assert.match(await ok(["trim", S, "2", "--fencing-token", "tok1"], o), /trimming .* before seq_num 2/);
  const cmds = jsonLines((await cli(["read", S, "--format", "json"], o)).stdout).filter((r) => r.headers.length && r.headers[0][0] === "");
  assert.deepEqual(cmds.map((r) => r.headers[0][1]), ["fence", "trim"]);
  assert.equal(await ok(["read", S, "--tail-offset", "3"], o), "f\n"); // text skips command records
  await ok(["fence", S, "", "--fencing-token", "tok1"], o); // clears it

  // Many records: batches of 1000 on the way in, pages of 1000 on the way out, and a stream
  // created by the append itself (create_stream_on_append).
  const many = Array.from({ length: 2500 }, (_, i) => `line-${i}`).join("\n") + "\n";
  const am = await json(["append", `${B}/many`, "--batch-records", "1000"], { ...o, input: many });
  assert.equal(am.records, 2500);
  assert.equal(am.end.seq_num, 2500);
  assert.equal(await ok(["read", `${B}/many`], o), many);
  assert.equal(lines(await ok(["read", `${B}/many`, "--seq-num", "999", "--count", "1002"], o)).length, 1002);
  // Empty lines are empty records, and come back as empty lines.
  await ok(["append", `${B}/empty`], { ...o, input: "a\n\n\nb\n" });
  assert.equal(await ok(["read", `${B}/empty`], o), "a\n\n\nb\n");
  assert.deepEqual(jsonLines(await ok(["read", `${B}/empty`, "--json"], o)).map((r) => r.body), ["a", "", "", "b"]);
  // Binary bodies survive raw output exactly.
  const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x41]);
  await ok(["append", `${B}/bin`], { ...o, input: Buffer.concat([bin, Buffer.from("\n")]) });
  assert.deepEqual((await cli(["read", `${B}/bin`, "--format", "raw"], o)).raw, bin);
  assert.equal((await json(["read", `${B}/bin`], o)).body, "\u0000\u0001\u0002\ufffd\ufffd\ufffdA");

  // Deletion.
  assert.deepEqual(await json(["delete-stream", S], o), { basin, stream: "orders", state: "deleting" });
  assert.equal((await json(["delete-basin", B], o)).state, "deleting");
}

test("the /v1 commands with the root token", async () => {
  await v1Suite(weir, weir.token, "cli-root-basin-1");
});

test("the /v1 commands with a token scoped to a basin prefix, on a second server", async () => {
  const b = await startWeir();
  try {
    // Issued by the CLI with the root token of server B.
    const issued = await json(["issue-access-token", "--id", "scoped-cli", "--basins", "prefix:scoped-",
      "--streams", "prefix:", "--access-tokens", "prefix:scoped-", "--op-groups", "account=rw,basin=rw,stream=rw",
      "--expires-in", "1d"], { server: b });
    assert.equal(issued.id, "scoped-cli");
    const scoped = issued.access_token;
    await v1Suite(b, scoped, "scoped-basin-01");
    // Out of scope: exit 1 with the server's permission_denied.
    for (const args of [["create-basin", "s2://other-basin-01"], ["read", "s2://weir-shared/x"],
      ["get-basin-config", "s2://weir-shared"], ["issue-access-token", "--id", "other-token", "--basins", "prefix:"]]) {
      const r = await cli(args, { server: b, token: scoped });
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /^weir: permission_denied \(403\): /, args.join(" "));
    }
    // Lists show only what the token reaches.
    assert.deepEqual((await json(["ls"], { server: b, token: scoped })).basins.filter((x) => !x.name.startsWith("scoped-")), []);
  } finally {
    await b.stop();
  }
});

// ---------------------------------------------------------------------------------------------

test("access tokens: issue, list, revoke", async () => {
  const t = await json(["issue-access-token", "--id", "cli-tok-1", "--basins", "prefix:cli-", "--streams", "exact:events",
    "--op-groups", "stream=rw", "--ops", "list-basins,create-basin", "--expires-at", "2099-01-01T00:00:00Z"]);
  assert.equal(t.id, "cli-tok-1");
  assert.match(t.access_token, /^[A-Za-z0-9_-]{20,}$/);
  const bare = await ok(["issue-access-token", "--basins", "cli-", "--ops", "list-basins"]);
  assert.match(bare, /^[A-Za-z0-9_-]{20,}\n$/); // only the token, for TOKEN=$(weir issue-access-token ...)
  const list = (await json(["list-access-tokens"])).access_tokens;
  const mine = list.find((x) => x.id === "cli-tok-1");
  assert.deepEqual(mine.scope.basins, { prefix: "cli-" });
  assert.deepEqual(mine.scope.streams, { exact: "events" });
  assert.match(mine.expires_at, /^2099-01-01T00:00:00/);
  assert.ok(list.some((x) => /^cli-[0-9a-f]{16}$/.test(x.id)), "a generated id");
  assert.match(await ok(["list-access-tokens", "--prefix", "cli-tok"]), /^cli-tok-1 +2099-01-01\S* +prefix:cli- +exact:events +stream=rw,list-basins,create-basin$/m);
  assert.equal((await json(["list-access-tokens", "--limit", "1"])).access_tokens.length, 1);
  assert.deepEqual(await json(["revoke-access-token", "cli-tok-1"]), { revoked: "cli-tok-1" });
  assert.ok(!(await json(["list-access-tokens"])).access_tokens.some((x) => x.id === "cli-tok-1"));
  const again = await cli(["revoke-access-token", "cli-tok-1"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /access_token_not_found \(404\)/);
  const revoked = await cli(["ls"], { token: t.access_token });
  assert.equal(revoked.code, 1);
  assert.match(revoked.stderr, /authn \(401\)/);
});

test("bad arguments exit 2 and server errors exit 1, each with one line naming the problem", async () => {
  await ok(["create-basin", "s2://cli-errors-basin"]);
  await ok(["create-stream", "s2://cli-errors-basin/s"]);
  const U = "s2://cli-errors-basin/s";
  const rows = [
    [[], 2, /^usage: weir COMMAND/m],
    [["frobnicate"], 2, /^weir: unknown command "frobnicate" \(see weir help\)$/],
    [["orgs"], 2, /^usage: weir orgs SUBCOMMAND/],
    [["orgs", "frob"], 2, /unknown command "orgs frob"/],
    [["read"], 2, /^weir read: missing argument s2:\/\/BASIN\/STREAM$/],
    [["read", "s2://Bad_Basin/x"], 2, /^weir read: "s2:\/\/Bad_Basin\/x": invalid basin name "Bad_Basin"/],
    [["read", "s2://cli-errors-basin"], 2, /missing stream name/],
    [["read", "http://cli-errors-basin/s"], 2, /expected s2:\/\/BASIN\/STREAM/],
    [["read", U, "--count", "x"], 2, /^weir read: --count: must be a non-negative integer, got "x"$/],
    [["read", U, "--count"], 2, /--count: missing value/],
    [["read", U, "--count", "-5"], 2, /--count: missing value/],
    [["read", U, "--seq-num", "1", "--tail-offset", "1"], 2, /at most one of --seq-num, --timestamp and --tail-offset/],
    [["read", U, "--format", "xml"], 2, /--format: must be one of text\|json\|raw, got "xml"/],
    [["read", U, "--until", "5", "--timestamp", "9"], 2, /--until must be later than --timestamp/],
    [["read", U, "--wat"], 2, /^weir read: unknown option --wat$/],
    [["read", U, "extra"], 2, /unexpected argument "extra"/],
    [["append", U, "--batch-records", "0"], 2, /--batch-records: must be between 1 and 1000/],
    [["append", U, "--batch-bytes", "2MiB"], 2, /--batch-bytes: must be between 16 and 1MiB/],
    [["append", U, "--file", "/nonexistent/x"], 2, /^weir append: --file \/nonexistent\/x: No such file or directory$/],
    [["create-stream", U, "--retention-policy", "0s"], 2, /--retention-policy: must be "infinite" or a duration > 0/],
    [["create-stream", U, "--timestamping-mode", "now"], 2, /--timestamping-mode: must be one of/],
    [["reconfigure-stream", U], 2, /nothing to change/],
    [["reconfigure-basin", "s2://cli-errors-basin"], 2, /nothing to change/],
    [["trim", U, "abc"], 2, /SEQ_NUM: must be a non-negative integer, got "abc"/],
    [["fence", U, "x".repeat(37)], 2, /NEW_TOKEN: at most 36 bytes/],
    [["issue-access-token", "--op-groups", "everything=rw"], 2, /--op-groups: "everything=rw" is not GROUP=r\|w\|rw/],
    [["issue-access-token", "--expires-in", "1d", "--expires-at", "2099-01-01T00:00:00Z"], 2, /--expires-at or --expires-in, not both/],
    [["issue-access-token", "--expires-at", "soon"], 2, /--expires-at: must be milliseconds since the epoch or an RFC 3339/],
    [["config", "set", "colour", "red"], 2, /unknown setting "colour" \(one of access_token, /],
    [["completion", "fish"], 2, /"fish": the shell must be bash or zsh/],
    [["ls", "--account-endpoint", "ftp://x"], 2, /endpoint ftp:\/\/x: only http:\/\/ and https:\/\//],
    [["ls"], 2, /no access token: use --access-token, S2_ACCESS_TOKEN/, { token: null }],
    [["sessions", "show", "x"], 2, /no environment key: use --api-key, WEIR_API_KEY/],
    [["ls", "--access-token", "wrong"], 1, /^weir: authn \(401\): /],
    [["get-basin-config", "s2://missing-basin-zz"], 1, /^weir: basin_not_found \(404\): /],
    [["read", "s2://cli-errors-basin/missing"], 1, /^weir: stream_not_found \(404\): /],
    [["create-basin", "s2://cli-errors-basin"], 1, /^weir: resource_already_exists \(409\): /],
    [["create-stream", U], 1, /^weir: resource_already_exists \(409\): /],
    [["orgs", "show", "nope"], 1, /^weir: HTTP 404: Organization not found$/],
    [["ls", "--account-endpoint", "http://127.0.0.1:1"], 1, /^weir: GET http:\/\/127\.0\.0\.1:1\/v1\/basins: .*(connect|Connection refused)/i],
  ];
  for (const [args, code, re, opts] of rows) {
    const r = await cli(args, opts);
    assert.equal(r.code, code, `weir ${args.join(" ")}: ${r.stderr}`);
    if (code === 2 && (args.length === 0 || args[0] === "orgs" && args.length === 1)) {
      assert.match(r.stderr, re, args.join(" "));
      continue;
    }
    assert.equal(lines(r.stderr).length, 1, `one line for weir ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.trim(), re, `weir ${args.join(" ")}`);
    assert.equal(r.stdout, "", `nothing on stdout for weir ${args.join(" ")}`);
  }
  // With --json, a server error is one JSON object on stderr.
  const j = await cli(["read", "s2://cli-errors-basin/missing", "--json"]);
  assert.equal(j.code, 1);
  const e = JSON.parse(j.stderr);
  assert.equal(e.status, 404);
  assert.equal(e.code, "stream_not_found");
  assert.equal(typeof e.message, "string");
  assert.equal(e.body.code, "stream_not_found");
  const rt = JSON.parse((await cli(["orgs", "show", "nope", "--json"])).stderr);
  assert.deepEqual(rt, { status: 404, code: null, message: "Organization not found", body: { error: "Organization not found" } });
});

test("help, version and completion come from the command table", async () => {
  const help = await ok(["help"]);
  for (const c of ["ls", "create-basin", "append", "read", "tail", "check-tail", "trim", "fence", "issue-access-token",
    "orgs create", "orgs usage", "projects create", "envs rotate-key", "sessions tail", "config set", "completion", "serve"])
    assert.match(help, new RegExp(`^  ${c} `, "m"), c);
  assert.match(help, /Exit codes: 0 success, 1 .*\n2 usage error/);
  assert.equal(await ok(["--help"]), help);
  const readHelp = await ok(["help", "read"]);
  assert.match(readHelp, /^usage: weir read s2:\/\/BASIN\/STREAM \[OPTIONS\]/);
  assert.match(readHelp, /-s, --seq-num N/);
  assert.equal(await ok(["read", "--help"]), readHelp);
  assert.equal(await ok(["read", "-h", "--whatever"]), readHelp);
  assert.match(await ok(["help", "orgs"]), /orgs create SLUG/);
  assert.match(await ok(["help", "orgs", "create"]), /--title TITLE/);
  assert.match(await ok(["version"]), /^weir \d+\.\d+\.\d+\n$/);
  assert.match((await json(["version"])).version, /^\d+\.\d+\.\d+$/);
  assert.match(await ok(["--version"]), /^weir /);
  // bash: the generated function really completes.
  const script = join(tmp, "weir.bash");
  writeFileSync(script, await ok(["completion", "bash"]));
  const complete = (words) => execFileSync("bash", ["-c",
    `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _weir; echo "\${COMPREPLY[*]}"`]).toString().trim();
  assert.equal(complete(["weir", "orgs", "cr"]), "create");
  assert.match(complete(["weir", "crea"]), /^create-basin create-stream$/);
  assert.equal(complete(["weir", "read", "s2://x", "--form"]), "--format");
  assert.equal(complete(["weir", "read", "--count", "5", "--format", ""]), "text json raw");
  assert.equal(complete(["weir", "completion", ""]), "bash zsh");
  assert.equal(complete(["weir", "config", "get", "acc"]), "access_token account_endpoint");
  assert.equal(complete(["weir", "--json", "sessions", "tail", "x", "--io", ""]), "out in");
  const zsh = await ok(["completion", "zsh"]);
  assert.match(zsh, /^#compdef weir/);
  try {
    execFileSync("zsh", ["-n"], { input: zsh });
  } catch (e) {
    if (e.code !== "ENOENT") throw e; // zsh not installed: the syntax check is skipped
  }
  execFileSync("bash", ["-n", script]);
});

test("settings: flags over environment over the config file", async () => {
  const cfgHome = join(tmp, "precedence");
  const env = { XDG_CONFIG_HOME: cfgHome };
  const none = { server: null, token: null, env };
  assert.equal((await cli(["config", "get", "access_token"], none)).code, 1);
  await ok(["config", "set", "account_endpoint", weir.url], none);
  await ok(["config", "set", "access_token", weir.token], none);
  const file = join(cfgHome, "weir", "config.toml");
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(readFileSync(file, "utf8"), /^access_token = "e2e-root-/m);
  assert.equal(await ok(["config", "get", "access_token"], none), `${weir.token}\n`);
  assert.deepEqual(await json(["config", "list"], none), { account_endpoint: weir.url, access_token: weir.token });
  assert.match(await ok(["config", "list"], none), /^access_token = e2e-…$/m); // secrets masked
  // The file alone is enough.
  assert.ok((await json(["ls"], none)).basins.length > 0);
  let eff = await json(["config", "list", "--effective"], none);
  assert.deepEqual(eff.access_token, { value: weir.token, source: "file" });
  assert.deepEqual(eff.basin_endpoint, { value: null, source: null });
  // The environment beats the file; a flag beats both.
  const bad = { ...none, env: { ...env, S2_ACCESS_TOKEN: "from-env" } };
  assert.equal((await cli(["ls"], bad)).code, 1);
  eff = await json(["config", "list", "--effective"], bad);
  assert.deepEqual(eff.access_token, { value: "from-env", source: "env" });
  await ok(["ls", "--access-token", weir.token], bad);
  eff = await json(["config", "list", "--effective", "--access-token", "from-flag"], bad);
  assert.deepEqual(eff.access_token, { value: "from-flag", source: "flag" });
  // An empty variable counts as unset.
  await ok(["ls"], { ...none, env: { ...env, S2_ACCESS_TOKEN: "" } });
  await ok(["config", "unset", "access_token"], none);
  await ok(["config", "unset", "access_token"], none); // already unset: fine
  assert.equal((await cli(["config", "get", "access_token"], none)).code, 1);
  // One endpoint serves both: only the basin endpoint, or only WEIR_URL.
  await ok(["config", "unset", "account_endpoint"], none);
  const onlyBasin = { server: null, token: weir.token, env: { ...env, S2_BASIN_ENDPOINT: weir.url } };
  await ok(["ls"], onlyBasin);
  await ok(["create-basin", "s2://cli-one-endpoint"], onlyBasin);
  await ok(["create-stream", "s2://cli-one-endpoint/s"], onlyBasin);
  const onlyUrl = { server: null, token: weir.token, env: { ...env, WEIR_URL: weir.url } };
  assert.equal(await ok(["read", "s2://cli-one-endpoint/s"], onlyUrl), "");
  await ok(["orgs", "ls"], onlyUrl); // admin falls back to the access token when no root token is set
  // An empty value in the file counts as unset, as an empty variable does.
  await ok(["config", "set", "basin_endpoint", ""], none);
  assert.equal(await ok(["read", "s2://cli-one-endpoint/s"], onlyUrl), "");
  assert.deepEqual((await json(["config", "list", "--effective"], onlyUrl)).basin_endpoint, { value: null, source: null });
  // {basin} in the basin endpoint is replaced (here it names a path the server does not have).
  const tmpl = await cli(["read", "s2://cli-one-endpoint/s"], { server: null, token: weir.token, env: { ...env, S2_BASIN_ENDPOINT: `${weir.url}/{basin}/v1` } });
  assert.equal(tmpl.code, 1);
  // A broken config file is a usage error naming the file and line, except for help.
  writeFileSync(file, 'access_token = "x"\n[table]\n');
  const broken = await cli(["ls"], none);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /config file .*config\.toml: line 2: tables/);
  await ok(["help"], none);
  // WEIR_CONFIG names the file directly.
  const explicit = join(tmp, "explicit.toml");
  await ok(["config", "set", "weir_url", "http://example.invalid"], { ...none, env: { ...env, WEIR_CONFIG: explicit } });
  assert.match(readFileSync(explicit, "utf8"), /^weir_url = "http:\/\/example\.invalid"$/m);
});

test("realtime administration and sessions", async () => {
  const org = await json(["orgs", "create", "cli-acme", "--title", "Acme"]);
  assert.match(org.id, /^c[a-z0-9]{24}$/);
  assert.equal(org.slug, "cli-acme");
  assert.match(await ok(["orgs", "create", "cli-beta"]), /^slug +cli-beta\ntitle +cli-beta\n/m);
  const orgs = (await json(["orgs", "ls"])).organizations;
  assert.ok(orgs.some((x) => x.id === org.id));
  assert.match(await ok(["orgs", "ls"]), new RegExp(`^ID +SLUG +TITLE +PLAN +BASIN\\n(.*\\n)*${org.id} +cli-acme +Acme +free +-`, "m"));
  assert.equal((await json(["orgs", "show", org.id])).title, "Acme");
  const plan = await json(["orgs", "plan", org.id, "hobby"]);
  assert.equal(plan.plan, "hobby");
  assert.equal(plan.kind, "provisioned");
  const basin = (await json(["orgs", "show", org.id])).streamBasinName;
  assert.ok(basin);
  const prov = await json(["orgs", "provision", org.id, "--retention", "10d", "--apply-to-existing"]);
  assert.equal(prov.retention, "10d");
  const usage = await json(["orgs", "usage", org.id]);
  assert.equal(usage.organizationId, org.id);
  assert.equal(typeof usage.total.storedBytes, "number");
  assert.match(await ok(["orgs", "usage", org.id]), /^BASIN +KIND +APPENDED +APPENDED BYTES +READ +READ BYTES +STORED\n(.*\n)*total +0 +0 B/m);
  assert.equal((await json(["orgs", "deprovision", org.id])).kind, "deprovisioned");
  const proj = await json(["projects", "create", org.id, "app"]);
  assert.equal(proj.organizationId, org.id);
  const env = await json(["envs", "create", proj.id, "dev"]);
  assert.match(env.apiKey, /^sk_/);
  const human = await cli(["envs", "create", proj.id, "prod"]);
  assert.match(human.stdout, /^apiKey +sk_/m);
  assert.match(human.stderr, /shown only now/);
  const other = await json(["envs", "create", proj.id, "stg"]);
  const rotated = await ok(["envs", "rotate-key", other.id]);
  assert.match(rotated, /^sk_\S+\n$/);
  assert.notEqual(rotated.trim(), other.apiKey);

  // Sessions, with the environment key.
  const key = env.apiKey;
  const kenv = { env: { WEIR_API_KEY: key } };
  const created = await fetch(`${weir.url}/api/v1/sessions`, {
    method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ externalId: "cli-chat-1" }),
  });
  assert.equal(created.status, 201);
  const s = await json(["sessions", "show", "cli-chat-1"], kenv);
  assert.equal(s.externalId, "cli-chat-1");
  assert.match(await ok(["sessions", "show", s.id], kenv), /^closed +false$/m);
  const appendOut = async (text) => {
    const r = await fetch(`${weir.url}/realtime/v1/sessions/cli-chat-1/out/append`, {
      method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "text/plain" }, body: text,
    });
    assert.equal(r.status, 200);
  };
  await appendOut("hello");
  const tail = spawnCli(["sessions", "tail", "cli-chat-1"], { env: { WEIR_API_KEY: key } });
  const tailJson = spawnCli(["sessions", "tail", "cli-chat-1", "--format", "json"], { env: { WEIR_API_KEY: key } });
  try {
    await waitFor("the first record", () => tail.stdout.includes("hello\n"));
    await appendOut("world");
    await waitFor("a live record", () => tail.stdout === "hello\nworld\n");
    await waitFor("json records", () => lines(tailJson.stdout).length === 2);
    const recs = jsonLines(tailJson.stdout);
    assert.deepEqual(recs.map((r) => r.seq_num), [0, 1]);
    assert.equal(JSON.parse(recs[1].body).data, "world");
  } finally {
    await tail.stop();
    await tailJson.stop();
  }
  const closed = await json(["sessions", "close", "cli-chat-1", "--reason", "done"], kenv);
  assert.equal(closed.closed, true);
  assert.equal(closed.closedReason, "done");
  // The server lists sessions (GET /api/v1/sessions, trigger.dev's list page).
  const ls = await cli(["sessions", "ls"], kenv);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, new RegExp(`^ID +EXTERNAL ID +TYPE +CLOSED\\n(.*\\n)*${s.id} +cli-chat-1 +\\S+ +yes$`, "m"));
  const badKey = await cli(["sessions", "show", "cli-chat-1"], { env: { WEIR_API_KEY: "sk_wrong" } });
  assert.equal(badKey.code, 1);
  assert.match(badKey.stderr, /^weir: HTTP 401: /);
});

test("tail -f follows live appends and resumes after the server restarts", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "weir-cli-restart-"));
  const port = await freePort();
  const token = "cli-restart-root-token";
  const opts = { args: ["--listen", `127.0.0.1:${port}`, "--shutdown-timeout", "1s"], dataDir, env: { WEIR_ROOT_TOKEN: token } };
  let server = await startWeir(opts);
  const o = { server, token };
  let tail;
  try {
    await ok(["create-basin", "s2://cli-restart-basin"], o);
    await ok(["create-stream", "s2://cli-restart-basin/live"], o);
    await ok(["append", "s2://cli-restart-basin/live"], { ...o, input: "r0\n" }); // before tail starts
    tail = spawnCli(["tail", "-f", "-n", "1", "s2://cli-restart-basin/live", "--format", "json"], { server, token });
    await waitFor("the last record", () => lines(tail.stdout).length === 1);
    for (let i = 1; i <= 5; i++) await ok(["append", "s2://cli-restart-basin/live"], { ...o, input: `r${i}\n` });
    await waitFor("live appends", () => lines(tail.stdout).length === 6);
    await server.stop();
    await waitFor("the reconnection notice", () => tail.stderr.includes("reconnecting"));
    server = await startWeir(opts);
    await ok(["append", "s2://cli-restart-basin/live"], { server, token, input: "r6\nr7\nr8\n" });
    await ok(["append", "s2://cli-restart-basin/live"], { server, token, input: "r9\n" });
    await waitFor("appends after the restart", () => lines(tail.stdout).length >= 10);
    const recs = jsonLines(tail.stdout);
    assert.deepEqual(recs.map((r) => r.seq_num), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(recs.map((r) => r.body), ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"]);
    await waitFor("the reconnected notice", () => tail.stderr.includes("reconnected"));
    // Nothing else arrives: still exactly ten after another append round trip.
    await ok(["append", "s2://cli-restart-basin/live"], { server, token, input: "r10\n" });
    await waitFor("one more", () => lines(tail.stdout).length >= 11);
    assert.equal(lines(tail.stdout).length, 11);
  } finally {
    if (tail) {
      const { signal } = await tail.stop();
      assert.equal(signal, "SIGTERM");
    }
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("append of a 100 MB file shows progress on a terminal", async () => {
  try {
    execFileSync("script", ["--version"]);
  } catch {
    assert.fail("`script` (util-linux) is required: scripts/deps.sh installs it");
  }
  await ok(["create-basin", "s2://cli-big-basin"]);
  await ok(["create-stream", "s2://cli-big-basin/big"]);
  const file = join(tmp, "big.txt");
  const fd = openSync(file, "w");
  const line = Buffer.from("x".repeat(999) + "\n");
  const chunk = Buffer.concat(Array.from({ length: 1000 }, () => line));
  for (let i = 0; i < 100; i++) writeSync(fd, chunk);
  closeSync(fd);
  assert.equal(statSync(file).size, 100_000_000);
  const env = { ...baseEnv(), XDG_CONFIG_HOME: home, S2_ACCOUNT_ENDPOINT: weir.url, S2_ACCESS_TOKEN: weir.token };
  const out = execFileSync("script", ["-qfec", `${WEIR_BIN} append s2://cli-big-basin/big --file ${file}`, "/dev/null"],
    { env, maxBuffer: 64 << 20 }).toString();
  assert.match(out, /\r\x1b\[Kappending [\d,]+ records +[\d.]+ [KMG]iB +\d+% +[\d,]+ records\/s +[\d.]+ [KMG]?i?B\/s/);
  assert.match(out, /\r\x1b\[Kappended 100,000 records +95\.4 MiB +100% +[\d,]+ records\/s +[\d.]+ [KMG]?i?B\/s/);
  assert.match(out, /appended 100,000 records \(96\.0 MiB\) to s2:\/\/cli-big-basin\/big: seq_num 0 to 99999/);
  assert.equal((await json(["check-tail", "s2://cli-big-basin/big"])).tail.seq_num, 100000);
  assert.equal(await ok(["read", "s2://cli-big-basin/big", "--tail-offset", "1"]), line.toString());
  // Not a terminal (or --no-progress): no progress line.
  const quiet = await cli(["append", "s2://cli-big-basin/big", "--file", file, "--batch-records", "500"]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, "");
  assert.equal((await json(["check-tail", "s2://cli-big-basin/big"])).tail.seq_num, 200000);
  const small = join(tmp, "small.txt");
  writeFileSync(small, "one\ntwo\n");
  const off = execFileSync("script", ["-qfec", `${WEIR_BIN} append s2://cli-big-basin/big --no-progress --file ${small}`, "/dev/null"],
    { env }).toString();
  assert.match(off, /appended 2 records/);
  assert.doesNotMatch(off, /records\/s/);
});

test("colours only on a terminal and never with NO_COLOR", async () => {
  const env = { ...baseEnv(), XDG_CONFIG_HOME: home, S2_ACCOUNT_ENDPOINT: weir.url, S2_ACCESS_TOKEN: weir.token, TERM: "xterm" };
  const onTty = (cmd, extra = {}) => execFileSync("script", ["-qfec", cmd, "/dev/null"], { env: { ...env, ...extra } }).toString();
  assert.match(onTty(`${WEIR_BIN} ls`), /\x1b\[1mNAME\x1b\[0m/);
  assert.doesNotMatch(onTty(`${WEIR_BIN} ls`, { NO_COLOR: "1" }), /\x1b\[/);
  assert.doesNotMatch(onTty(`${WEIR_BIN} ls --no-color`), /\x1b\[/);
  assert.doesNotMatch(await ok(["ls"]), /\x1b\[/); // a pipe
  assert.match(onTty(`${WEIR_BIN} read s2://nope-nope-nope/x || true`), /\x1b\[1;31mweir:\x1b\[0m basin_not_found/);
});

test("weir serve prints CLI commands in its hints", async () => {
  const { stdout } = weir.output();
  assert.match(stdout, /^#   \S*weir create-basin s2:\/\/my-basin-01 && \S*weir create-stream s2:\/\/my-basin-01\/hello$/m);
  assert.match(stdout, /^#   \S*weir orgs create acme --title Acme$/m);
  assert.match(stdout, /^export S2_ACCOUNT_ENDPOINT=http:\/\/127\.0\.0\.1:\d+$/m);
});
