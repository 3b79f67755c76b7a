/**
 * Helpers for the supervision tests: the master's worker children (from
 * /proc), temporary copies of fixtures, one-shot calls, two bounded
 * background client loops that count every failure a client would see, and
 * the start / stop / no-worker-left-over frame around each test.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, NODE_FLAGS, ROOT, serve, type ServeOptions, type Served } from "./server.ts";
import { RawPeer, request, type Response } from "./wire.ts";

export const FIXTURES = join(ROOT, "test/fixtures/supervision");

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The config file of a fixture in place (for fixtures the test does not modify). */
export function fixtureConfig(name: string): string {
  return join(FIXTURES, name, "rpc.config.ts");
}

/** Live child processes of `pid` (zombies not yet reaped are left out). */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const task of tasks) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8");
    } catch {
      continue;
    }
    for (const word of text.split(/\s+/)) {
      const child = Number(word);
      if (word !== "" && Number.isInteger(child) && isAlive(child)) out.add(child);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) S ..." : the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function isOurs(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(CLI);
  } catch {
    return false;
  }
}

/**
 * Remembers every worker a master has had (polled every 100 ms), so that
 * whatever is left over at the end can be killed by pid.
 */
export class ChildTracker {
  readonly seen = new Set<number>();
  readonly #masters = new Set<number>();
  #timer: NodeJS.Timeout;

  constructor() {
    this.#timer = setInterval(() => this.poll(), 100);
    this.#timer.unref();
  }

  watch(masterPid: number): void {
    this.#masters.add(masterPid);
    this.poll();
  }

