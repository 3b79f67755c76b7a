/**
 * What the master knows about each worker, and the states a worker goes
 * through. Only the supervisor (supervisor.ts) changes a record's state, in
 * one function that also tells the observers.
 */
import type { HeartbeatMessage } from "./ipc.ts";
import type { StallReport } from "./watchdog.ts";

/**
 * booting: forked, not ready yet. ready: serving. recycling: still serving,
 * while the replacement forked for it boots (it goes back to ready if that
 * replacement fails). retiring: told to drain. killed: sent SIGKILL.
 * exited: the process is gone and the record is out of the table.
 */
export type WorkerState = "booting" | "ready" | "recycling" | "retiring" | "killed" | "exited";

/** States in which a worker still owes heartbeats (a hung one is killed). */
export const BEATING: readonly WorkerState[] = ["ready", "recycling", "retiring"];

export interface WorkerRecord {
  /** Set once the shell has forked the process. */
  pid: number;
  /** Reload generation: a reload starts a new one. */
  readonly generation: number;
  readonly forkedAt: number;
  state: WorkerState;
  readyAt: number | undefined;
  lastBeatAt: number;
  beat: HeartbeatMessage | undefined;
  /** Requests after which this worker is recycled (maxRequests plus its jitter), or 0. */
  readonly maxRequests: number;
  /** The worker this one was forked to replace, if any. */
  readonly replaces: WorkerRecord | undefined;
  /** No recycling before this time (its last replacement failed to boot). */
  recycleAfter: number;
  /** Why we retired or killed it, when we did. */
  endReason: string | undefined;
  /** The hash of the method table it serves, from its ready message. */
  registryHash: string | undefined;
  /** Its last uncaught error, as it reported it. */
  lastError: string | undefined;
  /** The watchdog's latest report of a stalled event loop. */
  lastStall: StallReport | undefined;
}

export function newRecord(generation: number, now: number, maxRequests: number, replaces?: WorkerRecord): WorkerRecord {
  return {
    pid: 0,
    generation,
    forkedAt: now,
    state: "booting",
    readyAt: undefined,
    lastBeatAt: now,
    beat: undefined,
    maxRequests,
    replaces,
    recycleAfter: 0,
    endReason: undefined,
    registryHash: undefined,
    lastError: undefined,
    lastStall: undefined,
  };
}

/**
 * The master's own phase. A reload runs beside "serving" (or, for a SIGHUP
 * that comes before the first ready line, beside "starting").
 */
export type MasterPhase = "starting" | "serving" | "stopping" | "stopped";
