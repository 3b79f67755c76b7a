/**
 * `forkrpc bench --report FILE.html`: one self-contained page (inline CSS
 * and SVG, no script, no external asset) with the settings, the summary
 * table and the latency percentile curve, HdrHistogram style: the x axis
 * goes 0 %, 90 %, 99 %, 99.9 %... so the tail gets as much room as the body.
 */
import type { Histogram } from "./histogram.ts";
import { hostPort } from "../../registry/address.ts";
import { duration, errorsText, int, type BenchSummary } from "./summary.ts";

const W = 760;
const H = 380;
const PAD = { left: 78, right: 24, top: 20, bottom: 52 };

export function htmlReport(s: BenchSummary, histogram: Histogram): string {
  const o = s.settings;
  const l = s.latencyUs;
  const rows: Array<[string, string]> = [
    ["target", hostPort(o.host, o.port)],
    ["method", o.method],
    ["params", truncate(o.params, 200)],
    ["load", `${o.connections} connections x ${o.pipeline} in flight (${o.ids ? "with ids" : "FIFO, no ids"}), ${o.threads} thread(s), ${o.durationS} s`],
    ["request frame", `${int(o.requestBytes)} bytes`],
    ["date", s.date],
    ["machine", `${s.machine.cpus} CPUs (${s.machine.cpu}), ${s.machine.os}, Node ${s.machine.node}`],
  ];
  const results: Array<[string, string]> = [
    ["requests", `${int(s.requests)} in ${s.seconds.toFixed(2)} s`],
    ["throughput", `${int(s.rps)} req/s`],
    ["errors", errorsText(s)],
    ["connections lost", s.connectionsLost === 0 ? "none" : `${int(s.connectionsLost)} (${s.lostReasons.join("; ")})`],
    ["load generator CPU", `${s.loadgen.cpuUsPerRequest.toFixed(2)} µs per request, ${s.loadgen.cores.toFixed(2)} cores`],
  ];
  const latency: Array<[string, string]> = [
    ["min", duration(l.min)],
    ["mean", duration(l.mean)],
    ["p50", duration(l.p50)],
    ["p90", duration(l.p90)],
    ["p99", duration(l.p99)],
    ["p99.9", duration(l.p999)],
    ["max", duration(l.max)],
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>forkrpc bench: ${esc(o.method)} on ${esc(hostPort(o.host, o.port))}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; color: #1d2733; max-width: 820px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: 3px 14px 3px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; color: #4b5866; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.grid line { stroke: #e3e7ec; } .axis text { font-size: 12px; fill: #4b5866; }
.curve { fill: none; stroke: #2463c4; stroke-width: 2; } .mark { fill: #c4452a; } .mark-label { font-size: 12px; fill: #c4452a; }
</style>
</head>
<body>
<h1>forkrpc bench: ${esc(o.method)} on ${esc(hostPort(o.host, o.port))}</h1>
<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>
<h2>Results</h2>
<table>${results.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>
<h2>Latency</h2>
<p>From the write that carried a request to the read that brought its answer. With ${o.pipeline} requests in flight per connection this is mostly queueing: it compares runs under the same load, it is not the latency of an idle server.</p>
<table><tr>${latency.map(([k]) => `<th>${esc(k)}</th>`).join("")}</tr><tr>${latency.map(([, v]) => `<td class="n">${esc(v)}</td>`).join("")}</tr></table>
${latencyChart(histogram)}
<p><small>Percentiles from a log-linear histogram with 2 significant digits (values within 0.8 %), as HdrHistogram reports them: the top of the bucket holding each rank.</small></p>
</body>
</html>
`;
}

/** The percentile curve as an inline SVG step line. */
export function latencyChart(h: Histogram): string {
  if (h.total === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60" role="img"><text x="10" y="30">no answers: nothing to chart</text></svg>`;
  const decades = Math.min(6, Math.max(3, Math.ceil(Math.log10(h.total))));
  const xOf = (fraction: number) => {
    const x = fraction >= 1 ? decades : Math.min(decades, -Math.log10(1 - fraction));
    return PAD.left + (x / decades) * (W - PAD.left - PAD.right);
  };
  const top = niceCeiling(h.max);
  const yOf = (us: number) => H - PAD.bottom - (us / top) * (H - PAD.top - PAD.bottom);
  let path = `M${xOf(0).toFixed(1)},${yOf(h.min).toFixed(1)}`;
  let atX = xOf(0);
  for (const { fraction, value } of h.curve()) {
    const x = xOf(fraction);
    // Buckets that end within half a pixel of the last drawn one add nothing the next step does not draw.
    if (x - atX < 0.5 && fraction < 1) continue;
    path += ` V${yOf(value).toFixed(1)} H${x.toFixed(1)}`;
    atX = x;
  }
  const xTicks = Array.from({ length: decades + 1 }, (_, d) => {
    const x = xOf(1 - 10 ** -d).toFixed(1);
    const label = d === 0 ? "0%" : `${(100 - 100 * 10 ** -d).toFixed(Math.max(0, d - 2))}%`;
    // The last label ends at its line: centred, it ran past the chart's right edge and was cut.
    const anchor = d === decades ? "end" : "middle";
    return `<line x1="${x}" x2="${x}" y1="${PAD.top}" y2="${H - PAD.bottom}"/><text x="${x}" y="${H - PAD.bottom + 18}" text-anchor="${anchor}">${label}</text>`;
  });
  const unit = axisUnit(top);
  const yTicks = Array.from({ length: 6 }, (_, i) => {
    const us = (top * i) / 5;
    const y = yOf(us).toFixed(1);
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}"/><text x="${PAD.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(unit(us))}</text>`;
  });
  const marks = ([
    ["p50", 50],
    ["p90", 90],
    ["p99", 99],
    ["p99.9", 99.9],
  ] as const).map(([name, q]) => {
    const x = xOf(q / 100).toFixed(1);
    const us = h.percentile(q);
    const y = yOf(us).toFixed(1);
    return `<circle class="mark" cx="${x}" cy="${y}" r="3.5"/><text class="mark-label" x="${x}" y="${(Number(y) - 8).toFixed(1)}" text-anchor="middle">${name} ${esc(duration(us))}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency by percentile">
<g class="grid axis">${xTicks.join("")}${yTicks.join("")}</g>
<path class="curve" d="${path}"/>
${marks.join("\n")}
<text class="axis" x="${(PAD.left + W - PAD.right) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">percentile</text>
</svg>`;
}

/**
 * One unit for every label of the latency axis, chosen by its top value
 * (the bottom label read "0 µs" under labels in ms otherwise).
 */
export function axisUnit(topUs: number): (us: number) => string {
  const [scale, name] = topUs >= 1_000_000 ? [1_000_000, "s"] : topUs >= 1_000 ? [1_000, "ms"] : [1, "µs"];
  return (us) => `${Number((us / scale).toFixed(3))} ${name}`;
}

/** 1, 2 or 5 times a power of ten, at or above `n` (and above 0). */
function niceCeiling(n: number): number {
  if (n <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
