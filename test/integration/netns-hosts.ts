/**
 * Helpers for the multi-host tests: forkrpc servers and a client load, each
 * in its own network namespace of a Lab (test/helpers/netns.ts), and
 * reading the load's samples for detection times.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClientOptions } from "forkrpc/client";
import type { Lab } from "../helpers/netns.ts";
import { CLI, NODE_FLAGS } from "../helpers/server.ts";
import { CONFIG } from "../client/helpers.ts";

const RUNNER = fileURLToPath(new URL("../fixtures/netns/load.ts", import.meta.url));

export interface Host {
  readonly name: string;
  readonly address: string;
  readonly proc: ChildProcess;
  /** Date.now() when its ready line came. */
  readonly readyAt: number;
  output(): string;
}

export async function startHost(lab: Lab, name: string, ip: string, args: string[] = []): Promise<Host> {
  const proc = lab.spawn(name, process.execPath, [...NODE_FLAGS, CLI, "serve", "--config", CONFIG, "--host", ip, "--port", "8080", "--workers", "2", ...args]);
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const readyAt = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready:\n${out}`)), 60_000);
    proc.stdout!.on("data", () => {
      if (/forkrpc ready:/.test(out)) {
        clearTimeout(timer);
        resolve(Date.now());
      }
    });
    proc.once("exit", (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before ready:\n${out}`)));
  });
  return { name, address: `${ip}:8080`, proc, readyAt, output: () => out };
}

export interface Sample {
  at: number;
  calls: number;
  failed: number;
  failedIdempotent: number;
  endpoints: { endpoint: string; available: boolean; sent: number }[];
  done?: boolean;
  pids?: Record<string, number>;
  failures?: { idempotent: boolean; message: string; at: number }[];
}

export interface LoadRun {
  readonly samples: Sample[];
  /** Resolves once a sample satisfies `check` (rejects after `ms`). */
  until(what: string, check: (s: Sample) => boolean, ms?: number): Promise<Sample>;
  stop(): Promise<Sample>;
}

export function startLoad(lab: Lab, host: string, client: ClientOptions, callers: number, idempotent: "all" | "half" = "all"): LoadRun {
  const proc = lab.spawn(host, process.execPath, [...NODE_FLAGS, RUNNER, JSON.stringify({ client, callers, idempotent })], { stdio: ["pipe", "pipe", "pipe"] });
  const samples: Sample[] = [];
  let pending = "";
  let err = "";
  const waiters = new Set<() => void>();
  proc.stderr!.on("data", (d) => (err += d));
  proc.stdout!.on("data", (d) => {
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      samples.push(JSON.parse(pending.slice(0, nl)) as Sample);
      pending = pending.slice(nl + 1);
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const until: LoadRun["until"] = (what, check, ms = 10_000) =>
    new Promise((resolve, reject) => {
      const look = () => {
        const hit = samples.find(check);
        if (hit === undefined) return;
        done();
        resolve(hit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; last sample ${JSON.stringify(samples.at(-1))}\n${err}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(look);
      };
      waiters.add(look);
      look();
    });
  let stopping: Promise<Sample> | null = null;
  return {
    samples,
    until,
    stop() {
      stopping ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.stdin!.write("stop\n");
        await exited;
        const last = samples.at(-1);
        if (last?.done !== true) throw new Error(`the load ended without its summary:\n${err}`);
        return last;
      })();
      return stopping;
    },
  };
}

export function sentTo(sample: Sample, address: string): number {
  return sample.endpoints.find((e) => e.endpoint === address)?.sent ?? 0;
}

export function available(sample: Sample, address: string): boolean {
  return sample.endpoints.find((e) => e.endpoint === address)?.available ?? false;
}

/** When the last call went to `address`: the first sample after which its sent count never changes. */
export function lastSentAt(samples: readonly Sample[], address: string): number {
  const final = sentTo(samples.at(-1) as Sample, address);
  const first = samples.find((s) => sentTo(s, address) === final);
  return first?.at ?? 0;
}

export interface NsEtcd {
  readonly url: string;
  stop(): Promise<void>;
  /** Starts it again (same data dir, or `wipe`: an empty one) and waits until it serves. */
  start(options?: { wipe?: boolean }): Promise<void>;
}

/** A real etcd in a host's namespace, its data in a temp dir; stopped with the lab (and by stop()). */
export async function startEtcdIn(lab: Lab, host: string, ip: string): Promise<NsEtcd> {
  const dataDir = mkdtempSync(join(tmpdir(), "forkrpc-netns-etcd-"));
  const url = `http://${ip}:2379`;
  const peer = `http://${ip}:2380`;
  let proc: ChildProcess | null = null;
  const start = async ({ wipe = false } = {}) => {
    if (wipe) {
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir);
    }
    const args = ["--name", "e", "--data-dir", dataDir, "--listen-client-urls", url, "--advertise-client-urls", url, "--listen-peer-urls", peer];
    args.push("--initial-advertise-peer-urls", peer, "--initial-cluster", `e=${peer}`, "--heartbeat-interval", "10", "--election-timeout", "50", "--log-level", "warn", "--logger", "zap");
    proc = lab.spawn(host, "etcd", args);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const r = spawnSync("ip", ["netns", "exec", lab.ns(host), "etcdctl", "--endpoints", url, "--command-timeout", "1s", "endpoint", "health"], { timeout: 5_000 });
      if (r.status === 0) return;
      if (Date.now() > deadline) throw new Error(`etcd in ${host} not healthy: ${String(r.stderr)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stop = async () => {
    const p = proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((resolve) => p.once("exit", resolve));
    lab.killGroup(p, "SIGKILL");
    await exited;
    proc = null;
  };
  await start();
  lab.onClose(() => rmSync(dataDir, { recursive: true, force: true }));
  return { url, stop, start };
}
