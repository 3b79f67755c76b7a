/**
 * The master's totals and its workers' latest figures in the Prometheus
 * text format (version 0.0.4), with HELP and TYPE for every family.
 */
import { DURATION_BOUNDS, SIZE_BOUNDS } from "./shape.ts";
import { countOf, type Histogram, type MetricTotals } from "./totals.ts";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** What the master knows of one live worker right now. */
export interface WorkerView {
  readonly slot: number;
  readonly pid: number;
  readonly state: string;
  readonly generation: number;
  readonly connections: number;
  readonly rssBytes: number;
  readonly loopDelayP50: number;
  readonly loopDelayP99: number;
  readonly inflight: Readonly<Record<string, number>>;
  /** When its last heartbeat came (ms since the epoch): the moment its counters are as of. */
  readonly beatAt: number;
}

export interface ExpositionInput {
  readonly totals: MetricTotals;
  readonly workers: readonly WorkerView[];
  /** Live workers by state, every state present. */
  readonly states: ReadonlyMap<string, number>;
  readonly version: string;
  /** The master's own RSS and CPU seconds (label worker="master"). */
  readonly master: { rssBytes: number; cpuSeconds: number };
}

type Labels = Record<string, string>;

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labels(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function num(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  return String(n);
}

class Text {
  readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram" | "summary", help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, l: Labels, value: number): this {
    this.lines.push(`${name}${labels(l)} ${num(value)}`);
    return this;
  }

  histogram(name: string, l: Labels, bounds: readonly number[], h: Histogram): void {
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += h.buckets[i] as number;
      this.sample(`${name}_bucket`, { ...l, le: String(le) }, cumulative);
    });
    const count = countOf(h);
    this.sample(`${name}_bucket`, { ...l, le: "+Inf" }, count);
    this.sample(`${name}_sum`, l, h.sum);
    this.sample(`${name}_count`, l, count);
  }
}

export function renderMetrics(input: ExpositionInput): string {
  const t = new Text();
  const { totals, workers } = input;
  const duration = "forkrpc_rpc_server_call_duration_seconds";
  t.family(duration, "histogram", "Time from a request's parse to its answer, by method and answer code (OK or the error code).");
  for (const [method, byCode] of totals.calls) for (const [code, h] of byCode) t.histogram(duration, { rpc_method: method, code }, DURATION_BOUNDS, h);
  t.family("forkrpc_rpc_server_calls_in_flight", "gauge", "Calls running asynchronously now, summed over workers.");
  for (const method of totals.calls.keys()) {
    const n = workers.reduce((sum, w) => sum + (w.inflight[method] ?? 0), 0);
    t.sample("forkrpc_rpc_server_calls_in_flight", { rpc_method: method }, n);
  }
  for (const [name, map, what] of [
    ["forkrpc_rpc_server_request_size_bytes", totals.requestSizes, "Request body size"],
    ["forkrpc_rpc_server_response_size_bytes", totals.responseSizes, "Response body size (its length in characters: bytes for ASCII JSON)"],
  ] as const) {
    t.family(name, "histogram", `${what}, by method.`);
    for (const [method, h] of map) t.histogram(name, { rpc_method: method }, SIZE_BOUNDS, h);
  }
  renderWorkers(t, input);
  t.family("forkrpc_workers", "gauge", "Live worker processes by state.");
  for (const [state, n] of input.states) t.sample("forkrpc_workers", { state }, n);
  t.family("forkrpc_worker_restarts_total", "counter", "Workers replaced, by why: crash, hung, max_requests, max_rss, reload, scale.");
  for (const [reason, n] of totals.restarts) t.sample("forkrpc_worker_restarts_total", { reason }, n);
  t.family("forkrpc_reloads_total", "counter", "Rolling reloads by outcome.");
  for (const [outcome, n] of totals.reloads) t.sample("forkrpc_reloads_total", { outcome }, n);
  t.family("forkrpc_build_info", "gauge", "Always 1; the labels say which forkrpc and Node.js run.");
  t.sample("forkrpc_build_info", { version: input.version, node: process.version }, 1);
  return `${t.lines.join("\n")}\n`;
}

/** The per-worker families: counters per slot (kept after its process is gone), gauges per live worker. */
function renderWorkers(t: Text, input: ExpositionInput): void {
  const slots = [...input.totals.slots].sort((a, b) => a[0] - b[0]);
  const live = [...input.workers].sort((a, b) => a.slot - b.slot);
  t.family("forkrpc_connections_open", "gauge", "Client connections open, by worker.");
  for (const w of live) t.sample("forkrpc_connections_open", { worker: String(w.slot) }, w.connections);
  t.family("forkrpc_connections_accepted_total", "counter", "Client connections accepted, by worker.");
  for (const [i, s] of slots) t.sample("forkrpc_connections_accepted_total", { worker: String(i) }, s.accepted);
  t.family("forkrpc_connections_rejected_total", "counter", "Connections closed at once, by worker and reason (max_connections, accept_failed).");
  for (const [i, s] of slots) {
    t.sample("forkrpc_connections_rejected_total", { worker: String(i), reason: "max_connections" }, s.refusedFull);
    t.sample("forkrpc_connections_rejected_total", { worker: String(i), reason: "accept_failed" }, s.acceptFailed);
  }
  t.family("forkrpc_frames_rejected_total", "counter", "Requests answered with an error before reaching a method, by worker and code.");
  for (const [i, s] of slots) for (const [code, n] of s.framesRejected) t.sample("forkrpc_frames_rejected_total", { worker: String(i), code }, n);
  t.family("process_resident_memory_bytes", "gauge", "Resident memory, by worker (and the master).");
  t.sample("process_resident_memory_bytes", { worker: "master" }, input.master.rssBytes);
  for (const w of live) t.sample("process_resident_memory_bytes", { worker: String(w.slot) }, w.rssBytes);
  t.family("process_cpu_seconds_total", "counter", "User and system CPU time, by worker slot (and the master).");
  t.sample("process_cpu_seconds_total", { worker: "master" }, input.master.cpuSeconds);
  for (const [i, s] of slots) t.sample("process_cpu_seconds_total", { worker: String(i) }, s.cpuSeconds);
  const delay = "nodejs_eventloop_delay_seconds";
  t.family(delay, "summary", "Event-loop delay sampled every 10 ms, by worker: p50 and p99 over the last heartbeat interval.");
  const views = new Map(live.map((w) => [w.slot, w]));
  for (const [i, s] of slots) {
    const w = views.get(i);
    if (w !== undefined) {
      t.sample(delay, { worker: String(i), quantile: "0.5" }, w.loopDelayP50);
      t.sample(delay, { worker: String(i), quantile: "0.99" }, w.loopDelayP99);
    }
    t.sample(`${delay}_sum`, { worker: String(i) }, s.loopDelaySum);
    t.sample(`${delay}_count`, { worker: String(i) }, s.loopDelaySamples);
  }
}
