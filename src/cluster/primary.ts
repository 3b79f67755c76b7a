/**
 * The master role, a supervisor in the manner of gunicorn's arbiter:
 * - forks N workers that accept on one shared socket, and announces
 *   readiness once every one of them listens;
 * - respawns workers that die, with exponential backoff, and gives up with
 *   a non-zero exit when they keep dying right after boot (a crash loop);
 * - reloads on SIGHUP: a new generation boots, and only once all of it is
 *   ready is the old one retired; a generation that fails to boot is
 *   abandoned and the old one keeps serving;
 * - scales on SIGTTIN / SIGTTOU, recycles workers after maxRequests or past
 *   maxRssMb (replacement ready first), and kills workers whose event loop
 *   stops beating, saying what they were running;
 * - drains everything on SIGTERM / SIGINT and exits 0.
 *
 * This file is the wiring: the decisions are the supervisor's
 * (supervisor.ts, a state machine over pure policies), the processes are
 * processes.ts's. Here: the signal handlers, the hang-check timer, the file
 * watcher of --watch, the pid file, systemd's notifications (an observer
 * of the supervisor, notify.ts), and the registration in etcd
 * (registration.ts: withdrawn on SIGTERM before the workers drain).
 */
import cluster from "node:cluster";
import { loadConfig, type ConfigOverrides, type ServerConfig } from "../config.ts";
import { watchFiles } from "./file-watch.ts";
import type { PidFile } from "./pid-file.ts";
import { serviceManager, serviceManagerObserver } from "./notify.ts";
import { WorkerProcesses } from "./processes.ts";
import { masterRegistration } from "./registration.ts";
import type { MasterObserver } from "./observers.ts";
import type { ReadyInfo } from "./shell.ts";
import { Supervisor } from "./supervisor.ts";
import { startAdmin } from "./admin.ts";
import { MetricsObserver } from "./metrics-observer.ts";
import { describe } from "../errors.ts";
import { log } from "../log.ts";
import { TICKET_ROTATE_MS, TicketKeys } from "./ticket-keys.ts";
import { watchCertificates } from "./tls-reload.ts";

export type { ReadyInfo } from "./shell.ts";

export interface PrimaryOptions {
  /** Called once every worker of the first generation listens (the CLI prints the ready line). */
  onReady: (info: ReadyInfo) => void;
  /** How to load the config again on reload. */
  reloadConfig: () => Promise<ServerConfig>;
  /** Reload when a plugin file or the config file changes. */
  watch?: boolean;
  /** What to do about a worker's boot error (the CLI's hints), logged after it. */
  hint?: (code: string, message: string) => string | undefined;
  /** The pid file the CLI claimed before starting us; released when the master finishes. */
  pidFile?: PidFile | null;
  /** Told of every state change of the master and its workers (see MasterObserver). */
  observers?: readonly MasterObserver[];
}

const SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP", "SIGTTIN", "SIGTTOU", "SIGUSR2"];

