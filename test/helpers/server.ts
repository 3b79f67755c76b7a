/**
 * Starts real `forkrpc serve` processes for integration tests, on port 0,
 * learns the address from the ready line, and stops them by pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
/** The loader flags `npm start` uses (loader/register.js: swc with decorator metadata). */
export const NODE_FLAGS = [
  "--import",
  new URL("../../loader/register.js", import.meta.url).href,
  "--conditions=forkrpc-source",
];

export interface Served {
  readonly proc: ChildProcess;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the process has printed so far. */
  stdout(): string;
  stderr(): string;
  /** Sends a signal and resolves with the exit code (or the signal that ended it). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** Resolves with the exit code once the process ends by itself. */
  exited(): Promise<number | string>;
}

export interface ServeOptions {
  /** Arguments after `serve`; `--port 0` and `--workers 0` are added unless given. */
  args?: string[];
  /** Folder to run in (its rpc.config.ts is used); defaults to the repo root. */
  cwd?: string;
  env?: Record<string, string>;
  /** How long to wait for the ready line. */
  timeoutMs?: number;
  /**
   * Node arguments before `serve`: defaults to the loader flags and src/cli/main.ts.
   * Pass e.g. `[BIN]` to run the installed command from dist/.
   */
  entry?: string[];
}

/** The installed command (it imports dist/, so it needs `npm run build`). */
export const BIN = fileURLToPath(new URL("../../bin/forkrpc.js", import.meta.url));

/** Runs any forkrpc command and collects its output (for commands that exit). */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}) {
  const proc = spawn(process.execPath, [...NODE_FLAGS, CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export async function serve(options: ServeOptions = {}): Promise<Served> {
  const args = [...(options.args ?? [])];
  if (!args.includes("--port") && !args.includes("-p")) args.push("--port", "0");
  if (!args.includes("--workers") && !args.includes("-w")) args.push("--workers", "0");
  const proc = spawn(process.execPath, [...(options.entry ?? [...NODE_FLAGS, CLI]), "serve", ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exit = once(proc, "exit").then(([code, signal]) => (code ?? signal) as number | string);

  const ready = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`server not ready in time\nstdout: ${out}\nstderr: ${err}`));
    }, options.timeoutMs ?? 20_000);
    const check = () => {
      const m = out.match(/forkrpc ready: .* on \[?([^\]\s]+?)\]?:(\d+) /);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout!.on("data", check);
    exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });

  const served: Served = {
    proc,
    host: ready[1] as string,
    port: Number(ready[2]),
    pid: proc.pid as number,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid as number, signal);
      const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const code = await exit;
      clearTimeout(killer);
      return code;
    },
  };
  return served;
}
