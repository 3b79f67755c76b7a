/**
 * The master's worker processes, the thin forking shell under the
 * supervisor: fork one, route what it says (IPC messages and its watchdog's
 * stall reports) to the supervisor, ask it to drain, kill it. It decides
 * nothing and changes no worker's state.
 */
import cluster, { type Worker } from "node:cluster";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { REPORT_FD_ENV, router, type ToPrimary, type ToWorker } from "./ipc.ts";
import type { WorkerRecord } from "./records.ts";
import type { Supervisor } from "./supervisor.ts";
import type { StallReport } from "./watchdog.ts";
import { workerExecArgv } from "../node-flags.ts";

/** The report pipe sits after stdin, stdout, stderr and the IPC channel. */
const REPORT_FD = 4;

export class WorkerProcesses {
  readonly #workers = new WeakMap<WorkerRecord, Worker>();
  readonly #env: Record<string, string>;
  /** Set once the supervisor exists (it needs this shell to be built). */
  supervisor: Supervisor | null = null;

  /** The cluster's session-ticket keys (ticket-keys.ts), given to each worker that asks. */
  readonly #ticketKeys: () => string;

  constructor(env: Record<string, string>, ticketKeys: () => string) {
    this.#env = env;
    this.#ticketKeys = ticketKeys;
    cluster.setupPrimary({
      stdio: ["inherit", "inherit", "inherit", "ipc", "pipe"],
      execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS),
    });
  }

  fork(record: WorkerRecord): number {
    const worker = cluster.fork({ ...this.#env, [REPORT_FD_ENV]: String(REPORT_FD) });
    this.#workers.set(record, worker);
    const to = () => this.supervisor as Supervisor;
    worker.on(
      "message",
      router<ToPrimary>({
        "forkrpc:ready": (msg) => to().workerReady(record, msg),
        "forkrpc:boot-failed": (msg) => to().workerBootFailed(record, `${msg.code}: ${msg.message}`),
        "forkrpc:fatal": (msg) => to().workerFatal(record, msg.message),
        "forkrpc:heartbeat": (msg) => to().workerHeartbeat(record, msg),
        "forkrpc:want-ticket-keys": () => send(worker, { act: "forkrpc:ticket-keys", keys: this.#ticketKeys() }),
      }),
    );
    this.#readReports(worker, (report) => to().workerStalled(record, report));
    worker.on("exit", (code: number | null, signal: NodeJS.Signals | null) => to().workerExited(record, code, signal));
    return worker.process.pid ?? 0;
  }

  drain(record: WorkerRecord, reason: string, booting: boolean): void {
    const worker = this.#workers.get(record);
    if (worker === undefined) return;
    // A message sent before a booting worker listens for messages is lost;
    // SIGTERM is not: it kills a worker that has no handler yet, and takes
    // the graceful path in one that has.
    if (booting || !worker.isConnected()) {
      worker.process.kill("SIGTERM");
      return;
    }
    const msg: ToWorker = { act: "forkrpc:drain", reason };
    worker.send(msg);
  }

  /** Sends to every worker that can hear it (new ticket keys). */
  broadcast(msg: ToWorker): void {
    for (const worker of Object.values(cluster.workers ?? {})) if (worker !== undefined) send(worker, msg);
  }

  kill(record: WorkerRecord): void {
    this.#workers.get(record)?.process.kill("SIGKILL");
  }

  /** The watchdog thread's stall reports, JSON lines on the report pipe. */
  #readReports(worker: Worker, onStall: (report: StallReport) => void): void {
    const pipe = worker.process.stdio?.[REPORT_FD] as Readable | null | undefined;
    if (!pipe) return;
    const lines = createInterface({ input: pipe });
    lines.on("line", (line) => {
      try {
        const report = JSON.parse(line) as StallReport;
        if (report.act === "forkrpc:stall") onStall(report);
      } catch {
        // not ours
      }
    });
    pipe.on("error", () => {});
  }
}

function send(worker: Worker, msg: ToWorker): void {
  if (worker.isConnected()) worker.send(msg);
}
