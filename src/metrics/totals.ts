/**
 * The master's cumulative metrics: every heartbeat's delta is added here,
 * so a counter only ever grows, whatever happens to the worker that sent
 * it (a crash, a recycle, a reload). A scrape reads these totals and never
 * waits on a worker.
 */
import { DURATION_BOUNDS, OK, OTHER_METHOD, SIZE_BOUNDS, type MetricsDelta, type SizeDelta } from "./shape.ts";

/** A histogram's cumulative state: per-bucket counts (not cumulative across buckets), and the sum. */
export interface Histogram {
  readonly buckets: Float64Array;
  sum: number;
}

/** Per worker slot: counters that survive the processes that fill the slot. */
export interface SlotTotals {
  /** Calls answered (heartbeats' `served`). */
  served: number;
  accepted: number;
  refusedFull: number;
  acceptFailed: number;
  cpuSeconds: number;
  loopDelaySamples: number;
  loopDelaySum: number;
  readonly framesRejected: Map<string, number>;
}

/** The codes a request can be refused with before it reaches a method: their series exist from the start. */
const FRAME_CODES = ["PARSE_ERROR", "INVALID_REQUEST", "UNAVAILABLE", "FRAME_TOO_LARGE", "BAD_FRAME"];

export const RESTART_REASONS = ["crash", "hung", "max_requests", "max_rss", "reload", "scale"] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];
export const RELOAD_OUTCOMES = ["complete", "abandoned"] as const;

function histogram(bounds: readonly number[]): Histogram {
  return { buckets: new Float64Array(bounds.length + 1), sum: 0 };
}

function addInto(h: Histogram, buckets: readonly number[], sum: number): void {
  for (let i = 0; i < h.buckets.length; i++) (h.buckets as Float64Array)[i] += buckets[i] ?? 0;
  h.sum += sum;
}

export class MetricTotals {
  /** method -> code -> call duration histogram. */
  readonly calls = new Map<string, Map<string, Histogram>>();
  readonly requestSizes = new Map<string, Histogram>();
  readonly responseSizes = new Map<string, Histogram>();
  readonly slots = new Map<number, SlotTotals>();
  readonly restarts = new Map<RestartReason, number>(RESTART_REASONS.map((r) => [r, 0]));
  readonly reloads = new Map<string, number>(RELOAD_OUTCOMES.map((o) => [o, 0]));

  constructor() {
    this.#method(OTHER_METHOD, "METHOD_NOT_FOUND");
  }

  /** The series of a method: OK and INTERNAL exist from the start, so an error ratio has both sides before the first error. */
  #method(method: string, ...codes: string[]): Map<string, Histogram> {
    let byCode = this.calls.get(method);
    if (byCode === undefined) {
      byCode = new Map();
      this.calls.set(method, byCode);
      this.requestSizes.set(method, histogram(SIZE_BOUNDS));
      this.responseSizes.set(method, histogram(SIZE_BOUNDS));
    }
    for (const code of codes) if (!byCode.has(code)) byCode.set(code, histogram(DURATION_BOUNDS));
    return byCode;
  }

  /** Methods a worker serves, at zero until called. */
  declare(methods: readonly string[]): void {
    for (const m of methods) this.#method(m, OK, "INTERNAL");
  }

  slot(index: number): SlotTotals {
    let s = this.slots.get(index);
    if (s === undefined) {
      s = { served: 0, accepted: 0, refusedFull: 0, acceptFailed: 0, cpuSeconds: 0, loopDelaySamples: 0, loopDelaySum: 0, framesRejected: new Map(FRAME_CODES.map((c) => [c, 0])) };
      this.slots.set(index, s);
    }
    return s;
  }

  /** Adds one heartbeat's metrics delta, from the worker in slot `index`. */
  add(index: number, delta: MetricsDelta): void {
    if (delta.methods !== undefined) this.declare(delta.methods);
    for (const c of delta.calls) {
      const byCode = this.#method(c.method, c.code);
      addInto(byCode.get(c.code) as Histogram, c.buckets, c.sum);
    }
    this.#sizes(this.requestSizes, delta.requestSizes);
    this.#sizes(this.responseSizes, delta.responseSizes);
    const slot = this.slot(index);
    slot.cpuSeconds += delta.cpuSeconds;
    slot.loopDelaySamples += delta.loopDelaySamples;
    slot.loopDelaySum += delta.loopDelaySum;
    for (const [code, n] of Object.entries(delta.framesRejected)) slot.framesRejected.set(code, (slot.framesRejected.get(code) ?? 0) + n);
  }

  #sizes(into: Map<string, Histogram>, sizes: readonly SizeDelta[]): void {
    for (const s of sizes) {
      this.#method(s.method);
      addInto(into.get(s.method) as Histogram, s.buckets, s.sum);
    }
  }

  restarted(reason: RestartReason): void {
    this.restarts.set(reason, (this.restarts.get(reason) ?? 0) + 1);
  }

  reloaded(outcome: "complete" | "abandoned"): void {
    this.reloads.set(outcome, (this.reloads.get(outcome) ?? 0) + 1);
  }
}

/** Calls in a histogram. */
export function countOf(h: Histogram): number {
  let n = 0;
  for (const b of h.buckets) n += b;
  return n;
}

/**
 * The q-quantile (0..1) of a histogram's counts, interpolated inside its
 * bucket as Prometheus's histogram_quantile does; NaN when empty.
 */
export function quantile(bounds: readonly number[], buckets: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < buckets.length; i++) total += buckets[i] as number;
  if (total === 0) return NaN;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] as number;
    if (seen + n >= rank && n > 0) {
      if (i === bounds.length) return bounds[bounds.length - 1] as number;
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      return lower + ((bounds[i] as number) - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return bounds[bounds.length - 1] as number;
}
