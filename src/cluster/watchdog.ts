/**
 * A watchdog thread inside each worker. When a handler blocks the event
 * loop, nothing on the main thread can report it: heartbeats just stop.
 * This thread can: it reads the loop's tick in shared memory and, while
 * the loop is stalled, writes which handler call is on the stack (method,
 * request id, how long) as JSON lines to the master's report pipe, so the
 * master can say what hung when it kills the worker.
 *
 * The thread's code is a plain-JS string (eval), so it runs the same from
 * source and from a build, without the TypeScript loader in the thread.
 */
import { Worker } from "node:worker_threads";
import { describe } from "../errors.ts";
import { log } from "../log.ts";
import { CALL_SLOT_BYTES, SLOT } from "../server/activity.ts";

export interface StallReport {
  readonly act: "forkrpc:stall";
  /** How long the event loop has not ticked. */
  readonly blockedMs: number;
  /** The handler call on the stack, if one is. */
  readonly call: { readonly method: string; readonly id: string | number | null } | null;
}

export interface WatchdogOptions {
  readonly methods: readonly string[];
  /** File descriptor the reports go to (the master's pipe, or stderr). */
  readonly reportFd: number;
  /** Report once the loop has been stalled this long, and again every periodMs while it stays so. */
  readonly stallMs: number;
  readonly periodMs: number;
}

const THREAD = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const { shared, slot, methods, reportFd, stallMs, periodMs } = workerData;
const i32 = new Int32Array(shared, 0, slot.ID_TEXT_BYTE / 4);
const f64 = new Float64Array(shared, slot.ID_NUMBER_BYTE, 1);
const text = new Uint8Array(shared, slot.ID_TEXT_BYTE, slot.ID_TEXT_MAX);
const decoder = new TextDecoder();
let lastTick = Atomics.load(i32, slot.TICK);
let movedAt = Date.now();
let reportedAt = 0;
setInterval(() => {
  const now = Date.now();
  const tick = Atomics.load(i32, slot.TICK);
  if (tick !== lastTick) { lastTick = tick; movedAt = now; return; }
  const blockedMs = now - movedAt;
  if (blockedMs < stallMs || now - reportedAt < periodMs) return;
  reportedAt = now;
  let call = null;
  if (i32[slot.ACTIVE] === 1) {
    const kind = i32[slot.ID_KIND];
    const id = kind === 1 ? f64[0] : kind === 2 ? decoder.decode(text.slice(0, i32[slot.ID_LENGTH])) : null;
    call = { method: methods[i32[slot.METHOD]] ?? "?", id };
  }
  try { writeSync(reportFd, JSON.stringify({ act: "forkrpc:stall", blockedMs, call }) + "\\n"); } catch {}
}, Math.max(10, Math.floor(periodMs / 4)));
`;

/** The memory an Activity writes to and the watchdog reads. */
export function createCallSlot(): SharedArrayBuffer {
  return new SharedArrayBuffer(CALL_SLOT_BYTES);
}

/** Starts the thread; it ends with the process. */
export function startWatchdog(shared: SharedArrayBuffer, options: WatchdogOptions): void {
  const thread = new Worker(THREAD, { eval: true, workerData: { ...options, shared, slot: SLOT } });
  // A thread that fails (it cannot start when descriptors run out) would
  // otherwise throw its error on this, the serving, thread.
  thread.on("error", (error) => log.error(`watchdog thread failed, hangs will be reported without the call on the stack: ${describe(error)}`));
  thread.unref();
}
