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
 */
import cluster from "node:cluster";
import { loadConfig, type ConfigOverrides, type ServerConfig } from "../config.ts";
import { describe } from "../errors.ts";
import { log } from "../log.ts";
import { describeHang } from "./hang-report.ts";
import type { PidFile } from "./pid-file.ts";
import { WorkerPool, type WorkerRecord } from "./pool.ts";
import { serviceManager } from "./notify.ts";
import { watchForChanges } from "./watch.ts";

export interface ReadyInfo {
  host: string;
  port: number;
  workers: number;
  methods: number;
}

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
}

/** Resolves with the master's exit code. */
export function runPrimary(config: ServerConfig, options: PrimaryOptions): Promise<number> {
  // "shared": competitive accept on the one socket, as the tutorial's prefork
  // does. "round-robin" routes every connection through the master, and a
  // connection handed to a worker that has just died is lost.
  cluster.schedulingPolicy = config.accept === "round-robin" ? cluster.SCHED_RR : cluster.SCHED_NONE;
  return new Promise((resolve) => new Primary(config, options, resolve).start());
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

class Primary {
  #config: ServerConfig;
  readonly #options: PrimaryOptions;
  readonly #done: (code: number) => void;
  readonly #pool: WorkerPool;
  /** The generation that serves. */
  #generation = 1;
  /**
   * The highest generation number handed out. An abandoned reload used one
   * too: were the next reload to reuse it, the exits of the abandoned
   * workers would read as the new generation losing workers.
   */
  #newestGeneration = 1;
  /** Booting workers SIGKILLed when their reload was abandoned: their exits are expected. */
  readonly #abandoned = new WeakSet<WorkerRecord>();
  /** How many workers should be serving. */
  #target: number;
  #announced = false;
  #stopping = false;
  #exitCode = 0;
  /** Early deaths in a row, for backoff and crash-loop detection. */
  #crashes = 0;
  #respawnTimer: NodeJS.Timeout | null = null;
  #reloading: { generation: number; reason: string } | null = null;
  #watchTimer: NodeJS.Timeout | null = null;
  readonly #signals: Array<[NodeJS.Signals, () => void]> = [];
  #unwatch: (() => void) | null = null;
  readonly #hinted = new Set<string>();

  constructor(config: ServerConfig, options: PrimaryOptions, done: (code: number) => void) {
    this.#config = config;
    this.#options = options;
    this.#done = done;
    this.#target = config.workers;
    this.#pool = new WorkerPool(
      {
        ready: (r, msg) => this.#onReady(r, msg),
        bootFailed: (r, why) => this.#onBootFailed(r, why),
        heartbeat: (r) => this.#checkRecycle(r),
        exited: (r, code, signal) => this.#onExit(r, code, signal),
      },
      acceptEnv(config),
    );
  }

  start(): void {
    this.#on("SIGTERM", () => this.#stop("SIGTERM", 0));
    this.#on("SIGINT", () => this.#stop("SIGINT", 0));
    this.#on("SIGHUP", () => void this.reload("SIGHUP"));
    this.#on("SIGTTIN", () => this.#scale(+1));
    this.#on("SIGTTOU", () => this.#scale(-1));
    this.#on("SIGUSR2", () => this.#report());
    for (let i = 0; i < this.#target; i++) this.#fork(this.#generation);
    this.#watchTimer = setInterval(() => this.#watch(), Math.min(this.#config.supervision.heartbeatMs, 1_000));
    if (this.#options.watch) {
      this.#unwatch = watchForChanges(this.#config, (file) => void this.reload(`changed: ${file}`));
    }
  }

  // ---- reload -------------------------------------------------------------

  /** Starts a new generation; retires the old one once all of the new one is ready. */
  async reload(reason: string): Promise<void> {
    if (this.#stopping) return;
    if (this.#reloading !== null) {
      log.warn(`reload (${reason}) ignored: the reload to generation ${this.#reloading.generation} is still booting`);
      return;
    }
    let config: ServerConfig;
    try {
      config = await this.#options.reloadConfig();
    } catch (error) {
      log.error(`reload abandoned, old workers keep serving: config: ${describe(error)}`);
      return;
    }
    if (this.#stopping || this.#reloading !== null) return;
    this.#config = config;
    this.#target = config.workers > 0 ? config.workers : this.#target;
    const generation = ++this.#newestGeneration;
    this.#reloading = { generation, reason };
    log.info(`reload (${reason}): booting generation ${generation} with ${this.#target} workers`);
    void serviceManager.notify("RELOADING=1", `STATUS=reloading (${reason})`);
    for (let i = 0; i < this.#target; i++) this.#fork(generation);
  }

  /** Completes the reload once the new generation has #target ready workers and none booting. */
  #reloadReady(): void {
    const gen = this.#reloading?.generation;
    if (gen === undefined) return;
    const fresh = this.#pool.all().filter((r) => r.generation === gen && (r.state === "booting" || r.state === "ready"));
    const ready = fresh.filter((r) => r.state === "ready");
    if (ready.length < this.#target || ready.length < fresh.length) return;
    this.#reloading = null;
    this.#generation = gen;
    const old = this.#pool.all().filter((r) => r.generation < gen);
    log.info(`reload complete: generation ${gen} ready, retiring ${old.length} old workers`);
    void serviceManager.notify("READY=1", `STATUS=serving, generation ${gen}`);
    for (const r of old) this.#pool.retire(r, "reload");
    // SIGTTOU during the reload lowered the target below what was forked.
    for (const r of ready.slice(this.#target)) this.#pool.retire(r, "scaled down");
  }

  #abandonReload(why: string): void {
    const gen = this.#reloading?.generation;
    if (gen === undefined) return;
    this.#reloading = null;
    log.error(`reload abandoned, old workers keep serving: ${why}`);
    void serviceManager.notify("READY=1", `STATUS=serving; reload abandoned: ${why}`);
    for (const r of this.#pool.all()) {
      if (r.generation !== gen) continue;
      if (r.state === "booting") {
        this.#abandoned.add(r);
        this.#pool.kill(r, "reload abandoned");
      } else this.#pool.retire(r, "reload abandoned");
    }
  }

  // ---- events from the pool -----------------------------------------------

  #onReady(record: WorkerRecord, msg: { host: string; port: number; methods: number }): void {
    if (record.state !== "booting") return;
    record.state = "ready";
    record.readyAt = Date.now();
    record.lastBeatAt = Date.now();
    if (record.replaces !== undefined) this.#pool.retire(record.replaces, "replaced");
    if (this.#reloading !== null && record.generation === this.#reloading.generation) {
      this.#reloadReady();
      return;
    }
    if (!this.#announced && !this.#stopping && this.#pool.inState("booting").length === 0) {
      this.#announced = true;
      this.#options.onReady({ ...msg, workers: this.#pool.inState("ready").length });
    }
  }

  #onBootFailed(record: WorkerRecord, why: string): void {
    record.lastError = why;
    if (this.#stopping) return;
    log.error(`worker ${record.pid} failed to boot: ${why}`);
    const coded = /^([A-Z_]+): ([^]*)$/.exec(why);
    const hint = coded === null ? undefined : this.#options.hint?.(coded[1] as string, coded[2] as string);
    if (hint !== undefined && !this.#hinted.has(hint)) {
      // Every worker fails the same way (all of them try the port): say it once.
      this.#hinted.add(hint);
      log.error(`hint: ${hint}`);
    }
    if (!this.#announced) {
      this.#stop("a worker failed to boot", 1);
    } else if (this.#reloading !== null && record.generation === this.#reloading.generation) {
      this.#abandonReload(`worker ${record.pid} of generation ${record.generation} failed to boot: ${why}`);
    }
    // Otherwise (a respawn or a replacement) the exit that follows is counted as a crash.
  }

  #onExit(record: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.#stopping) {
      if (this.#pool.size === 0) this.#finish();
      return;
    }
    if (record.state === "retiring" || this.#abandoned.has(record)) {
      log.info(`worker ${record.pid} retired (${record.endReason}), ${how}`);
      this.#fill();
      return;
    }
    const why = record.endReason ?? record.lastError ?? "no error reported";
    log.error(`worker ${record.pid} exited unexpectedly (${how}) while ${record.state}: ${why}`);
    if (!this.#announced) {
      this.#stop("a worker exited before the server was ready", 1);
      return;
    }
    if (this.#reloading !== null && record.generation === this.#reloading.generation) {
      // Ready or not, a new generation that loses a worker is not fit to take over.
      this.#abandonReload(`worker ${record.pid} of generation ${record.generation} exited (${how}): ${why}`);
      return;
    }
    const old = record.replaces;
    if (old !== undefined && old.state === "replaced" && record.readyAt === undefined) {
      // The replacement of a healthy worker could not boot (a broken file, say):
      // the old one keeps serving, and recycling waits before trying again.
      old.state = "ready";
      old.recycleAfter = Date.now() + this.#config.supervision.respawnDelayMaxMs;
      log.error(`worker ${old.pid} keeps serving: its replacement failed to boot`);
      return;
    }
    const early = record.readyAt === undefined || Date.now() - record.readyAt < this.#config.supervision.minUptimeMs;
    this.#crashes = early ? this.#crashes + 1 : 0;
    const { crashLoopLimit } = this.#config.supervision;
    if (this.#crashes >= crashLoopLimit) {
      log.error(`crash loop: ${this.#crashes} workers died within minUptimeMs of booting; last error: ${why}`);
      this.#stop("crash loop", 1);
      return;
    }
    this.#fill();
  }

  // ---- keeping the count --------------------------------------------------

  /** Forks, after the backoff, until the current generation has #target workers. */
  #fill(): void {
    if (this.#stopping || this.#respawnTimer !== null) return;
    const missing = this.#target - this.#serving().length;
    if (missing <= 0) return;
    const { respawnDelayMs, respawnDelayMaxMs } = this.#config.supervision;
    const delay = this.#crashes === 0 ? 0 : Math.min(respawnDelayMaxMs, respawnDelayMs * 2 ** (this.#crashes - 1));
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = null;
      const still = this.#target - this.#serving().length;
      for (let i = 0; i < still; i++) this.#fork(this.#generation);
    }, delay);
  }

  /** Workers of the current generation that count toward the target. */
  #serving(): WorkerRecord[] {
    return this.#pool.all().filter((r) => r.generation === this.#generation && (r.state === "booting" || r.state === "ready"));
  }

  #fork(generation: number, replaces?: WorkerRecord): WorkerRecord {
    const { maxRequests, maxRequestsJitter } = this.#config.supervision;
    const limit = maxRequests === 0 ? 0 : maxRequests + Math.floor(Math.random() * (maxRequestsJitter + 1));
    return this.#pool.fork(generation, limit, replaces);
  }

  #scale(delta: number): void {
    if (this.#stopping) return;
    if (delta > 0) {
      this.#target++;
      log.info(`SIGTTIN: ${this.#target} workers`);
      // During a reload the new generation must reach the new target too.
      if (this.#reloading !== null) this.#fork(this.#reloading.generation);
      else this.#fill();
      return;
    }
    if (this.#target <= 1) {
      log.warn("SIGTTOU ignored: at least one worker stays");
      return;
    }
    this.#target--;
    log.info(`SIGTTOU: ${this.#target} workers`);
    // During a reload the old generation goes anyway; the new one is trimmed when it takes over.
    if (this.#reloading !== null) return;
    const oldest = this.#serving().sort((a, b) => a.forkedAt - b.forkedAt)[0];
    if (oldest !== undefined) this.#pool.retire(oldest, "scaled down");
  }

  // ---- recycling and hung workers ------------------------------------------

  #checkRecycle(record: WorkerRecord): void {
    if (record.state !== "ready" || record.beat === undefined || this.#stopping) return;
    if (this.#reloading !== null || Date.now() < record.recycleAfter) return;
    const { maxRssMb } = this.#config.supervision;
    let why: string | undefined;
    if (record.maxRequests > 0 && record.beat.served >= record.maxRequests) why = `served ${record.beat.served} requests`;
    else if (maxRssMb > 0 && record.beat.rssBytes > maxRssMb * 1024 * 1024) {
      why = `RSS ${Math.round(record.beat.rssBytes / 1048576)} MB is over maxRssMb ${maxRssMb}`;
    }
    if (why === undefined) return;
    log.info(`recycling worker ${record.pid}: ${why}`);
    record.state = "replaced";
    record.endReason = why;
    this.#fork(record.generation, record);
  }

  /** Kills workers that stopped beating or never finished booting. */
  #watch(): void {
    if (this.#stopping) return;
    const now = Date.now();
    const { workerTimeoutMs, bootTimeoutMs } = this.#config.supervision;
    for (const r of this.#pool.all()) {
      if (r.state === "booting" && now - r.forkedAt > bootTimeoutMs) {
        const why = `not ready after ${bootTimeoutMs} ms (supervision.bootTimeoutMs)`;
        this.#pool.kill(r, why);
        this.#onBootFailed(r, why);
      } else if ((r.state === "ready" || r.state === "replaced" || r.state === "retiring") && now - r.lastBeatAt > workerTimeoutMs) {
        const why = `hung: no heartbeat for ${now - r.lastBeatAt} ms; ${describeHang(r, now)}`;
        log.error(`killing worker ${r.pid}: ${why}`);
        this.#pool.kill(r, why);
      }
    }
  }

  #report(): void {
    const lines = this.#pool.all().map((r) => {
      const b = r.beat;
      const rss = b ? `${Math.round(b.rssBytes / 1048576)} MB` : "?";
      return `  worker ${r.pid} gen ${r.generation} ${r.state}: ${b?.accepted ?? 0} connections accepted, ${b?.connections ?? 0} open, ${b?.rejected ?? 0} refused, ${b?.served ?? 0} requests, ${b?.inflightCount ?? 0} in flight, rss ${rss}`;
    });
    log.info(`${this.#pool.size} workers (target ${this.#target}, generation ${this.#generation}):\n${lines.join("\n")}`);
  }

  // ---- stopping -------------------------------------------------------------

  /** Drains every worker; kills those still alive after the grace period. */
  #stop(reason: string, exitCode: number): void {
    if (this.#stopping) {
      if (reason === "SIGTERM" || reason === "SIGINT") {
        log.warn(`${reason} again: stopping now`);
        for (const r of this.#pool.all()) this.#pool.kill(r, reason);
      }
      return;
    }
    this.#stopping = true;
    this.#exitCode = exitCode;
    log.info(`stopping (${reason})`);
    void serviceManager.notify("STOPPING=1", `STATUS=stopping (${reason})`);
    if (this.#respawnTimer !== null) clearTimeout(this.#respawnTimer);
    for (const r of this.#pool.all()) {
      if (exitCode !== 0 && r.state === "booting") this.#pool.kill(r, reason);
      else this.#pool.retire(r, reason);
    }
    // Workers cut their own connections at graceMs; this is the backstop.
    const backstop = setTimeout(() => {
      for (const r of this.#pool.all()) this.#pool.kill(r, "grace period over");
    }, this.#config.shutdown.graceMs + this.#config.supervision.hookTimeoutMs + 2_000);
    backstop.unref();
    if (this.#pool.size === 0) this.#finish();
  }

  #finish(): void {
    if (this.#watchTimer !== null) clearInterval(this.#watchTimer);
    this.#unwatch?.();
    for (const [signal, fn] of this.#signals) process.off(signal, fn);
    this.#options.pidFile?.release();
    this.#done(this.#exitCode);
  }

  #on(signal: NodeJS.Signals, fn: () => void): void {
    process.on(signal, fn);
    this.#signals.push([signal, fn]);
  }
}
