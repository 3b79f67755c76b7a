/**
 * A supervisor with a fake shell and a fake clock, for the state-machine
 * tests: forks are records in a list, drains and kills are logged, timers
 * run when the test advances time.
 */
import { resolveConfig, type ForkrpcConfig } from "../../src/config.ts";
import type { WorkerRecord } from "../../src/cluster/records.ts";
import type { Clock, MasterShell, ReadyInfo } from "../../src/cluster/shell.ts";
import { Supervisor } from "../../src/cluster/supervisor.ts";

export class FakeClock implements Clock {
  time = 1_000_000;
  #timers: Array<{ at: number; fn: () => void; seq: number }> = [];
  #seq = 0;

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + ms, fn, seq: this.#seq++ };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Moves time on by ms, running each timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = end;
  }

  get pending(): number {
    return this.#timers.length;
  }
}

export interface Fake {
  master: Supervisor;
  clock: FakeClock;
  forked: WorkerRecord[];
  /** "drain <pid> <reason>", "sigterm <pid> <reason>" (booting), "kill <pid>". */
  actions: string[];
  announced: ReadyInfo[];
  finished: number[];
  logs: string[];
  /** What the next reload loads: a config, or an error. */
  reloadWith: ForkrpcConfig | Error;
}

export const INFO = { host: "127.0.0.1", port: 4000, methods: 3 };

export function fakeMaster(file: ForkrpcConfig): Fake {
  const clock = new FakeClock();
  let pid = 100;
  const fake: Fake = {
    master: undefined as unknown as Supervisor,
    clock,
    forked: [],
    actions: [],
    announced: [],
    finished: [],
    logs: [],
    reloadWith: file,
  };
  const shell: MasterShell = {
    fork: (r) => {
      fake.forked.push(r);
      return ++pid;
    },
    drain: (r, reason, booting) => fake.actions.push(`${booting ? "sigterm" : "drain"} ${r.pid} ${reason}`),
    kill: (r) => fake.actions.push(`kill ${r.pid}`),
    announce: (info) => fake.announced.push(info),
    loadConfig: async () => {
      if (fake.reloadWith instanceof Error) throw fake.reloadWith;
      return resolveConfig(fake.reloadWith, {}, undefined, "/");
    },
    hint: (code) => (code === "ADDRESS_IN_USE" ? "another server has the port" : undefined),
    finished: (code) => fake.finished.push(code),
  };
  const logger = {
    debug: (m: string) => fake.logs.push(`debug: ${m}`),
    info: (m: string) => fake.logs.push(`info: ${m}`),
    warn: (m: string) => fake.logs.push(`warn: ${m}`),
    error: (m: string) => fake.logs.push(`error: ${m}`),
  };
  fake.master = new Supervisor(resolveConfig(file, {}, undefined, "/"), shell, clock, logger);
  return fake;
}

/** Starts the master and makes every first-generation worker ready. */
export function serving(file: ForkrpcConfig): Fake {
  const fake = fakeMaster(file);
  fake.master.start();
  for (const r of [...fake.forked]) fake.master.workerReady(r, INFO);
  return fake;
}

/** Lets pending promise callbacks run (a reload loads its config asynchronously). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
