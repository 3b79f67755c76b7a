/**
 * Reload generations as pure functions over the worker table: which workers
 * count toward the target, and when a booting generation may take over.
 */
import type { WorkerRecord } from "./records.ts";

/** Workers of `generation` that count toward the target: booting or ready. */
export function servingWorkers(records: Iterable<WorkerRecord>, generation: number): WorkerRecord[] {
  return [...records].filter((r) => r.generation === generation && (r.state === "booting" || r.state === "ready"));
}

/** How many workers to fork so that `generation` has `target` of them. */
export function missingWorkers(records: Iterable<WorkerRecord>, generation: number, target: number): number {
  return Math.max(0, target - servingWorkers(records, generation).length);
}

export interface Takeover {
  /** Workers of older generations, to retire. */
  readonly old: WorkerRecord[];
  /** Ready workers of the new generation past the target (SIGTTOU during the reload), to retire. */
  readonly surplus: WorkerRecord[];
}

/**
 * A reload to `generation` completes once it has `target` ready workers and
 * none still booting; until then this returns null and the old generation
 * keeps serving alone.
 */
export function reloadTakeover(records: Iterable<WorkerRecord>, generation: number, target: number): Takeover | null {
  const all = [...records];
  const fresh = servingWorkers(all, generation);
  const ready = fresh.filter((r) => r.state === "ready");
  if (ready.length < target || ready.length < fresh.length) return null;
  return { old: all.filter((r) => r.generation < generation), surplus: ready.slice(target) };
}

/** The worker a scale-down retires: the oldest of the serving generation. */
export function oldestServing(records: Iterable<WorkerRecord>, generation: number): WorkerRecord | undefined {
  return servingWorkers(records, generation).sort((a, b) => a.forkedAt - b.forkedAt)[0];
}
