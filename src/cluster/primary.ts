/**
 * The master role: fork N workers that accept competitively on one shared
 * socket, announce readiness once all of them listen, and stop them
 * gracefully on SIGTERM or SIGINT.
 *
 * Workers are kept in a table keyed by cluster id with a state each, so that
 * respawning, reloading and scaling (later) are transitions of that table.
 */
import cluster, { type Worker } from "node:cluster";
import type { ServerConfig } from "../config.ts";
import { log } from "../log.ts";
import { router, type ToPrimary, type ToWorker } from "./ipc.ts";

type WorkerState = "booting" | "ready" | "draining";

interface WorkerRecord {
  readonly worker: Worker;
  state: WorkerState;
}

export interface PrimaryOptions {
  /** Called once every worker listens (the CLI prints the ready line). */
  onReady: (info: { host: string; port: number; workers: number; methods: number }) => void;
  /** Environment given to every worker (how they learn their config). */
  workerEnv: Record<string, string>;
}

/** Resolves with the master's exit code. */
export function runPrimary(config: ServerConfig, options: PrimaryOptions): Promise<number> {
  // Competitive accept on the shared socket, as the tutorial's prefork does.
  // Round-robin would route connections through the master, and lose those
  // handed to a worker that has just died.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  return new Promise((resolve) => new Primary(config, options, resolve).start());
}

class Primary {
  readonly #workers = new Map<number, WorkerRecord>();
  readonly #config: ServerConfig;
  readonly #options: PrimaryOptions;
  readonly #done: (code: number) => void;
  #stopping = false;
  #exitCode = 0;
  #announced = false;

  constructor(config: ServerConfig, options: PrimaryOptions, done: (code: number) => void) {
    this.#config = config;
    this.#options = options;
    this.#done = done;
  }

  start(): void {
    process.on("SIGTERM", () => this.#signal("SIGTERM"));
    process.on("SIGINT", () => this.#signal("SIGINT"));
    for (let i = 0; i < this.#config.workers; i++) this.#fork();
  }

  #fork(): void {
    const worker = cluster.fork(this.#options.workerEnv);
    const record: WorkerRecord = { worker, state: "booting" };
    this.#workers.set(worker.id, record);
    worker.on(
      "message",
      router<ToPrimary>({
        "forkrpc:ready": (msg) => {
          record.state = "ready";
          this.#maybeAnnounce(msg.host, msg.port, msg.methods);
        },
        "forkrpc:boot-failed": (msg) => this.#bootFailed(worker, `${msg.code}: ${msg.message}`),
      }),
    );
    worker.on("exit", (code: number | null, signal: NodeJS.Signals | null) => this.#exited(record, code, signal));
  }

  #maybeAnnounce(host: string, port: number, methods: number): void {
    if (this.#announced || this.#stopping) return;
    for (const r of this.#workers.values()) if (r.state !== "ready") return;
    this.#announced = true;
    this.#options.onReady({ host, port, workers: this.#workers.size, methods });
  }

  #bootFailed(worker: Worker, why: string): void {
    if (this.#stopping) return;
    log.error(`worker ${worker.process.pid} failed to boot: ${why}`);
    this.#stop("a worker failed to boot", 1, true);
  }

  #exited(record: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    this.#workers.delete(record.worker.id);
    if (!this.#stopping) {
      // Respawning belongs to the supervision layer (not built yet): until
      // then the others keep serving, and the master stops with the last one.
      const how = signal ? `signal ${signal}` : `code ${code}`;
      log.error(`worker ${record.worker.process.pid} exited unexpectedly (${how}); ${this.#workers.size} left`);
      if (record.state === "booting") this.#stop("a worker exited before it was ready", 1, true);
      else if (this.#workers.size === 0) this.#exitCode = 1;
    }
    if (this.#workers.size === 0) this.#done(this.#exitCode);
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#stopping) {
      log.warn(`${signal} again: stopping now`);
      for (const r of this.#workers.values()) r.worker.process.kill("SIGKILL");
      return;
    }
    this.#stop(signal, 0, false);
  }

  /**
   * Drains every worker; kills those still alive after the grace period.
   * `failed`: a boot failed, so workers still booting are killed at once.
   */
  #stop(reason: string, exitCode: number, failed: boolean): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#exitCode = exitCode;
    log.info(`stopping (${reason})`);
    const msg: ToWorker = { act: "forkrpc:drain", reason };
    for (const r of this.#workers.values()) {
      if (failed && r.state === "booting") r.worker.process.kill("SIGKILL");
      else if (r.worker.isConnected()) r.worker.send(msg);
      r.state = "draining";
    }
    // The workers cut their own connections at graceMs; this is the backstop.
    const backstop = setTimeout(() => {
      for (const r of this.#workers.values()) r.worker.process.kill("SIGKILL");
    }, this.#config.shutdown.graceMs + 2_000);
    backstop.unref();
    if (this.#workers.size === 0) this.#done(this.#exitCode);
  }
}
