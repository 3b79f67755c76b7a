/**
 * What the master says about its workers: what a hung one was running when
 * it is killed, and the SIGUSR2 status lines.
 */
import type { WorkerRecord } from "./records.ts";

/** What a hung worker was doing, from its watchdog's report and its last heartbeat, with ages as of `now`. */
export function describeHang(r: WorkerRecord, now: number): string {
  const parts: string[] = [];
  const stall = r.lastStall;
  if (stall?.call) parts.push(`blocked in ${stall.call.method}${stall.call.id === null ? "" : ` (id ${JSON.stringify(stall.call.id)})`} for at least ${stall.blockedMs} ms`);
  else if (stall) parts.push(`event loop blocked for at least ${stall.blockedMs} ms outside any handler call`);
  const since = now - r.lastBeatAt;
  const oldest = r.beat?.oldest ?? [];
  if (oldest.length > 0) {
    const list = oldest.map((q) => `${q.method}${q.id === null ? "" : ` (id ${JSON.stringify(q.id)})`} ${q.ms + since} ms`);
    parts.push(`in flight: ${list.join(", ")}${(r.beat?.inflight ?? 0) > oldest.length ? ", ..." : ""}`);
  }
  return parts.length > 0 ? parts.join("; ") : "nothing was in flight at its last heartbeat";
}

/** The SIGUSR2 report: a header line, then one line per worker. */
export function statusReport(records: readonly WorkerRecord[], target: number, generation: number): string {
  const lines = records.map((r) => {
    const b = r.beat;
    const rss = b ? `${Math.round(b.rssBytes / 1048576)} MB` : "?";
    return `  worker ${r.pid} gen ${r.generation} ${r.state}: ${b?.accepted ?? 0} connections accepted, ${b?.connections ?? 0} open, ${b?.rejected ?? 0} refused, ${b?.served ?? 0} requests, ${b?.inflight ?? 0} in flight, rss ${rss}`;
  });
  return `${records.length} workers (target ${target}, generation ${generation}):\n${lines.join("\n")}`;
}

/** The CLI's hint for a boot failure reported as "CODE: message", if it has one. */
export function bootHint(why: string, hint: ((code: string, message: string) => string | undefined) | undefined): string | undefined {
  const coded = /^([A-Z_]+): ([^]*)$/.exec(why);
  return coded === null ? undefined : hint?.(coded[1] as string, coded[2] as string);
}
