/**
 * What the thread pool (pool.ts) keeps: its options, and one record per
 * call and per thread.
 */
import type { Worker } from "node:worker_threads";
import type { BootError } from "../errors.ts";
import type { JsonText } from "../protocol/envelope.ts";
import type { CallMessage } from "./messages.ts";

export interface PoolOptions {
  readonly size: number;
  readonly maxQueue: number;
  /**
   * A call running this long is taken for hung (supervision.workerTimeoutMs,
   * the same limit a worker's blocked event loop gets): its thread is ended
   * and replaced, and the call answered INTERNAL. 0: never.
   */
  readonly hangMs: number;
  /** 0: threads are never stopped for being idle. */
  readonly idleTimeoutMs: number;
}

/** A call as the caller gives it: the pool numbers it. */
export type CallFields = Omit<CallMessage, "kind" | "seq">;

export interface Task {
  readonly message: CallMessage;
  readonly resolve: (value: JsonText) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | null;
  readonly onAbort: () => void;
  thread: Thread | null;
}

export interface Thread {
  readonly worker: Worker;
  state: "starting" | "idle" | "busy" | "stopping";
  exited: boolean;
  task: Task | null;
  /** While busy, the hang limit of its call; while idle, the idle stop. */
  timer: NodeJS.Timeout | null;
  /** Settles when the thread has built its handlers (or failed to). */
  readonly ready: Promise<void>;
  settle: ((error: BootError | null) => void) | null;
}
