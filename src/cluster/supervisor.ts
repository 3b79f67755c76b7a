/**
 * The master as a state machine. It owns the worker table and is the one
 * place a worker's state changes (#set); each event has one transition
 * function: a worker ready, failed to boot, fatal, beating, stalled or gone,
 * a signal, and the hang-check tick. What to do is asked of the pure
 * policies (policy.ts, generations.ts); doing it (fork, drain, kill) is the
 * shell's job (processes.ts), and time comes from a clock, so the tests in
 * test/cluster/ drive it with neither forks nor real timers.
 */
import type { ServerConfig } from "../config.ts";
import { log as defaultLog } from "../log.ts";
import type { HeartbeatMessage } from "./ipc.ts";
import { missingWorkers, oldestServing } from "./generations.ts";
import { crashLoop, hungWorkers, recycleReason, requestLimit, respawnDelay } from "./policy.ts";
import { Observers, type MasterObserver } from "./observers.ts";
import { newRecord, type MasterPhase, type WorkerRecord, type WorkerState } from "./records.ts";
import { bootHint, statusReport } from "./reports.ts";
import { Reloads } from "./reloads.ts";
import { realClock, type Clock, type MasterShell } from "./shell.ts";
import type { StallReport } from "./watchdog.ts";

type Log = typeof defaultLog;

export class Supervisor {
  config: ServerConfig;
  readonly #shell: MasterShell;
  readonly #clock: Clock;
  readonly log: Log;
  readonly #table = new Set<WorkerRecord>();
  readonly #observers: Observers;
  readonly reloads: Reloads;
  #phase: MasterPhase = "starting";
  #exitCode = 0;
  /** How many workers should be serving. */
  target: number;
  /** Early deaths in a row, for backoff and crash-loop detection. */
  #crashes = 0;
  #cancelRespawn: (() => void) | null = null;
  readonly #hinted = new Set<string>();

  constructor(config: ServerConfig, shell: MasterShell, clock: Clock = realClock, logger: Log = defaultLog) {
    this.config = config;
    this.#shell = shell;
    this.#clock = clock;
    this.log = logger;
    this.#observers = new Observers((message) => logger.error(message));
    this.target = config.workers;
    this.reloads = new Reloads(this, () => shell.loadConfig());
  }

  get phase(): MasterPhase {
    return this.#phase;
  }

  get stopping(): boolean {
    return this.#phase === "stopping" || this.#phase === "stopped";
  }

  get crashes(): number {
    return this.#crashes;
  }

  /** Live workers (every state but exited). */
  workers(): WorkerRecord[] {
    return [...this.#table];
  }

  /** Adds an observer (see MasterObserver in observers.ts); returns its removal. */
  observe(observer: MasterObserver): () => void {
    return this.#observers.add(observer);
  }

  notify(call: (o: MasterObserver) => void): void {
    this.#observers.notify(call);
  }

  start(): void {
    for (let i = 0; i < this.target; i++) this.fork(this.reloads.serving);
  }

  // ---- the one place a worker's state changes ---------------------------------

  #set(r: WorkerRecord, to: WorkerState, reason?: string): void {
    const from = r.state;
    r.state = to;
    if (reason !== undefined) r.endReason = reason;
    if (to === "exited") this.#table.delete(r);
    this.notify((o) => o.worker?.(r, from, reason));
  }

