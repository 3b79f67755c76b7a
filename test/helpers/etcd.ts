/**
 * A real etcd for tests (Debian's etcd-server, 3.4): on loopback, on ports
 * it picks, in its own temp data dir, with short election timeouts so it is
 * ready in well under a second. Stopped by pid.
 *
 * API (kept stable; the client-side tests use it too):
 *
 *   const skip = missingTools("etcd");            // guard the test with it
 *   const etcd = await startEtcd();               // ready to serve
 *   etcd.url                                      // "http://127.0.0.1:PORT"
 *   await etcd.stop();                            // SIGTERM, then SIGKILL after 5 s
 *   await etcd.kill();                            // SIGKILL (no graceful stop)
 *   await etcd.restart();                         // same data dir, same port
 *   await etcd.restart({ wipe: true });           // empty data dir, same port
 *   await etcd.close();                           // stop and remove the data dir (t.after)
 *   etcd.pid, etcd.dataDir, etcd.log()
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Etcd {
  /** The client URL, http://127.0.0.1:PORT (stays the same across restarts). */
  readonly url: string;
  readonly dataDir: string;
  /** The current process's pid (changes on restart; 0 while stopped). */
  readonly pid: number;
  /** What etcd has printed (both streams), across restarts. */
  log(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Starts it again on the same ports; `wipe` empties the data dir first (a new cluster). */
  restart(options?: { wipe?: boolean }): Promise<void>;
  /** Stops it and removes its data dir. */
  close(): Promise<void>;
}

/** A free loopback port (there is a short race until etcd binds it; fine for tests). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startEtcd(options: { readyTimeoutMs?: number } = {}): Promise<Etcd> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "forkrpc-etcd-"));
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let output = "";
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async () => {
    proc = spawn(
      "etcd",
      [
        "--name", "t",
        "--data-dir", dataDir,
        "--listen-client-urls", url,
        "--advertise-client-urls", url,
        "--listen-peer-urls", peer,
        "--initial-advertise-peer-urls", peer,
        "--initial-cluster", `t=${peer}`,
        "--initial-cluster-state", "new",
        "--heartbeat-interval", "10",
        "--election-timeout", "50",
        "--log-level", "warn",
        "--logger", "zap",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const p = proc;
    p.stdout?.on("data", (d) => (output += d));
    p.stderr?.on("data", (d) => (output += d));
    exited = new Promise((resolve) => p.once("exit", () => resolve()));
    await waitReady(url, p, options.readyTimeoutMs ?? 10_000, () => output);
  };

  const end = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    const timer = setTimeout(() => p.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    proc = null;
  };

  await launch();
  return {
    url,
    dataDir,
    get pid() {
      return (proc as ChildProcess | null)?.pid ?? 0;
    },
    log: () => output,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    async restart({ wipe = false } = {}) {
      await end("SIGTERM");
      if (wipe) {
        rmSync(dataDir, { recursive: true, force: true });
      }
      await launch();
    },
    async close() {
      await end("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls /health until etcd has a leader (or the process died, or time ran out). */
async function waitReady(url: string, proc: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`etcd exited before ready:\n${output()}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
      const body = (await res.json()) as { health?: string };
      if (body.health === "true") return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  proc.kill("SIGKILL");
  throw new Error(`etcd not ready after ${timeoutMs} ms:\n${output()}`);
}
