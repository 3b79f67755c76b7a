/**
 * A worker's metrics between two heartbeats. Recording a call is a few
 * array writes indexed by the method's registry index and a code slot: no
 * allocation, no string-keyed lookup on a successful call (an error's code
 * is looked up in a short array), and no clock read: a call's duration runs
 * from the read that brought its request to the write that sends its answer,
 * and the connection reads the clock at both anyway (once per read and per
 * write, ~32 calls each at 32 pipelined). Reading it per call cost 1.17x the
 * CPU per request at 32x32 (bench/RESULTS-metrics.md); that is why.
 * take() turns what changed into a MetricsDelta for the heartbeat and starts
 * over, so the master, not the worker, keeps the totals.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import {
  DURATION_BOUNDS_MS,
  FIXED_CODES,
  MAX_CODES,
  OTHER_CODE,
  OTHER_METHOD,
  SIZE_BOUNDS,
  bucketOf,
  type CallDelta,
  type MetricsDelta,
  type SizeDelta,
} from "./shape.ts";

const NB = DURATION_BOUNDS_MS.length + 1;
const NS = SIZE_BOUNDS.length + 1;

export class CallMetrics {
  /** Method names by registry index, then OTHER_METHOD. */
  readonly methods: readonly string[];
  /** The index calls to unknown names are recorded under. */
  readonly other: number;
  readonly #codes: string[] = [...FIXED_CODES];
  readonly #count: Float64Array;
  readonly #sum: Float64Array;
  readonly #buckets: Float64Array;
  readonly #req: Float64Array;
  readonly #resp: Float64Array;
  readonly #reqSum: Float64Array;
  readonly #respSum: Float64Array;
  readonly #rejected = new Float64Array(MAX_CODES);
  readonly #loop: IntervalHistogram;
  /** Answered calls whose answer is not written yet: their series and when their request was read. */
  #pendingSeries = new Int32Array(1024);
  #pendingSince = new Float64Array(1024);
  #pending = 0;
  /** Zero at first: the first heartbeat counts the CPU time of the boot too. */
  #cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  #sentMethods = false;

  constructor(methodNames: readonly string[]) {
    this.methods = [...methodNames, OTHER_METHOD];
    this.other = methodNames.length;
    const m = this.methods.length;
    this.#count = new Float64Array(m * MAX_CODES);
    this.#sum = new Float64Array(m * MAX_CODES);
    this.#buckets = new Float64Array(m * MAX_CODES * NB);
    this.#req = new Float64Array(m * NS);
    this.#resp = new Float64Array(m * NS);
    this.#reqSum = new Float64Array(m);
    this.#respSum = new Float64Array(m);
    this.#loop = monitorEventLoopDelay({ resolution: 10 });
    this.#loop.enable();
  }

  /**
   * One answered call: method index (or `other`), its answer's error code
   * (null: OK), when its request was read (performance.now()), and sizes.
   * Its duration is settled by written().
   */
  record(method: number, code: string | null, readAt: number, requestBytes: number, responseBytes: number): void {
    const series = method * MAX_CODES + (code === null ? 0 : this.#codeSlot(code));
    this.#count[series]++;
    this.#req[method * NS + bucketOf(SIZE_BOUNDS, requestBytes)]++;
    this.#reqSum[method] += requestBytes;
    this.#resp[method * NS + bucketOf(SIZE_BOUNDS, responseBytes)]++;
    this.#respSum[method] += responseBytes;
    if (this.#pending === this.#pendingSeries.length) this.#grow();
    this.#pendingSeries[this.#pending] = series;
    this.#pendingSince[this.#pending++] = readAt;
  }

  /** Answers were written at `now` (performance.now()): every call recorded since gets its duration. */
  written(now: number): void {
    const n = this.#pending;
    for (let i = 0; i < n; i++) {
      const series = this.#pendingSeries[i] as number;
      const ms = now - (this.#pendingSince[i] as number);
      this.#sum[series] += ms;
      this.#buckets[series * NB + bucketOf(DURATION_BOUNDS_MS, ms)]++;
    }
    this.#pending = 0;
  }

  #grow(): void {
    const series = new Int32Array(this.#pendingSeries.length * 2);
    const since = new Float64Array(series.length);
    series.set(this.#pendingSeries);
    since.set(this.#pendingSince);
    this.#pendingSeries = series;
    this.#pendingSince = since;
  }

  /** A request answered with an error before it reached any method (bad frame, going away). */
  rejected(code: string): void {
    this.#rejected[this.#codeSlot(code)]++;
  }

  #codeSlot(code: string): number {
    const i = this.#codes.indexOf(code);
    if (i >= 0) return i;
    if (this.#codes.length < MAX_CODES - 1) return this.#codes.push(code.slice(0, 64)) - 1;
    return MAX_CODES - 1;
  }

  #codeName(slot: number): string {
    return slot === MAX_CODES - 1 ? OTHER_CODE : (this.#codes[slot] as string);
  }

  /** What changed since the last call, with the gauges as of now; the counts start over. */
  take(inflight: Record<string, number>): MetricsDelta {
    // Answers still unwritten (a client that does not read) count as of now.
    this.written(performance.now());
    const calls: CallDelta[] = [];
    for (let s = 0; s < this.#count.length; s++) {
      if (this.#count[s] === 0) continue;
      const buckets = Array.from(this.#buckets.subarray(s * NB, (s + 1) * NB));
      const method = this.methods[Math.floor(s / MAX_CODES)] as string;
      calls.push({ method, code: this.#codeName(s % MAX_CODES), buckets, sum: (this.#sum[s] as number) / 1000 });
      this.#count[s] = 0;
      this.#sum[s] = 0;
      this.#buckets.fill(0, s * NB, (s + 1) * NB);
    }
    const framesRejected: Record<string, number> = {};
    this.#rejected.forEach((n, slot) => {
      if (n > 0) framesRejected[this.#codeName(slot)] = n;
    });
    this.#rejected.fill(0);
    const cpu = process.cpuUsage();
    const cpuMicros = cpu.user - this.#cpu.user + cpu.system - this.#cpu.system;
    this.#cpu = cpu;
    const loop = this.#loop;
    const delta: MetricsDelta = {
      ...(this.#sentMethods ? {} : { methods: this.methods.slice(0, this.other) }),
      calls,
      requestSizes: this.#sizes(this.#req, this.#reqSum),
      responseSizes: this.#sizes(this.#resp, this.#respSum),
      framesRejected,
      inflight,
      loopDelayP50: loop.count > 0 ? loop.percentile(50) / 1e9 : 0,
      loopDelayP99: loop.count > 0 ? loop.percentile(99) / 1e9 : 0,
      loopDelaySamples: loop.count,
      loopDelaySum: loop.count > 0 ? (loop.mean * loop.count) / 1e9 : 0,
      cpuSeconds: cpuMicros / 1e6,
    };
    loop.reset();
    this.#sentMethods = true;
    return delta;
  }

  #sizes(buckets: Float64Array, sums: Float64Array): SizeDelta[] {
    const out: SizeDelta[] = [];
    for (let m = 0; m < this.methods.length; m++) {
      const row = buckets.subarray(m * NS, (m + 1) * NS);
      if (!row.some((n) => n > 0)) continue;
      out.push({ method: this.methods[m] as string, buckets: Array.from(row), sum: sums[m] as number });
      row.fill(0);
      sums[m] = 0;
    }
    return out;
  }
}
