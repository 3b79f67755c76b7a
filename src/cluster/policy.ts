/**
 * The master's supervision policy as pure functions: given the facts (a
 * record, the time, the supervision config), what to do. No process, timer
 * or signal in here, so test/cluster/policy.test.ts checks them without forks.
 */
import type { ServerConfig } from "../config.ts";
import { describeHang } from "./reports.ts";
import { BEATING, type WorkerRecord } from "./records.ts";

export type Supervision = ServerConfig["supervision"];

/**
 * How long to wait before forking again after `crashes` early deaths in a
 * row: nothing after a healthy death, then respawnDelayMs doubling up to
 * respawnDelayMaxMs (100, 200, 400, ... with the defaults).
 */
export function respawnDelay(crashes: number, s: Pick<Supervision, "respawnDelayMs" | "respawnDelayMaxMs">): number {
  if (crashes <= 0) return 0;
  return Math.min(s.respawnDelayMaxMs, s.respawnDelayMs * 2 ** (crashes - 1));
}

/**
 * Counts an unexpected worker death. A death before the worker was ready, or
 * within minUptimeMs of it, is early and adds one to the count; a worker that
 * lived longer resets it to 0, so healthy deaths never add up to a loop. A
 * crash loop is crashLoopLimit early deaths in a row.
 */
export function crashLoop(
  crashes: number,
  died: Pick<WorkerRecord, "readyAt">,
  now: number,
  s: Pick<Supervision, "minUptimeMs" | "crashLoopLimit">,
): { crashes: number; loop: boolean } {
  const early = died.readyAt === undefined || now - died.readyAt < s.minUptimeMs;
  const next = early ? crashes + 1 : 0;
  return { crashes: next, loop: next >= s.crashLoopLimit };
}

/**
 * The request count after which a new worker is recycled: maxRequests plus a
 * random jitter in [0, maxRequestsJitter], so workers forked together do not
 * all recycle together. 0 means never.
 */
export function requestLimit(s: Pick<Supervision, "maxRequests" | "maxRequestsJitter">, random: () => number = Math.random): number {
  if (s.maxRequests === 0) return 0;
  return s.maxRequests + Math.floor(random() * (s.maxRequestsJitter + 1));
}

/** Why a serving worker should be recycled now, from its last heartbeat, or undefined. */
export function recycleReason(
  r: Pick<WorkerRecord, "state" | "beat" | "maxRequests" | "recycleAfter">,
  now: number,
  s: Pick<Supervision, "maxRssMb">,
): string | undefined {
  if (r.state !== "ready" || r.beat === undefined || now < r.recycleAfter) return undefined;
  if (r.maxRequests > 0 && r.beat.served >= r.maxRequests) return `served ${r.beat.served} requests`;
  if (s.maxRssMb > 0 && r.beat.rssBytes > s.maxRssMb * 1024 * 1024) {
    return `RSS ${Math.round(r.beat.rssBytes / 1048576)} MB is over maxRssMb ${s.maxRssMb}`;
  }
  return undefined;
}

export interface Overdue {
  readonly record: WorkerRecord;
  /** True for a worker that never became ready (a boot failure), false for one that stopped beating. */
  readonly booting: boolean;
  readonly why: string;
}

/** Workers to kill: booting past bootTimeoutMs, or serving with no heartbeat for workerTimeoutMs. */
export function hungWorkers(
  records: Iterable<WorkerRecord>,
  now: number,
  s: Pick<Supervision, "workerTimeoutMs" | "bootTimeoutMs">,
): Overdue[] {
  const out: Overdue[] = [];
  for (const r of records) {
    if (r.state === "booting" && now - r.forkedAt > s.bootTimeoutMs) {
      out.push({ record: r, booting: true, why: `not ready after ${s.bootTimeoutMs} ms (supervision.bootTimeoutMs)` });
    } else if (BEATING.includes(r.state) && now - r.lastBeatAt > s.workerTimeoutMs) {
      out.push({ record: r, booting: false, why: `hung: no heartbeat for ${now - r.lastBeatAt} ms; ${describeHang(r, now)}` });
    }
  }
  return out;
}
