/**
 * What the master says when it kills a hung worker: the handler call its
 * watchdog saw on the stack, and the longest-running requests from its last
 * heartbeat, with their ages now.
 */
import type { WorkerRecord } from "./pool.ts";

export /** What a hung worker was doing, from its watchdog's report and its last heartbeat. */
function describeHang(r: WorkerRecord, now: number): string {
  const parts: string[] = [];
  const stall = r.lastStall;
  if (stall?.call) parts.push(`blocked in ${stall.call.method}${stall.call.id === null ? "" : ` (id ${JSON.stringify(stall.call.id)})`} for at least ${stall.blockedMs} ms`);
  else if (stall) parts.push(`event loop blocked for at least ${stall.blockedMs} ms outside any handler call`);
  const since = now - r.lastBeatAt;
  const inflight = r.beat?.inflight ?? [];
  if (inflight.length > 0) {
    const list = inflight.map((q) => `${q.method}${q.id === null ? "" : ` (id ${JSON.stringify(q.id)})`} ${q.ms + since} ms`);
    parts.push(`in flight: ${list.join(", ")}${(r.beat?.inflightCount ?? 0) > inflight.length ? ", ..." : ""}`);
  }
  return parts.length > 0 ? parts.join("; ") : "nothing was in flight at its last heartbeat";
}
