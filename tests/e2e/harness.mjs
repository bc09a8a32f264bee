// harness.mjs — starts a real `weir serve` on a random port with a temporary data directory,
// and stops it (SIGTERM, then checks the exit status) and removes the directory afterwards.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const WEIR_BIN = process.env.WEIR_BIN;
if (!WEIR_BIN) throw new Error("WEIR_BIN must point at the weir binary");

/**
 * WEIR_E2E_BACKEND=remote runs the realtime suites with the realtime layer over the remote
 * stream backend: startWeir() then starts two servers — an upstream weir acting as the S2
 * endpoint (its own root token) and the realtime node, configured with
 * WEIR_STREAM_BACKEND=remote and a scoped account token of the upstream (not its root token).
 * The node's object gets `s2`: the upstream ({url, port, token, auth}); use s2Of(server) for
 * direct /v1 access to the streams.
 */
export const REMOTE = process.env.WEIR_E2E_BACKEND === "remote";

/** Where a server's streams are reachable over /v1: the upstream in remote mode. */
export const s2Of = (server) => server.s2 ?? server;

/** The account token a remote realtime node holds: everything it needs, nothing more. */
export async function accountToken(up) {
  const id = `realtime-node-${randomBytes(6).toString("hex")}`;
  const res = await fetch(`${up.url}/v1/access-tokens`, {
    method: "POST",
    headers: { ...up.auth, "content-type": "application/json" },
    body: JSON.stringify({
      id,
      scope: {
        basins: { prefix: "" },
        streams: { prefix: "" },
        access_tokens: { prefix: "rt-" },
        ops: ["list-basins", "create-basin", "get-basin-config", "reconfigure-basin", "list-streams", "create-stream",
              "get-stream-config", "reconfigure-stream", "check-tail", "append", "read", "trim",
              "issue-access-token", "revoke-access-token", "list-access-tokens"],
      },
    }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`account token: ${res.status} ${text}`);
  return JSON.parse(text).access_token;
}

/**
 * Starts weir. Resolves to { url, port, dataDir, token, proc, stop(), output() }.
 * `args` are extra flags; `env` extra environment variables. Unless `env` sets one, the server
 * gets a random root token through WEIR_ROOT_TOKEN; `token` is it (send it as
 * `Authorization: Bearer <token>`).
 */
export async function startWeir(opts = {}) {
  if (!REMOTE || opts.embedded || opts.env?.WEIR_STREAM_BACKEND) return startOne(opts);
  const up = await startOne({});
  let node;
  try {
    const token = await accountToken(up);
    node = await startOne({
      ...opts,
      env: { ...opts.env, WEIR_STREAM_BACKEND: "remote", WEIR_S2_ENDPOINT: up.url, WEIR_S2_ACCESS_TOKEN: token },
    });
  } catch (e) {
    await up.stop().catch(() => {});
    throw e;
  }
  const stopNode = node.stop;
  node.s2 = up;
  node.stop = async (o) => {
    try {
      await stopNode(o);
    } finally {
      await up.stop();
    }
  };
  return node;
}

async function startOne({ args = [], env = {}, dataDir } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "weir-e2e-"));
  const token = env.WEIR_ROOT_TOKEN ?? `e2e-root-${randomBytes(16).toString("hex")}`;
  const proc = spawn(WEIR_BIN, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dir, ...args], {
    env: { ...process.env, WEIR_ROOT_TOKEN: token, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`weir did not start:\n${stderr}`)), 30000);
    proc.stdout.on("data", (d) => {
      stdout += d;
      const m = stdout.match(/listening on http:\/\/[^\s:]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`weir exited with ${code} before listening:\n${stderr}`));
    });
  });
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    auth: { authorization: `Bearer ${token}` },
    dataDir: dir,
    proc,
    output: () => ({ stdout, stderr }),
    exited,
    /** Stops gracefully; rejects if the server does not exit 0 (ASan findings exit non-zero). */
    async stop({ keepData = false } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const { code, signal } = await exited;
      if (!keepData && !dataDir) rmSync(dir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`weir exited with code=${code} signal=${signal}:\n${stderr}`);
    },
  };
}

/** Runs `weir` with arguments to completion; resolves to { code, stdout, stderr }. */
export function runWeir(args, env = {}) {
  return new Promise((resolve) => {
    const proc = spawn(WEIR_BIN, args, { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => (stdout += d));
    proc.stderr.on("data", (d) => (stderr += d));
    proc.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
