/**
 * The master's table of workers: forking, what each one last reported, and
 * the report pipe its watchdog writes to. Policy (when to fork, retire or
 * kill) lives in primary.ts; this file only keeps the facts.
 */
import cluster, { type Worker } from "node:cluster";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { REPORT_FD_ENV, router, type HeartbeatMessage, type ToPrimary, type ToWorker } from "./ipc.ts";
import type { StallReport } from "./watchdog.ts";

/**
 * booting: forked, not ready yet. ready: serving. replaced: still serving,
 * while its replacement boots. retiring: told to drain. killed: sent SIGKILL.
 */
export type WorkerState = "booting" | "ready" | "replaced" | "retiring" | "killed";

export interface WorkerRecord {
  readonly worker: Worker;
  readonly pid: number;
  /** Reload generation: a reload starts a new one. */
  readonly generation: number;
  readonly forkedAt: number;
  state: WorkerState;
  readyAt: number | undefined;
  lastBeatAt: number;
  beat: HeartbeatMessage | undefined;
  /** Requests after which this worker is recycled (maxRequests plus its jitter), or 0. */
  readonly maxRequests: number;
  /** The worker this one was forked to replace, if any. */
  readonly replaces: WorkerRecord | undefined;
  /** No recycling before this time (its last replacement failed to boot). */
  recycleAfter: number;
  /** Why we retired or killed it, when we did. */
  endReason: string | undefined;
  /** Its last uncaught error, as it reported it. */
  lastError: string | undefined;
  /** The watchdog's latest report of a stalled event loop. */
  lastStall: StallReport | undefined;
}

export interface PoolEvents {
  ready(record: WorkerRecord, msg: { host: string; port: number; methods: number }): void;
  bootFailed(record: WorkerRecord, why: string): void;
  heartbeat(record: WorkerRecord): void;
  exited(record: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void;
}

/** The report pipe sits after stdin, stdout, stderr and the IPC channel. */
const REPORT_FD = 4;

export class WorkerPool {
  readonly records = new Map<number, WorkerRecord>();
  readonly #events: PoolEvents;
  readonly #env: Record<string, string>;

  constructor(events: PoolEvents, env: Record<string, string>) {
    this.#events = events;
    this.#env = env;
    cluster.setupPrimary({ stdio: ["inherit", "inherit", "inherit", "ipc", "pipe"] });
  }

  fork(generation: number, maxRequests: number, replaces?: WorkerRecord): WorkerRecord {
    const worker = cluster.fork({ ...this.#env, [REPORT_FD_ENV]: String(REPORT_FD) });
    const now = Date.now();
    const record: WorkerRecord = {
      worker,
      pid: worker.process.pid ?? 0,
      generation,
      forkedAt: now,
      state: "booting",
      readyAt: undefined,
      lastBeatAt: now,
      beat: undefined,
      maxRequests,
      replaces,
      recycleAfter: 0,
      endReason: undefined,
      lastError: undefined,
      lastStall: undefined,
    };
    this.records.set(worker.id, record);
    worker.on(
      "message",
      router<ToPrimary>({
        "forkrpc:ready": (msg) => this.#events.ready(record, msg),
        "forkrpc:boot-failed": (msg) => this.#events.bootFailed(record, `${msg.code}: ${msg.message}`),
        "forkrpc:fatal": (msg) => (record.lastError = msg.message),
        "forkrpc:heartbeat": (msg) => {
          record.beat = msg;
          record.lastBeatAt = Date.now();
          this.#events.heartbeat(record);
        },
      }),
    );
    this.#readReports(record);
    worker.on("exit", (code: number | null, signal: NodeJS.Signals | null) => {
      this.records.delete(worker.id);
      this.#events.exited(record, code, signal);
    });
    return record;
  }

  /** Asks a worker to drain and exit. */
  retire(record: WorkerRecord, reason: string): void {
    if (record.state === "retiring" || record.state === "killed") return;
    const booting = record.state === "booting";
    record.state = "retiring";
    record.endReason = reason;
    // A message sent before a booting worker listens for messages is lost;
    // SIGTERM is not: it kills a worker that has no handler yet, and takes
    // the graceful path in one that has.
    if (booting || !record.worker.isConnected()) {
      record.worker.process.kill("SIGTERM");
      return;
    }
    const msg: ToWorker = { act: "forkrpc:drain", reason };
    record.worker.send(msg);
  }

  kill(record: WorkerRecord, reason: string): void {
    if (record.state === "killed") return;
    record.state = "killed";
    record.endReason = reason;
    record.worker.process.kill("SIGKILL");
  }

  all(): WorkerRecord[] {
    return [...this.records.values()];
  }

  /** Workers in any of these states. */
  inState(...states: WorkerState[]): WorkerRecord[] {
    return this.all().filter((r) => states.includes(r.state));
  }

  get size(): number {
    return this.records.size;
  }

  #readReports(record: WorkerRecord): void {
    const pipe = record.worker.process.stdio?.[REPORT_FD] as Readable | null | undefined;
    if (!pipe) return;
    const lines = createInterface({ input: pipe });
    lines.on("line", (line) => {
      try {
        const report = JSON.parse(line) as StallReport;
        if (report.act === "forkrpc:stall") record.lastStall = report;
      } catch {
        // not ours
      }
    });
    pipe.on("error", () => {});
  }
}
