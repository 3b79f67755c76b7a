/**
 * What a serving process is doing: requests answered, requests running, and
 * the handler call on the stack right now. Heartbeats report the first two;
 * the third lives in shared memory so that a watchdog thread can still read
 * it while a handler blocks the event loop.
 */
import type { RequestId } from "../protocol/envelope.ts";
import { shownId } from "../log.ts";
import type { CallMetrics } from "../metrics/recorder.ts";

/** A request that is running asynchronously: a link in the list of them, oldest first. */
export interface Running {
  readonly method: string;
  readonly id: RequestId | undefined;
  readonly startedAt: number;
  prev: Running | null;
  next: Running | null;
}

/** Layout of the shared call slot (Int32 indexes; see CALL_SLOT_BYTES). */
export const SLOT = {
  /** Incremented by the event loop on every heartbeat: stops moving when blocked. */
  TICK: 0,
  /** 1 while a handler's handle() is on the stack. */
  ACTIVE: 1,
  /** Index of that handler's method in the registry's method list. */
  METHOD: 2,
  /** 0: no id, 1: number (float at byte 16), 2: string (UTF-8 at byte 24, length at ID_LENGTH). */
  ID_KIND: 3,
  ID_LENGTH: 4,
  ID_NUMBER_BYTE: 16,
  ID_TEXT_BYTE: 24,
  ID_TEXT_MAX: 64,
} as const;
export const CALL_SLOT_BYTES = SLOT.ID_TEXT_BYTE + SLOT.ID_TEXT_MAX;

export class Activity {
  /** Requests answered (results and errors alike). */
  served = 0;
  /** Per-method counts and histograms for the master's /metrics; null when no one reads them (no admin server). */
  metrics: CallMetrics | null = null;
  /**
   * Asynchronous requests in flight, as an intrusive list (oldest at the
   * head) and a count: O(1) to add and remove with no Set bookkeeping, which
   * the profile showed costing a tenth of an async request.
   */
  #head: Running | null = null;
  #tail: Running | null = null;
  #inflight = 0;
  readonly #i32: Int32Array | null;
  readonly #f64: Float64Array | null;
  readonly #text: Uint8Array | null;

  constructor(shared?: SharedArrayBuffer) {
    // Up to the text: ID_LENGTH (index 4) shares bytes 16-19 with the float,
    // which a string id does not use. A view ending at byte 16 dropped it.
    this.#i32 = shared ? new Int32Array(shared, 0, SLOT.ID_TEXT_BYTE / 4) : null;
    this.#f64 = shared ? new Float64Array(shared, SLOT.ID_NUMBER_BYTE, 1) : null;
    this.#text = shared ? new Uint8Array(shared, SLOT.ID_TEXT_BYTE, SLOT.ID_TEXT_MAX) : null;
  }

  /** Proof of life for the watchdog, called from the event loop. */
  tick(): void {
    if (this.#i32 !== null) Atomics.add(this.#i32, SLOT.TICK, 1);
  }

  /** A handler's handle() is about to run. */
  enter(methodIndex: number, id: RequestId | undefined): void {
    const i32 = this.#i32;
    if (i32 === null) return;
    i32[SLOT.METHOD] = methodIndex;
    if (id === undefined) {
      i32[SLOT.ID_KIND] = 0;
    } else if (typeof id === "number") {
      (this.#f64 as Float64Array)[0] = id;
      i32[SLOT.ID_KIND] = 1;
    } else {
      i32[SLOT.ID_LENGTH] = encoder.encodeInto(id, this.#text as Uint8Array).written;
      i32[SLOT.ID_KIND] = 2;
    }
    i32[SLOT.ACTIVE] = 1;
  }

  /** handle() has returned (or thrown). */
  leave(): void {
    if (this.#i32 !== null) this.#i32[SLOT.ACTIVE] = 0;
  }

  /** Requests running asynchronously now. */
  get inflight(): number {
    return this.#inflight;
  }

  begin(method: string, id: RequestId | undefined): Running {
    const r: Running = { method, id, startedAt: performance.now(), prev: this.#tail, next: null };
    if (this.#tail === null) this.#head = r;
    else this.#tail.next = r;
    this.#tail = r;
    this.#inflight++;
    return r;
  }

  end(r: Running): void {
    if (r.prev === null) this.#head = r.next;
    else r.prev.next = r.next;
    if (r.next === null) this.#tail = r.prev;
    else r.next.prev = r.prev;
    r.prev = r.next = null;
    this.#inflight--;
  }

  /** Requests running asynchronously now, by method (once a heartbeat: a walk of the list). */
  inflightByMethod(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let r = this.#head; r !== null; r = r.next) out[r.method] = (out[r.method] ?? 0) + 1;
    return out;
  }

  /** The `limit` longest-running requests, with their age in ms. */
  oldest(limit: number): Array<{ method: string; id: RequestId | null; ms: number }> {
    const now = performance.now();
    const out: Array<{ method: string; id: RequestId | null; ms: number }> = [];
    for (let r = this.#head; r !== null && out.length < limit; r = r.next) {
      out.push({ method: r.method, id: shownId(r.id ?? null), ms: Math.round(now - r.startedAt) });
    }
    return out;
  }
}

const encoder = new TextEncoder();