  poll(): void {
    for (const m of this.#masters) for (const c of childPids(m)) this.seen.add(c);
  }

  /** SIGKILLs every worker seen that is still alive; returns their pids. */
  killLeftovers(): number[] {
    clearInterval(this.#timer);
    this.poll();
    const left: number[] = [];
    for (const pid of this.seen) {
      if (isAlive(pid) && isOurs(pid)) {
        left.push(pid);
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    }
    return left;
  }
}

/** Polls `check` until it returns something other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** A fixture copied to a fresh temp folder, with node_modules/forkrpc pointing at this checkout. */
export interface TempFixture {
  readonly dir: string;
  readonly config: string;
  readonly plugins: string;
  remove(): void;
}

export function tempFixture(name: string): TempFixture {
  const dir = mkdtempSync(join(tmpdir(), `forkrpc-sup-${name}-`));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  // Outside the package, "forkrpc" only resolves through a node_modules folder.
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT.replace(/\/$/, ""), join(dir, "node_modules", "forkrpc"), "dir");
  return {
    dir,
    config: join(dir, "rpc.config.ts"),
    plugins: join(dir, "plugins"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One call on a fresh connection (no id), closed afterwards. */
export async function call(port: number, method: string, params?: unknown, timeoutMs = 8_000): Promise<Response> {
  const peer = await RawPeer.open(port);
  try {
    peer.write(request(method, params));
    return await peer.read(timeoutMs);
  } finally {
    peer.close();
  }
}

/** Calls `pid` on fresh connections (a few at a time) until `accept(pid)` holds. */
export async function findPid(port: number, accept: (pid: number) => boolean, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<number>();
  while (Date.now() < deadline) {
    const answers = await Promise.all([0, 1, 2, 3].map(() => call(port, "pid").catch(() => null)));
    for (const a of answers) {
      if (a?.out === "pid" && typeof a.result === "number") {
        seen.add(a.result);
        if (accept(a.result)) return a.result;
      }
    }
    await sleep(50);
  }
  throw new Error(`no acceptable pid answered within ${timeoutMs} ms (answered: ${[...seen].join(", ") || "none"})`);
}

export interface LoopLimits {
  /** Most pings to make (a keep-alive loop's re-sends come on top, bounded too). */
  maxCalls: number;
  /** Longest the loop runs. */
  maxMs: number;
  /** Pause between calls. */
  paceMs?: number;
}

/**
 * A tutorial-style client: a new TCP connection per ping, no id. A failure is
 * a connection error, an error response, or a wrong result.
 */
export class FreshLoop {
  readonly failures: string[] = [];
  ok = 0;
  #n = 0;
  #stop = false;
  #between: Array<() => Promise<void>> = [];
  readonly done: Promise<void>;

  constructor(
    readonly port: number,
    readonly limits: LoopLimits,
  ) {
    this.done = this.#run();
  }

  async #run(): Promise<void> {
    const start = Date.now();
    while (!this.#stop && this.#n < this.limits.maxCalls && Date.now() - start < this.limits.maxMs) {
      for (const fn of this.#between.splice(0)) await fn();
      const n = this.#n++;
      try {
        const r = await call(this.port, "ping", { n });
        if (r.out !== "pong" || r.result?.n !== n) this.failures.push(`ping ${n}: wrong answer ${JSON.stringify(r)}`);
        else this.ok++;
      } catch (error) {
        this.failures.push(`ping ${n}: ${(error as Error).message}`);
      }
      if (this.limits.paceMs) await sleep(this.limits.paceMs);
    }
    for (const fn of this.#between.splice(0)) await fn();
  }

  /** Runs `fn` between two calls (no call in flight; the loop waits for it), and resolves with its result. */
  between<T>(fn: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#between.push(async () => {
        try {
          resolve(await fn());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  get calls(): number {
    return this.#n;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.done;
  }
}

/**
 * A client that keeps its connection and uses ids, `depth` requests in
 * flight. On goaway it sends nothing more there, waits for what it owes,
 * re-sends on a new connection whatever was answered UNAVAILABLE, and moves
 * on. A failure: the connection ends (or falls silent) with a request owed
 * that was not answered UNAVAILABLE, an error response other than
 * UNAVAILABLE, or a wrong result.
 */
export class KeepAliveLoop {
  readonly failures: string[] = [];
  ok = 0;
  goaways = 0;
  unavailable = 0;
  connections = 0;
  /** Connections the server ended without a goaway first (a protocol breach). */
  closedWithoutGoaway = 0;
  #sent = 0;
  #nextN = 0;
  #nextId = 1;
  #resend: number[] = [];
  #stop = false;
  #start = Date.now();
  readonly done: Promise<void>;

  constructor(
    readonly port: number,
    readonly limits: LoopLimits & { depth?: number },
  ) {
    this.done = this.#run();
  }

  #more(): boolean {
    return !this.#stop && this.#nextN < this.limits.maxCalls && Date.now() - this.#start < this.limits.maxMs;
  }

  async #run(): Promise<void> {
    while (this.#more() || this.#resend.length > 0) {
      // Re-sends are bounded too.
      if (this.#sent >= this.limits.maxCalls + 100 || Date.now() - this.#start > this.limits.maxMs + 15_000) {
        this.failures.push(`gave up with ${this.#resend.length} pings still to re-send`);
        break;
      }
      let peer: RawPeer;
      try {
        peer = await RawPeer.open(this.port);
      } catch (error) {
        this.failures.push(`connect: ${(error as Error).message}`);
        await sleep(50);
        continue;
      }
      this.connections++;
      try {
        await this.#session(peer);
      } finally {
        peer.close();
      }
    }
  }

  async #session(peer: RawPeer): Promise<void> {
    const owed = new Map<number, number>(); // id -> n
    const depth = this.limits.depth ?? 2;
    let goneAway = false;
    const send = () => {
      while (!goneAway && owed.size < depth && (this.#resend.length > 0 || this.#more())) {
        const n = this.#resend.shift() ?? this.#nextN++;
        const id = this.#nextId++;
        owed.set(id, n);
        this.#sent++;
        peer.write(request("ping", { n }, { id }));
      }
    };
    send();
    while (owed.size > 0) {
      let msg: Response;
      try {
        msg = await peer.read(10_000);
      } catch (error) {
        if (peer.closed && !goneAway) this.closedWithoutGoaway++;
        const list = [...owed.values()].join(", ");
        this.failures.push(`${(error as Error).message} (goaway seen: ${goneAway}) with pings ${list} owed`);
        return;
      }
      if (msg.out === "goaway" && msg.id === undefined) {
        goneAway = true;
        this.goaways++;
        continue;
      }
      const n = msg.id === undefined ? undefined : owed.get(msg.id as number);
      if (n === undefined) {
        this.failures.push(`unexpected message ${JSON.stringify(msg)}`);
        continue;
      }
      owed.delete(msg.id as number);
      if (msg.out === "error" && msg.result?.code === "UNAVAILABLE") {
        this.unavailable++;
        this.#resend.push(n);
      } else if (msg.out !== "pong" || msg.result?.n !== n) {
        this.failures.push(`ping ${n}: wrong answer ${JSON.stringify(msg)}`);
      } else {
        this.ok++;
      }
      if (this.limits.paceMs && !goneAway) await sleep(this.limits.paceMs);
      send();
    }
  }

  get sent(): number {
    return this.#sent;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.done;
  }

  summary(): string {
    return `ok ${this.ok}, sent ${this.#sent}, goaways ${this.goaways}, UNAVAILABLE ${this.unavailable}, connections ${this.connections}, closed without goaway ${this.closedWithoutGoaway}, failures ${this.failures.length}`;
  }
}

/** A CLI process whose output is collected and whose pid is known (for commands expected to exit). */
export interface Launched {
  readonly proc: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  kill(): void;
}

export function launch(args: string[], env: Record<string, string> = {}): Launched {
  const proc = spawn(process.execPath, [...NODE_FLAGS, CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exited = once(proc, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  return {
    proc,
    pid: proc.pid as number,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    },
  };
}

export { within } from "./within.ts";

export interface Supervision {
  readonly served: Served;
  readonly tracker: ChildTracker;
  /** Registers `fn` to run before the master is stopped, last registered first (client loops, open connections). */
  defer(fn: () => unknown): void;
}

export interface SupervisedOptions {
  /** Assert that the master exits 0 when it is stopped at the end (default true). */
  expectExit0?: boolean;
  /** Runs after the master is stopped, before the leftover check (e.g. removing a temp folder). */
  cleanup?: () => void;
}

/**
 * Starts a server, tracks its workers and runs `body`. A failure gets the
 * master's stderr appended. Then, whatever happened: the deferred functions
 * run, the master is stopped (and, if the body passed, must exit 0), `cleanup`
 * runs, and any worker still alive is killed; if the body passed, there must
 * have been none.
 */
export async function supervised(
  options: ServeOptions,
  body: (s: Supervision) => Promise<void>,
  { expectExit0 = true, cleanup }: SupervisedOptions = {},
): Promise<void> {
  const tracker = new ChildTracker();
  const deferred: Array<() => unknown> = [];
  let served: Served | undefined;
  let failed: unknown;
  try {
    served = await serve(options);
    tracker.watch(served.pid);
    await body({ served, tracker, defer: (fn) => deferred.push(fn) });
  } catch (error) {
    failed = error;
    if (served && error instanceof Error) error.message += `\nmaster stderr:\n${served.stderr()}`;
    throw error;
  } finally {
    try {
      for (const fn of deferred.reverse()) await fn();
      if (served) {
        const code = await served.stop();
        if (failed === undefined && expectExit0) assert.equal(code, 0, `master exit code; stderr:\n${served.stderr()}`);
      }
    } finally {
      cleanup?.();
      const left = tracker.killLeftovers();
      if (failed === undefined) assert.deepEqual(left, [], "worker processes left over");
    }
  }
}

/**
 * Launches a CLI command expected to exit by itself, tracks its workers and
 * runs `body`. Then the command is killed if it still runs, and so is any
 * worker still alive; if the body passed, there must have been none.
 */
export async function launched(args: string[], body: (cli: Launched) => Promise<void>): Promise<void> {
  const tracker = new ChildTracker();
  let failed: unknown;
  const cli = launch(args);
  try {
    tracker.watch(cli.pid);
    await body(cli);
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    cli.kill();
    const left = tracker.killLeftovers();
    if (failed === undefined) assert.deepEqual(left, [], "worker processes left over");
  }
}
