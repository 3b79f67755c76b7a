/**
 * What the workers' metrics look like, shared by the recorder in each worker
 * (recorder.ts) and the totals in the master (totals.ts): the bucket bounds,
 * the code labels, and the delta a heartbeat carries.
 */
import { WIRE_CODES } from "../protocol/codes.ts";

/**
 * Call duration bounds in seconds, from 10 us: a sync handler answered from
 * a pipelined read takes 10-50 us here, so coarser first buckets would put
 * every call of a fast server in one bucket and make p50 and p99 equal.
 */
export const DURATION_BOUNDS = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The same in ms, which is what performance.now() gives: no division per call. */
export const DURATION_BOUNDS_MS = DURATION_BOUNDS.map((s) => s * 1000);
/** Request and response body bounds in bytes, powers of 4 up to the 16 MiB a frame rarely exceeds. */
export const SIZE_BOUNDS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

/** The method label of calls to names the worker does not serve. */
export const OTHER_METHOD = "_OTHER";
/** The code label of a successful call. */
export const OK = "OK";
/** The code label past MAX_CODES distinct codes (handlers' own RpcError codes are open-ended). */
export const OTHER_CODE = "_OTHER";
/** OK, the wire codes, then room for handlers' own codes; the last slot is OTHER_CODE. */
export const FIXED_CODES: readonly string[] = [OK, ...Object.keys(WIRE_CODES)];
export const MAX_CODES = FIXED_CODES.length + 16;

/** One (method, code) duration series' change since the last heartbeat. */
export interface CallDelta {
  readonly method: string;
  readonly code: string;
  /** Calls per bucket (not cumulative), DURATION_BOUNDS.length + 1 of them (the last is +Inf). */
  readonly buckets: number[];
  readonly sum: number;
}

/** One method's request or response size change since the last heartbeat. */
export interface SizeDelta {
  readonly method: string;
  /** Per bucket, SIZE_BOUNDS.length + 1 of them. */
  readonly buckets: number[];
  readonly sum: number;
}

/** What a heartbeat adds to the master's totals. Every counter here is a change, never a total. */
export interface MetricsDelta {
  /** The methods this worker serves: present on its first heartbeat, so every series exists from the start. */
  readonly methods?: readonly string[];
  readonly calls: CallDelta[];
  readonly requestSizes: SizeDelta[];
  readonly responseSizes: SizeDelta[];
  /** Requests answered with an error before reaching a method, by code. */
  readonly framesRejected: Record<string, number>;
  /** Calls running now (a gauge, not a change), by method. */
  readonly inflight: Record<string, number>;
  /** Event-loop delay over the interval, in seconds. */
  readonly loopDelayP50: number;
  readonly loopDelayP99: number;
  /** Event-loop delay samples over the interval (every 10 ms) and their sum, in seconds: a summary's _count and _sum. */
  readonly loopDelaySamples: number;
  readonly loopDelaySum: number;
  /** CPU time used since the last heartbeat, in seconds (user + system). */
  readonly cpuSeconds: number;
}

/** Index of the first bound `value` is at most, or bounds.length (+Inf). */
export function bucketOf(bounds: readonly number[], value: number): number {
  let i = 0;
  while (i < bounds.length && value > (bounds[i] as number)) i++;
  return i;
}