/** Resolves with the master's exit code. */
export function runPrimary(config: ServerConfig, options: PrimaryOptions): Promise<number> {
  // "shared": competitive accept on the one socket, as the tutorial's prefork
  // does. "round-robin" routes every connection through the master, and a
  // connection handed to a worker that has just died is lost.
  cluster.schedulingPolicy = config.accept === "round-robin" ? cluster.SCHED_RR : cluster.SCHED_NONE;
  return new Promise((resolve) => {
    const tickets = new TicketKeys();
    const processes = new WorkerProcesses(acceptEnv(config), () => tickets.encoded);
    const rotateTimer = setInterval(() => processes.broadcast({ act: "forkrpc:ticket-keys", keys: tickets.rotate() }), TICKET_ROTATE_MS);
    rotateTimer.unref();
    const handlers: Array<[NodeJS.Signals, () => void]> = [];
    let hangCheckTimer: NodeJS.Timeout | null = null;
    let stopWatchingFiles: (() => void) | null = null;
    const registration = masterRegistration(config);
    let stopWatchingCerts: (() => void) | null = null;
    const supervisor = new Supervisor(config, {
      fork: (r) => processes.fork(r),
      drain: (r, reason, booting) => processes.drain(r, reason, booting),
      kill: (r) => processes.kill(r),
      announce: (info) => {
        options.onReady(info);
        registration?.ready(info);
      },
      loadConfig: () => options.reloadConfig(),
      hint: (code, message) => options.hint?.(code, message),
      finished: (exitCode) => {
        if (hangCheckTimer !== null) clearInterval(hangCheckTimer);
        clearInterval(rotateTimer);
        stopWatchingFiles?.();
        stopWatchingCerts?.();
        for (const [signal, fn] of handlers) process.off(signal, fn);
        options.pidFile?.release();
        resolve(exitCode);
      },
    });
    processes.supervisor = supervisor;
    supervisor.observe(serviceManagerObserver(serviceManager));
    for (const o of options.observers ?? []) supervisor.observe(o);
    if (registration !== null) supervisor.observe(registration.observer);
    for (const signal of SIGNALS) {
      const stop = () => supervisor.signal(signal);
      // A planned stop leaves the registry first, so clients stop sending before any goaway.
      const leaving = registration !== null && (signal === "SIGTERM" || signal === "SIGINT");
      const fn = leaving ? () => registration.leaveThen(stop, () => supervisor.stopping) : stop;
      process.on(signal, fn);
      handlers.push([signal, fn]);
    }
    if (config.admin !== undefined) serveAdmin(config, supervisor);
    supervisor.start();
    hangCheckTimer = setInterval(() => supervisor.checkHangs(), Math.min(config.supervision.heartbeatMs, 1_000));
    // The certificate files of the config being served: after a reload, the new config's.
    const watchCerts = () => {
      stopWatchingCerts?.();
      stopWatchingCerts = watchCertificates(supervisor.config, (msg) => processes.broadcast(msg));
    };
    supervisor.observe({ reload: (_generation, outcome) => outcome === "complete" && watchCerts() });
    watchCerts();
    if (options.watch) stopWatchingFiles = watchFiles(config, (file) => void supervisor.reloads.start(`changed: ${file}`));
  });
}

/**
 * The admin server beside the workers. A port it cannot take is logged, not
 * fatal: the RPC server matters more than its figures (and two `npm start`
 * in one checkout must both serve).
 */
function serveAdmin(config: ServerConfig, supervisor: Supervisor): void {
  const metrics = new MetricsObserver();
  supervisor.observe(metrics);
  startAdmin(config, metrics).then(
    (admin) => {
      if (admin === null) return;
      log.info(`admin server on ${admin.url}`);
      // Open while draining, so /readyz can say 503 until the end.
      if (supervisor.phase === "stopped") admin.server.close();
      else supervisor.observe({ phase: (phase) => void (phase === "stopped" && admin.server.close()) });
    },
    (error: unknown) => log.error(`${describe(error)}; serving without /metrics`),
  );
}

/**
 * Competitive accept piles connections onto whichever worker wakes first
 * (bench/accept-balance.js measured 46% on the busiest of 4 workers). In
 * libuv's single-accept mode a worker yields after each accept, so the others
 * get their turn (31%). The environment may still choose otherwise.
 */
function acceptEnv(config: ServerConfig): Record<string, string> {
  if (config.accept !== "shared" || process.env.UV_TCP_SINGLE_ACCEPT !== undefined) return {};
  return { UV_TCP_SINGLE_ACCEPT: "1" };
}

/** Loads the config the way `serve` did, for reloads. */
export function configReloader(path: string | undefined, overrides: ConfigOverrides): () => Promise<ServerConfig> {
  return () => loadConfig(path, overrides, process.cwd(), { fresh: true });
}
