/**
 * The master's side of metrics, as an observer of the supervisor: adds
 * each heartbeat's delta to the totals, gives each worker a slot (the
 * `worker` label: the lowest index free when it was forked, so labels stay
 * few across restarts), counts restarts and reloads, and remembers the
 * recent ones as markers for the dashboard.
 */
import { MetricTotals, type RestartReason } from "../metrics/totals.ts";
import type { WorkerView } from "../metrics/exposition.ts";
import type { MasterObserver } from "./observers.ts";
import type { MasterPhase, WorkerRecord, WorkerState } from "./records.ts";
import { recycleKind, restartReason } from "./restart-reason.ts";

/** A restart or reload, as a marker on the dashboard's time axis. */
export interface MasterEvent {
  /** ms since the epoch. */
  readonly at: number;
  readonly kind: "restart" | "reload";
  /** The restart's reason, or the reload's outcome. */
  readonly label: string;
  readonly detail: string;
}

const LIVE_STATES: readonly WorkerState[] = ["booting", "ready", "recycling", "retiring", "killed"];
const KEPT_EVENTS = 100;

interface Seen {
  served: number;
  accepted: number;
  rejected: number;
  acceptFailed: number;
}

export class MetricsObserver implements MasterObserver {
  readonly totals = new MetricTotals();
  readonly events: MasterEvent[] = [];
  #phase: MasterPhase = "starting";
  readonly #slots = new Map<Readonly<WorkerRecord>, number>();
  readonly #seen = new WeakMap<Readonly<WorkerRecord>, Seen>();
  readonly #recycled = new WeakMap<Readonly<WorkerRecord>, RestartReason>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  worker(r: Readonly<WorkerRecord>, from: WorkerState | null, reason: string | undefined): void {
    if (from === null) {
      const used = new Set(this.#slots.values());
      let slot = 0;
      while (used.has(slot)) slot++;
      this.#slots.set(r, slot);
      this.totals.slot(slot);
      return;
    }
    if (r.state === "recycling" && reason !== undefined) {
      const kind = recycleKind(reason);
      if (kind !== undefined) this.#recycled.set(r, kind);
    }
    if (r.state !== "exited") return;
    this.#slots.delete(r);
    const why = restartReason(from, r.endReason, this.#recycled.get(r), this.#phase);
    if (why === undefined) return;
    this.totals.restarted(why);
    this.#event({ at: this.#now(), kind: "restart", label: why, detail: `worker ${r.pid}${r.endReason ?? r.lastError ? `: ${r.endReason ?? r.lastError}` : ""}` });
  }

  phase(phase: MasterPhase): void {
    this.#phase = phase;
  }

  reload(generation: number, outcome: "started" | "complete" | "abandoned", detail: string): void {
    if (outcome === "started") return;
    this.totals.reloaded(outcome);
    this.#event({ at: this.#now(), kind: "reload", label: outcome, detail: detail === "" ? `generation ${generation}` : `generation ${generation}: ${detail}` });
  }

  heartbeat(r: Readonly<WorkerRecord>): void {
    const slot = this.#slots.get(r);
    const beat = r.beat;
    if (slot === undefined || beat === undefined) return;
    const seen = this.#seen.get(r) ?? { served: 0, accepted: 0, rejected: 0, acceptFailed: 0 };
    const totals = this.totals.slot(slot);
    totals.served += beat.served - seen.served;
    totals.accepted += beat.accepted - seen.accepted;
    totals.acceptFailed += beat.acceptFailed - seen.acceptFailed;
    totals.refusedFull += beat.rejected - beat.acceptFailed - (seen.rejected - seen.acceptFailed);
    this.#seen.set(r, { served: beat.served, accepted: beat.accepted, rejected: beat.rejected, acceptFailed: beat.acceptFailed });
    if (beat.metrics !== undefined) this.totals.add(slot, beat.metrics);
  }

  /** The live workers as the exposition and the dashboard show them. */
  workers(): WorkerView[] {
    return [...this.#slots].map(([r, slot]) => ({
      slot,
      pid: r.pid,
      state: r.state,
      generation: r.generation,
      connections: r.beat?.connections ?? 0,
      rssBytes: r.beat?.rssBytes ?? 0,
      loopDelayP50: r.beat?.metrics?.loopDelayP50 ?? 0,
      loopDelayP99: r.beat?.metrics?.loopDelayP99 ?? 0,
      inflight: r.beat?.metrics?.inflight ?? {},
      beatAt: r.lastBeatAt,
    }));
  }

  /** The longest-running calls over every worker, from their last heartbeats, slowest first. */
  slowest(limit: number): Array<{ worker: number; method: string; id: string | number | null; ms: number }> {
    const now = this.#now();
    const all = [...this.#slots].flatMap(([r, slot]) =>
      (r.beat?.oldest ?? []).map((q) => ({ worker: slot, method: q.method, id: q.id, ms: q.ms + Math.max(0, now - r.lastBeatAt) })),
    );
    return all.sort((a, b) => b.ms - a.ms).slice(0, limit);
  }

  /** Live workers by state, every state present. */
  states(): Map<string, number> {
    const out = new Map<string, number>(LIVE_STATES.map((s) => [s, 0]));
    for (const r of this.#slots.keys()) out.set(r.state, (out.get(r.state) ?? 0) + 1);
    return out;
  }

  /** Ready to take traffic: serving, not stopping, and some worker is ready. */
  ready(): boolean {
    return this.#phase === "serving" && [...this.#slots.keys()].some((r) => r.state === "ready" || r.state === "recycling");
  }

  #event(e: MasterEvent): void {
    this.events.push(e);
    if (this.events.length > KEPT_EVENTS) this.events.shift();
  }
}
