/**
 * Reload generations, the supervisor's part that SIGHUP (or a changed file
 * under --watch) sets off: a new generation boots beside the serving one and
 * takes over only once all of it is ready; one that loses a worker first is
 * abandoned and the old one keeps serving.
 */
import type { ServerConfig } from "../config.ts";
import { describe } from "../errors.ts";
import { reloadTakeover } from "./generations.ts";
import type { MasterObserver } from "./observers.ts";
import type { WorkerRecord } from "./records.ts";

/** What a reload needs of the supervisor that owns it (an interface, so the two files do not import each other). */
export interface ReloadHost {
  readonly stopping: boolean;
  readonly log: { info(m: string): void; warn(m: string): void; error(m: string): void };
  config: ServerConfig;
  target: number;
  notify(call: (o: MasterObserver) => void): void;
  fork(generation: number): WorkerRecord;
  workers(): WorkerRecord[];
  retire(r: WorkerRecord, reason: string): void;
  kill(r: WorkerRecord, reason: string): void;
}

export class Reloads {
  readonly #master: ReloadHost;
  /** The generation that serves. */
  serving = 1;
  /**
   * The highest generation number handed out. An abandoned reload used one
   * too: were the next reload to reuse it, the exits of the abandoned
   * workers would read as the new generation losing workers.
   */
  #newest = 1;
  /** The reload under way, if one is. */
  active: { readonly generation: number; readonly reason: string } | null = null;
  /** Booting workers SIGKILLed when their reload was abandoned: their exits are expected. */
  readonly #abandoned = new WeakSet<WorkerRecord>();

  readonly #loadConfig: () => Promise<ServerConfig>;

  constructor(master: ReloadHost, loadConfig: () => Promise<ServerConfig>) {
    this.#master = master;
    this.#loadConfig = loadConfig;
  }

  /** True for a worker of the generation now booting. */
  owns(r: WorkerRecord): boolean {
    return this.active !== null && r.generation === this.active.generation;
  }

  wasAbandoned(r: WorkerRecord): boolean {
    return this.#abandoned.has(r);
  }

  /** Loads the config again and boots a new generation with it. */
  async start(reason: string): Promise<void> {
    const master = this.#master;
    if (master.stopping) return;
    if (this.active !== null) {
      master.log.warn(`reload (${reason}) ignored: the reload to generation ${this.active.generation} is still booting`);
      return;
    }
    let config: ServerConfig;
    try {
      config = await this.#loadConfig();
    } catch (error) {
      master.log.error(`reload abandoned, old workers keep serving: config: ${describe(error)}`);
      return;
    }
    if (master.stopping || this.active !== null) return;
    master.config = config;
    master.target = config.workers > 0 ? config.workers : master.target;
    const generation = ++this.#newest;
    this.active = { generation, reason };
    master.log.info(`reload (${reason}): booting generation ${generation} with ${master.target} workers`);
    master.notify((o) => o.reload?.(generation, "started", reason));
    for (let i = 0; i < master.target; i++) master.fork(generation);
  }

  /** Completes the reload once the new generation has `target` ready workers and none booting. */
  tryTakeover(): void {
    const master = this.#master;
    const generation = this.active?.generation;
    if (generation === undefined) return;
    const takeover = reloadTakeover(master.workers(), generation, master.target);
    if (takeover === null) return;
    this.active = null;
    this.serving = generation;
    master.log.info(`reload complete: generation ${generation} ready, retiring ${takeover.old.length} old workers`);
    master.notify((o) => o.reload?.(generation, "complete", ""));
    for (const r of takeover.old) master.retire(r, "reload");
    // SIGTTOU during the reload lowered the target below what was forked.
    for (const r of takeover.surplus) master.retire(r, "scaled down");
  }

  /** Stops the booting generation; the serving one goes on. */
  abandon(why: string): void {
    const master = this.#master;
    const generation = this.active?.generation;
    if (generation === undefined) return;
    this.active = null;
    master.log.error(`reload abandoned, old workers keep serving: ${why}`);
    master.notify((o) => o.reload?.(generation, "abandoned", why));
    for (const r of master.workers()) {
      if (r.generation !== generation) continue;
      if (r.state === "booting") {
        this.#abandoned.add(r);
        master.kill(r, "reload abandoned");
      } else master.retire(r, "reload abandoned");
    }
  }
}
