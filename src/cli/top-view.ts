/**
 * What `forkrpc top` prints for one snapshot of the admin server's
 * /events: rates from the previous snapshot's totals, p50/p99 of the
 * period, workers, the busiest methods, the slowest calls in flight and
 * the latest restarts and reloads. Pure: text in, text out.
 */
import type { Snapshot } from "../admin/snapshot.ts";
import { visible } from "./escape.ts";

const METHODS_SHOWN = 10;
const EVENTS_SHOWN = 5;

function rate(now: number, before: number | undefined, seconds: number): number | null {
  return before === undefined || now < before || seconds <= 0 ? null : (now - before) / seconds;
}

function n(value: number | null, digits = 0): string {
  return value === null || Number.isNaN(value) ? "-" : value.toFixed(digits);
}

function ms(seconds: number | null): string {
  return seconds === null ? "-" : (seconds * 1000).toFixed(3);
}

/** Right-aligned columns (the first left-aligned), two spaces apart. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd()).join("\n");
}

/**
 * Requests/s per worker slot. A worker's counters move only when its
 * heartbeat comes, at its own phase: a rate over the snapshots' times would
 * swing between 0 and twice the truth, so it is taken over the heartbeats'
 * times, and a worker with no new heartbeat since keeps its last rate
 * (`carried`, updated here).
 */
export function workerRates(cur: Snapshot, prev: Snapshot | null, carried: Map<number, number>): Map<number, number> {
  const before = new Map((prev?.workers ?? []).map((w) => [w.slot, w]));
  const out = new Map<number, number>();
  for (const w of cur.workers) {
    const b = before.get(w.slot);
    const seconds = b === undefined ? 0 : (w.beatAt - b.beatAt) / 1000;
    const r = b !== undefined && seconds > 0 && w.served >= b.served ? (w.served - b.served) / seconds : carried.get(w.slot);
    if (r !== undefined) out.set(w.slot, r);
  }
  carried.clear();
  for (const [slot, r] of out) carried.set(slot, r);
  return out;
}

export function renderTop(cur: Snapshot, prev: Snapshot | null, source: string, carried = new Map<number, number>()): string {
  const dt = prev === null ? 0 : (cur.at - prev.at) / 1000;
  const rates = workerRates(cur, prev, carried);
  const reqs = prev === null ? null : [...rates.values()].reduce((a, b) => a + b, 0);
  const total = Object.values(cur.codes).reduce((a, b) => a + b, 0);
  const errors = total - (cur.codes.OK ?? 0);
  const errorsBefore = prev === null ? undefined : Object.values(prev.codes).reduce((a, b) => a + b, 0) - (prev.codes.OK ?? 0);
  const head = [
    `forkrpc top: ${visible(source)}  ${new Date(cur.at).toISOString().slice(11, 19)}`,
    `${cur.workers.length} workers  ${n(reqs)} req/s  ${n(rate(errors, errorsBefore, dt), 1)} errors/s  p50 ${ms(cur.p50)} ms  p99 ${ms(cur.p99)} ms  ${cur.inflight} in flight`,
  ];
  const workers = table([
    ["worker", "pid", "gen", "state", "req/s", "conns", "rss MB", "loop p99 ms"],
    ...[...cur.workers]
      .sort((a, b) => a.slot - b.slot)
      .map((w) => [String(w.slot), String(w.pid), String(w.generation), w.state, n(rates.get(w.slot) ?? null), String(w.connections), (w.rssBytes / 1048576).toFixed(1), (w.loopDelayP99 * 1000).toFixed(2)]),
  ]);
  const old = new Map((prev?.methods ?? []).map((m) => [m.method, m]));
  const methods = cur.methods
    .map((m) => ({ m, r: rate(m.calls, old.get(m.method)?.calls, dt), e: rate(m.errors, old.get(m.method)?.errors, dt) }))
    .sort((a, b) => (b.r ?? 0) - (a.r ?? 0) || b.m.calls - a.m.calls)
    .slice(0, METHODS_SHOWN);
  const methodTable = table([
    ["method", "calls/s", "p99 ms", "errors/s", "calls", "errors"],
    ...methods.map(({ m, r, e }) => [visible(m.method), n(r, 1), ms(m.p99), n(e, 1), String(m.calls), String(m.errors)]),
  ]);
  const parts = [head.join("\n"), workers, methodTable];
  if (cur.slowest.length > 0) {
    parts.push(`slowest in flight:\n${table([["method", "id", "worker", "ms"], ...cur.slowest.map((q) => [visible(q.method), q.id === null ? "" : visible(String(q.id)), String(q.worker), String(q.ms)])])}`);
  }
  const events = cur.events.slice(-EVENTS_SHOWN).reverse();
  if (events.length > 0) {
    parts.push(`recent:\n${events.map((e) => `  ${new Date(e.at).toISOString().slice(11, 19)} ${e.kind} ${visible(e.label)}: ${visible(e.detail)}`).join("\n")}`);
  }
  return `${parts.join("\n\n")}\n`;
}
