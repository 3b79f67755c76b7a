/**
 * What the bench's main thread and its load threads tell each other: the
 * settings a thread starts with, and one small table of messages each way.
 * Running totals for the progress line go through shared memory instead
 * (two numbers per thread, written after each read), so the hot loop never
 * posts a message.
 */
import type { HistogramData } from "./histogram.ts";
import type { ClientTlsOptions } from "../../client/options.ts";

export interface LoadSettings {
  /** The servers: connection i goes to targets[(first + i) % targets.length] (one, unless --etcd found several). */
  readonly targets: readonly { readonly host: string; readonly port: number }[];
  /** Connections this thread opens. */
  readonly connections: number;
  /** How many connections the threads before this one open, so threads do not all start at the first target. */
  readonly first: number;
  /** Requests each connection keeps in flight. */
  readonly pipeline: number;
  /**
   * The request bodies, one per pipeline slot. Without ids a single text is
   * sent again and again (answers come back in order); with ids, slot i's
   * text carries id ID_BASE + i and its answer says which slot it was.
   */
  readonly texts: readonly string[];
  readonly ids: boolean;
  readonly connectTimeoutMs: number;
  /** This thread's two progress counters: answers at [2 * slot], error answers at [2 * slot + 1]. */
  readonly progress: SharedArrayBuffer;
  readonly slot: number;
  /** TLS to the server (--tls-*); absent: plaintext. */
  readonly tls: ClientTlsOptions | undefined;
}

/**
 * Ids are ID_BASE + slot: every id has the same number of digits, so every
 * request frame has the same length and an answer's id is the last 7 digits
 * before its closing brace.
 */
export const ID_BASE = 1_000_000;
export const MAX_PIPELINE = 4096;

export type ToWorker =
  /** Start loading; stop counting at `endAt` (epoch ms: performance.timeOrigin + now()). */
  | { readonly type: "start"; readonly endAt: number }
  /** Stop now (Ctrl-C, or the main thread's backstop). */
  | { readonly type: "stop" };

export type FromWorker =
  | { readonly type: "connected" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "done"; readonly result: LoadResult };

export interface LoadResult {
  /** Answers received inside the window (error answers included). */
  readonly answers: number;
  readonly errorsByCode: Record<string, number>;
  readonly histogram: HistogramData;
  /** Connections that closed or failed before the end, and why (the first few reasons). */
  readonly connectionsLost: number;
  readonly lostReasons: readonly string[];
  readonly goaways: number;
  /** Epoch ms at which this thread stopped counting. */
  readonly stoppedAt: number;
}
