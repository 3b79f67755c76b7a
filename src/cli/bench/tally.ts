/**
 * One load thread's counts: answers, their latencies, error answers by code,
 * lost connections. Its connections write here; the thread reports it once,
 * at the end, and publishes two running totals for the progress line.
 */
import { Histogram } from "./histogram.ts";
import type { LoadResult } from "./messages.ts";

/** The code counted for an answer that is not a well-formed response (or answers nothing we asked). */
export const BAD_RESPONSE = "BAD_RESPONSE";

const MAX_REASONS = 5;

export class Tally {
  readonly histogram = new Histogram(2);
  answers = 0;
  errors = 0;
  readonly errorsByCode = new Map<string, number>();
  connectionsLost = 0;
  readonly lostReasons: string[] = [];
  goaways = 0;
  /** performance.now() of the read being handled: one clock read per read, not per answer. */
  now = 0;
  /** performance.now() past which nothing is counted nor sent (Infinity until the start). */
  endAt = Infinity;
  readonly #progress: Float64Array;
  readonly #at: number;

  constructor(progress: SharedArrayBuffer, slot: number) {
    this.#progress = new Float64Array(progress);
    this.#at = 2 * slot;
  }

  /** An answer to a request sent at `sentAt` (performance.now() ms). */
  answer(sentAt: number): void {
    this.answers++;
    this.histogram.record((this.now - sentAt) * 1000);
  }

  error(code: string): void {
    this.errors++;
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
  }

  lost(why: string): void {
    this.connectionsLost++;
    if (this.lostReasons.length < MAX_REASONS && !this.lostReasons.includes(why)) this.lostReasons.push(why);
  }

  /** Running totals for the main thread's progress line (plain stores: one writer, read once a second). */
  publish(): void {
    this.#progress[this.#at] = this.answers;
    this.#progress[this.#at + 1] = this.errors;
  }

  result(stoppedAt: number): LoadResult {
    this.publish();
    return {
      answers: this.answers,
      errorsByCode: Object.fromEntries(this.errorsByCode),
      histogram: this.histogram.toData(),
      connectionsLost: this.connectionsLost,
      lostReasons: this.lostReasons,
      goaways: this.goaways,
      stoppedAt,
    };
  }
}
