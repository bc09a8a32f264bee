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
 * Starts weir. Resolves to { url, port, dataDir, token, proc, stop(), output() }.
 * `args` are extra flags; `env` extra environment variables. Unless `env` sets one, the server
 * gets a random root token through WEIR_ROOT_TOKEN; `token` is it (send it as
 * `Authorization: Bearer <token>`).
 */
export async function startWeir({ args = [], env = {}, dataDir } = {}) {
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
