/**
 * The dashboard's data, one snapshot per period: counters as totals (the
 * page turns two snapshots into rates, so a missed one costs nothing) and
 * latency quantiles over the period, from the histogram buckets that grew
 * since the last snapshot.
 */
import type { WorkerView } from "../metrics/exposition.ts";
import { DURATION_BOUNDS, OK } from "../metrics/shape.ts";
import { countOf, quantile, type MetricTotals } from "../metrics/totals.ts";

export interface SnapshotSource {
  readonly totals: MetricTotals;
  workers(): WorkerView[];
  slowest(limit: number): Array<{ worker: number; method: string; id: string | number | null; ms: number }>;
  readonly events: ReadonlyArray<{ at: number; kind: string; label: string; detail: string }>;
}

export interface MethodRow {
  readonly method: string;
  readonly calls: number;
  readonly errors: number;
  /** Over the last period, in seconds; null when it had no calls. */
  readonly p99: number | null;
}

export interface Snapshot {
  readonly at: number;
  readonly workers: ReadonlyArray<WorkerView & { served: number; inflightTotal: number }>;
  /** Calls answered per worker slot since the master started (dead slots included). */
  readonly served: Record<string, number>;
  /** Answers by code since the master started. */
  readonly codes: Record<string, number>;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly inflight: number;
  readonly methods: readonly MethodRow[];
  readonly slowest: ReturnType<SnapshotSource["slowest"]>;
  readonly events: SnapshotSource["events"];
}

const SLOWEST = 10;

function orNull(n: number): number | null {
  return Number.isNaN(n) ? null : n;
}

export class Snapshots {
  readonly #source: SnapshotSource;
  /** Each method's duration buckets (over codes) at the last snapshot; key "" is every method. */
  #previous = new Map<string, Float64Array>();

  constructor(source: SnapshotSource) {
    this.#source = source;
  }

  next(now = Date.now()): Snapshot {
    const { totals } = this.#source;
    const current = new Map<string, Float64Array>();
    const all = new Float64Array(DURATION_BOUNDS.length + 1);
    const codes: Record<string, number> = {};
    const methods: MethodRow[] = [];
    for (const [method, byCode] of totals.calls) {
      const summed = new Float64Array(all.length);
      let calls = 0;
      let errors = 0;
      for (const [code, h] of byCode) {
        const n = countOf(h);
        calls += n;
        if (code !== OK) errors += n;
        codes[code] = (codes[code] ?? 0) + n;
        h.buckets.forEach((b, i) => (summed[i] = (summed[i] as number) + b));
      }
      current.set(method, summed);
      summed.forEach((b, i) => (all[i] = (all[i] as number) + b));
      methods.push({ method, calls, errors, p99: orNull(quantile(DURATION_BOUNDS, this.#grown(method, summed), 0.99)) });
    }
    const grownAll = this.#grown("", all);
    current.set("", all);
    this.#previous = current;
    const workers = this.#source.workers().map((w) => ({
      ...w,
      served: totals.slots.get(w.slot)?.served ?? 0,
      inflightTotal: Object.values(w.inflight).reduce((a, b) => a + b, 0),
    }));
    const served: Record<string, number> = {};
    for (const [slot, s] of totals.slots) served[slot] = s.served;
    return {
      at: now,
      workers,
      served,
      codes,
      p50: orNull(quantile(DURATION_BOUNDS, grownAll, 0.5)),
      p99: orNull(quantile(DURATION_BOUNDS, grownAll, 0.99)),
      inflight: workers.reduce((a, w) => a + w.inflightTotal, 0),
      methods,
      slowest: this.#source.slowest(SLOWEST),
      events: this.#source.events,
    };
  }

  #grown(key: string, now: Float64Array): Float64Array {
    const before = this.#previous.get(key);
    return before === undefined ? now : now.map((b, i) => b - (before[i] as number));
  }
}