  #setPhase(phase: MasterPhase, reason: string): void {
    this.#phase = phase;
    this.notify((o) => o.phase?.(phase, reason));
  }

  fork(generation: number, replaces?: WorkerRecord): WorkerRecord {
    const r = newRecord(generation, this.#clock.now(), requestLimit(this.config.supervision), replaces);
    this.#table.add(r);
    r.pid = this.#shell.fork(r);
    this.notify((o) => o.worker?.(r, null, undefined));
    return r;
  }

  /** Asks a worker to drain; a no-op for one already going. */
  retire(r: WorkerRecord, reason: string): void {
    if (r.state === "retiring" || r.state === "killed" || r.state === "exited") return;
    const booting = r.state === "booting";
    this.#set(r, "retiring", reason);
    this.#shell.drain(r, reason, booting);
  }

  kill(r: WorkerRecord, reason: string): void {
    if (r.state === "killed" || r.state === "exited") return;
    this.#set(r, "killed", reason);
    this.#shell.kill(r);
  }

  // ---- events from workers ----------------------------------------------------

  workerReady(r: WorkerRecord, msg: { host: string; port: number; methods: number; registryHash?: string }): void {
    if (r.state !== "booting") return;
    const now = this.#clock.now();
    r.readyAt = now;
    r.registryHash = msg.registryHash;
    r.lastBeatAt = now;
    this.#set(r, "ready");
    if (r.replaces !== undefined) this.retire(r.replaces, "replaced");
    if (this.reloads.owns(r)) {
      this.reloads.tryTakeover();
      return;
    }
    if (this.#phase === "starting" && this.workers().every((w) => w.state !== "booting")) {
      this.#setPhase("serving", "every worker is ready");
      this.#shell.announce({ ...msg, workers: this.workers().filter((w) => w.state === "ready").length });
    }
  }

  workerBootFailed(r: WorkerRecord, why: string): void {
    r.lastError = why;
    if (this.stopping) return;
    this.log.error(`worker ${r.pid} failed to boot: ${why}`);
    const hint = bootHint(why, this.#shell.hint);
    if (hint !== undefined && !this.#hinted.has(hint)) {
      // Every worker fails the same way (all of them try the port): say it once.
      this.#hinted.add(hint);
      this.log.error(`hint: ${hint}`);
    }
    if (this.#phase === "starting") this.stop("a worker failed to boot", 1);
    else if (this.reloads.owns(r)) this.reloads.abandon(`worker ${r.pid} of generation ${r.generation} failed to boot: ${why}`);
    // Otherwise (a respawn or a replacement) the exit that follows is counted as a crash.
  }

  /** The worker's last words (an uncaught exception): kept for the exit that follows. */
  workerFatal(r: WorkerRecord, message: string): void {
    r.lastError = message;
  }

  workerStalled(r: WorkerRecord, report: StallReport): void {
    r.lastStall = report;
  }

  workerHeartbeat(r: WorkerRecord, beat: HeartbeatMessage): void {
    r.beat = beat;
    r.lastBeatAt = this.#clock.now();
    this.notify((o) => o.heartbeat?.(r));
    if (this.stopping || this.reloads.active !== null) return;
    const why = recycleReason(r, this.#clock.now(), this.config.supervision);
    if (why === undefined) return;
    this.log.info(`recycling worker ${r.pid}: ${why}`);
    this.#set(r, "recycling", why);
    this.fork(r.generation, r);
  }

  workerExited(r: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    const was = r.state;
    this.#set(r, "exited");
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      if (this.#table.size === 0) this.#finish();
      return;
    }
    if (was === "retiring" || this.reloads.wasAbandoned(r)) {
      this.log.info(`worker ${r.pid} retired (${r.endReason}), ${how}`);
      this.fill();
      return;
    }
    const why = r.endReason ?? r.lastError ?? "no error reported";
    this.log.error(`worker ${r.pid} exited unexpectedly (${how}) while ${was}: ${why}`);
    if (this.#phase === "starting") {
      this.stop("a worker exited before the server was ready", 1);
      return;
    }
    if (this.reloads.owns(r)) {
      // Ready or not, a new generation that loses a worker is not fit to take over.
      this.reloads.abandon(`worker ${r.pid} of generation ${r.generation} exited (${how}): ${why}`);
      return;
    }
    const old = r.replaces;
    if (old !== undefined && old.state === "recycling" && r.readyAt === undefined) {
      // The replacement of a healthy worker could not boot (a broken file, say):
      // the old one keeps serving, and recycling waits before trying again.
      old.recycleAfter = this.#clock.now() + this.config.supervision.respawnDelayMaxMs;
      this.#set(old, "ready");
      this.log.error(`worker ${old.pid} keeps serving: its replacement failed to boot`);
      return;
    }
    const counted = crashLoop(this.#crashes, r, this.#clock.now(), this.config.supervision);
    this.#crashes = counted.crashes;
    if (counted.loop) {
      this.log.error(`crash loop: ${this.#crashes} workers died within minUptimeMs of booting; last error: ${why}`);
      this.stop("crash loop", 1);
      return;
    }
    this.fill();
  }

  // ---- signals and the hang-check tick -------------------------------------------

  signal(name: NodeJS.Signals): void {
    if (name === "SIGTERM" || name === "SIGINT") this.stop(name, 0);
    else if (name === "SIGHUP") void this.reloads.start("SIGHUP");
    else if (name === "SIGTTIN") this.#scale(+1);
    else if (name === "SIGTTOU") this.#scale(-1);
    else if (name === "SIGUSR2") this.log.info(statusReport(this.workers(), this.target, this.reloads.serving));
  }

  /** The hang check: kills workers that stopped beating or never finished booting. */
  checkHangs(): void {
    if (this.stopping) return;
    for (const { record, booting, why } of hungWorkers(this.workers(), this.#clock.now(), this.config.supervision)) {
      if (!booting) this.log.error(`killing worker ${record.pid}: ${why}`);
      this.kill(record, why);
      if (booting) this.workerBootFailed(record, why);
    }
  }

  // ---- keeping the count -------------------------------------------------------

  /** Forks, after the backoff, until the serving generation has `target` workers. */
  fill(): void {
    if (this.stopping || this.#cancelRespawn !== null) return;
    if (missingWorkers(this.workers(), this.reloads.serving, this.target) === 0) return;
    this.#cancelRespawn = this.#clock.after(respawnDelay(this.#crashes, this.config.supervision), () => {
      this.#cancelRespawn = null;
      const still = missingWorkers(this.workers(), this.reloads.serving, this.target);
      for (let i = 0; i < still; i++) this.fork(this.reloads.serving);
    });
  }

  #scale(delta: number): void {
    if (this.stopping) return;
    const reloading = this.reloads.active;
    if (delta > 0) {
      this.target++;
      this.log.info(`SIGTTIN: ${this.target} workers`);
      // During a reload the new generation must reach the new target too.
      if (reloading !== null) this.fork(reloading.generation);
      else this.fill();
      return;
    }
    if (this.target <= 1) {
      this.log.warn("SIGTTOU ignored: at least one worker stays");
      return;
    }
    this.target--;
    this.log.info(`SIGTTOU: ${this.target} workers`);
    // During a reload the old generation goes anyway; the new one is trimmed when it takes over.
    if (reloading !== null) return;
    const oldest = oldestServing(this.workers(), this.reloads.serving);
    if (oldest !== undefined) this.retire(oldest, "scaled down");
  }

  // ---- stopping ----------------------------------------------------------------

  /** Drains every worker; kills those still alive after the grace period. */
  stop(reason: string, exitCode: number): void {
    if (this.stopping) {
      if (reason === "SIGTERM" || reason === "SIGINT") {
        this.log.warn(`${reason} again: stopping now`);
        for (const r of this.workers()) this.kill(r, reason);
      }
      return;
    }
    this.#exitCode = exitCode;
    this.#setPhase("stopping", reason);
    this.log.info(`stopping (${reason})`);
    this.#cancelRespawn?.();
    for (const r of this.workers()) {
      if (exitCode !== 0 && r.state === "booting") this.kill(r, reason);
      else this.retire(r, reason);
    }
    // Workers cut their own connections at graceMs; this is the backstop.
    const backstopMs = this.config.shutdown.graceMs + this.config.supervision.hookTimeoutMs + 2_000;
    this.#clock.after(backstopMs, () => this.workers().forEach((r) => this.kill(r, "grace period over")), true);
    if (this.#table.size === 0) this.#finish();
  }

  #finish(): void {
    this.#setPhase("stopped", `exit code ${this.#exitCode}`);
    this.#shell.finished(this.#exitCode);
  }
}
