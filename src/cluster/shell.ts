/**
 * What the supervisor (supervisor.ts) needs from the outside world, as two
 * small interfaces: the shell that forks and signals processes
 * (processes.ts and primary.ts in production, a fake in test/cluster/), and
 * the clock.
 */
import type { ServerConfig } from "../config.ts";
import type { WorkerRecord } from "./records.ts";

export interface ReadyInfo {
  host: string;
  port: number;
  workers: number;
  methods: number;
  /** The method table's hash (rpc.health's registryHash), for the service registry. */
  registryHash?: string;
}

export interface MasterShell {
  /** Forks a worker for this record and returns its pid; the shell reports its events with the same record. */
  fork(record: WorkerRecord): number;
  /** Asks a worker to drain and exit (`booting`: it may not listen for messages yet). */
  drain(record: WorkerRecord, reason: string, booting: boolean): void;
  kill(record: WorkerRecord): void;
  /** The first generation is ready: print the ready line. */
  announce(info: ReadyInfo): void;
  /** Loads the config again, for a reload. */
  loadConfig(): Promise<ServerConfig>;
  /** What to do about a worker's boot error (the CLI's hints). */
  hint?(code: string, message: string): string | undefined;
  /** Every worker is gone after a stop: release what the master holds and exit with this code. */
  finished(exitCode: number): void;
}

export interface Clock {
  now(): number;
  /** Runs fn after ms; `unref`: this timer alone does not keep the process up. Returns a cancel function. */
  after(ms: number, fn: () => void, unref?: boolean): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn, unref = false) => {
    const t = setTimeout(fn, ms);
    if (unref) t.unref();
    return () => clearTimeout(t);
  },
};
