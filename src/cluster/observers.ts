/**
 * The hook list the master calls on its state changes (see MasterObserver).
 */
import { describe } from "../errors.ts";
import type { MasterPhase, WorkerRecord, WorkerState } from "./records.ts";

/**
 * Hooks on the master's state changes, called synchronously after each one.
 * This is where later work attaches: registering the server in a service
 * registry once it serves (phase "serving") and withdrawing it when it stops
 * ("stopping"), aggregating the workers' heartbeats into metrics (`heartbeat`),
 * counting restarts (`worker` with state "exited"). An observer must not throw
 * and must not call back into the supervisor; what it throws is logged and
 * dropped.
 */
export interface MasterObserver {
  /** A worker changed state; `from` is null for a worker just forked. */
  worker?(record: Readonly<WorkerRecord>, from: WorkerState | null, reason: string | undefined): void;
  /** The master changed phase. */
  phase?(phase: MasterPhase, reason: string): void;
  /** A reload to `generation` started (detail: its reason), completed, or was abandoned (detail: why). */
  reload?(generation: number, outcome: "started" | "complete" | "abandoned", detail: string): void;
  /** A worker's heartbeat arrived (its record holds the figures). */
  heartbeat?(record: Readonly<WorkerRecord>): void;
}

export class Observers {
  readonly #list: MasterObserver[] = [];
  readonly #onError: (message: string) => void;

  constructor(onError: (message: string) => void) {
    this.#onError = onError;
  }

  /** Adds an observer; returns its removal. */
  add(observer: MasterObserver): () => void {
    this.#list.push(observer);
    return () => {
      const i = this.#list.indexOf(observer);
      if (i >= 0) this.#list.splice(i, 1);
    };
  }

  /** Calls every observer; one that throws is reported and the others still run. */
  notify(call: (o: MasterObserver) => void): void {
    for (const o of this.#list) {
      try {
        call(o);
      } catch (error) {
        this.#onError(`master observer failed: ${describe(error)}`);
      }
    }
  }
}
