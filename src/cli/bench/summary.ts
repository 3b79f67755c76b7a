/**
 * A bench run's results: the threads' counts merged into one summary (what
 * `--json` prints, field for field), and its text form.
 */
import os from "node:os";
import { hostPort } from "../../registry/address.ts";
import { visible } from "../escape.ts";
import { Histogram } from "./histogram.ts";
import type { LoadResult } from "./messages.ts";

export interface RunSettings {
  readonly host: string;
  readonly port: number;
  readonly method: string;
  /** The params as sent (JSON text). */
  readonly params: string;
  readonly meta: boolean;
  readonly connections: number;
  readonly pipeline: number;
  readonly threads: number;
  readonly ids: boolean;
  readonly durationS: number;
  /** Bytes of one request frame, prefix included. */
  readonly requestBytes: number;
}

export interface BenchSummary {
  readonly tool: "forkrpc bench";
  readonly date: string;
  readonly settings: RunSettings;
  /** The measured window: from the start to the time the threads stopped counting. */
  readonly seconds: number;
  /** Answers received in the window, error answers included. */
  readonly requests: number;
  readonly rps: number;
  readonly errors: number;
  readonly errorsByCode: Record<string, number>;
  readonly connectionsLost: number;
  readonly lostReasons: readonly string[];
  readonly goaways: number;
  /** Threads that did not report in time (their counts are missing). */
  readonly threadsMissing: number;
  readonly latencyUs: {
    readonly min: number;
    readonly mean: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
  };
  /** The load generator's own CPU over the run (all its threads): what the figures cost on a shared machine. */
  readonly loadgen: { readonly cpuUs: number; readonly cpuUsPerRequest: number; readonly cores: number };
  readonly machine: { readonly node: string; readonly cpus: number; readonly cpu: string; readonly os: string };
}

export interface Merged {
  readonly summary: BenchSummary;
  readonly histogram: Histogram;
}

export function summarize(
  settings: RunSettings,
  results: readonly LoadResult[],
  window: { startedAt: number; cpuUs: number; wallMs: number },
): Merged {
  const histogram = new Histogram(2);
  const errorsByCode: Record<string, number> = {};
  let requests = 0;
  let lost = 0;
  let goaways = 0;
  const reasons = new Set<string>();
  let stoppedAt = window.startedAt;
  for (const r of results) {
    histogram.merge(r.histogram);
    requests += r.answers;
    lost += r.connectionsLost;
    goaways += r.goaways;
    for (const why of r.lostReasons) reasons.add(why);
    for (const [code, n] of Object.entries(r.errorsByCode)) errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
    stoppedAt = Math.max(stoppedAt, r.stoppedAt);
  }
  const seconds = Math.max((stoppedAt - window.startedAt) / 1000, 1e-3);
  const errors = Object.values(errorsByCode).reduce((a, b) => a + b, 0);
  const summary: BenchSummary = {
    tool: "forkrpc bench",
    date: new Date(window.startedAt).toISOString(),
    settings,
    seconds: round(seconds, 3),
    requests,
    rps: Math.round(requests / seconds),
    errors,
    errorsByCode,
    connectionsLost: lost,
    lostReasons: [...reasons],
    goaways,
    threadsMissing: settings.threads - results.length,
    latencyUs: {
      min: histogram.min,
      mean: round(histogram.mean(), 1),
      p50: histogram.percentile(50),
      p90: histogram.percentile(90),
      p99: histogram.percentile(99),
      p999: histogram.percentile(99.9),
      max: histogram.max,
    },
    loadgen: {
      cpuUs: Math.round(window.cpuUs),
      cpuUsPerRequest: round(window.cpuUs / Math.max(requests, 1), 3),
      cores: round(window.cpuUs / 1000 / Math.max(window.wallMs, 1), 2),
    },
    machine: {
      node: process.version,
      cpus: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? "unknown",
      os: `${os.type()} ${os.release()}`,
    },
  };
  return { summary, histogram };
}

/** The summary for people: a few aligned lines. */
export function formatSummary(s: BenchSummary): string {
  const { settings: o, latencyUs: l } = s;
  const lines = [
    `forkrpc bench: ${o.method} on ${hostPort(o.host, o.port)}, ${o.connections} connection${o.connections === 1 ? "" : "s"} x ${o.pipeline} in flight ` +
      `(${o.ids ? "with ids" : "FIFO, no ids"}), ${o.threads} thread${o.threads === 1 ? "" : "s"}, ${o.durationS} s`,
    "",
    `  requests   ${int(s.requests)} in ${s.seconds.toFixed(2)} s: ${int(s.rps)} req/s`,
    `  latency    p50 ${duration(l.p50)}   p90 ${duration(l.p90)}   p99 ${duration(l.p99)}   p99.9 ${duration(l.p999)}   max ${duration(l.max)}   (mean ${duration(l.mean)})`,
    `  errors     ${errorsText(s)}`,
  ];
  if (s.connectionsLost > 0) lines.push(`  lost       ${plural(s.connectionsLost, "connection")} (${s.lostReasons.map(visible).join("; ")})`);
  if (s.goaways > 0) lines.push(`  goaway     ${plural(s.goaways, "connection")} told the server is going away`);
  if (s.threadsMissing > 0) lines.push(`  missing    ${plural(s.threadsMissing, "thread")} did not report; their counts are not included`);
  if (o.ids && (s.errorsByCode.BAD_RESPONSE ?? 0) > 0) lines.push("  note       BAD_RESPONSE with --ids: answers that carry none of the ids sent (does the server echo ids?)");
  const perRequest = s.requests === 0 ? "-" : `${s.loadgen.cpuUsPerRequest.toFixed(2)} µs`;
  lines.push(`  loadgen    ${perRequest} CPU per request, ${s.loadgen.cores.toFixed(2)} cores`);
  return lines.join("\n");
}

export function errorsText(s: BenchSummary): string {
  if (s.errors === 0) return "none";
  const codes = Object.entries(s.errorsByCode)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${visible(code)} ${int(n)}`);
  return `${int(s.errors)} (${codes.join(", ")})`;
}

/** A latency in microseconds, in µs below 1 ms, else ms, else s. */
export function duration(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}


function plural(n: number, word: string): string {
  return `${int(n)} ${word}${n === 1 ? "" : "s"}`;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
