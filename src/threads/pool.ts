/**
 * A worker's pool of handler threads for offloaded methods (@Rpc with
 * `offload: true`). One call runs on a thread at a time; the others wait in
 * a bounded queue. A call's deadline or its client leaving takes it out of
 * the queue; a running call is stopped only when its deadline passes, by
 * terminating its thread and starting another (~38 ms of CPU, more with the
 * TypeScript loader: docs/threads.md). A thread that dies is replaced and
 * its call answered INTERNAL.
 */
import { BootError, describe, RpcError } from "../errors.ts";
import { log } from "../log.ts";
import { JsonText } from "../protocol/envelope.ts";
import type { FromThread, ThreadData, ToThread } from "./messages.ts";
import type { CallFields, PoolOptions, Task, Thread } from "./records.ts";
import { admits, TaskQueue } from "./queue.ts";
import { startThread } from "./spawn.ts";

/** How long a stopping thread gets past its stop hooks' own limit before it is terminated. */
const STOP_MARGIN_MS = 1_000;

export class ThreadPool {
  readonly #data: ThreadData;
  readonly #options: PoolOptions;
  readonly #threads = new Set<Thread>();
  readonly #queue = new TaskQueue<Task>();
  #seq = 0;
  #started = false;
  #closing: Promise<void> | null = null;
  /** Threads started in place of one that died or was stopped at a deadline. */
  replaced = 0;

  constructor(data: ThreadData, options: PoolOptions) {
    this.#data = data;
    this.#options = options;
  }

  get stats(): { threads: number; busy: number; queued: number; replaced: number } {
    let busy = 0;
    for (const t of this.#threads) if (t.state === "busy") busy++;
    return { threads: this.#threads.size, busy, queued: this.#queue.length, replaced: this.replaced };
  }

  /** Starts every thread and waits for each to build its handlers: a failure is the BootError the main thread would give. */
  async start(): Promise<void> {
    const threads = Array.from({ length: this.#options.size }, () => this.#spawn());
    const failed = (await Promise.allSettled(threads.map((t) => t.ready))).find((r) => r.status === "rejected");
    if (failed !== undefined) {
      await this.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    this.#started = true;
  }

  /** Runs one call on a thread; resolves with its result's JSON text, or rejects as the handler did. */
  run(fields: CallFields, signal: AbortSignal | null): Promise<JsonText> {
    if (this.#closing !== null) return Promise.reject(new RpcError("UNAVAILABLE", "the worker is stopping"));
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<JsonText>((resolve, reject) => {
      const task: Task = { message: { kind: "call", seq: ++this.#seq, ...fields }, resolve, reject, signal, onAbort: () => this.#abort(task), thread: null };
      const idle = this.#find("idle");
      if (idle !== undefined) {
        this.#assign(idle, task);
      } else {
        // Fewer threads than configured: stopped while idle, or a replacement failed to start.
        if (this.#threads.size < this.#options.size) this.#spawn();
        if (!admits(this.#queue.length, this.#options.maxQueue, this.#count("starting"))) {
          const { size, maxQueue } = this.#options;
          reject(new RpcError("RESOURCE_EXHAUSTED", `all ${size} handler threads are busy and ${maxQueue} calls are waiting`));
          return;
        }
        this.#queue.push(task);
      }
      signal?.addEventListener("abort", task.onAbort, { once: true });
    });
  }

  /** Refuses what waits, lets running calls finish, runs each thread's stop hooks. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const task of this.#queue.drain()) this.#settle(task, new RpcError("UNAVAILABLE", "the worker stopped before a handler thread took this call"));
      const threads = [...this.#threads];
      this.#threads.clear();
      await Promise.all(threads.map((t) => this.#stop(t)));
    })();
    return this.#closing;
  }

  #spawn(): Thread {
    const worker = startThread(this.#data);
    let settle: (error: BootError | null) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === null ? resolve() : reject(error));
    });
    ready.catch(() => {}); // awaited by start() only; a replacement's failure is logged in #died
    const thread: Thread = { worker, state: "starting", exited: false, task: null, timer: null, ready, settle };
    this.#threads.add(thread);
    worker.on("message", (msg: FromThread) => this.#onMessage(thread, msg));
    worker.on("error", (error) => this.#died(thread, `threw ${describe(error)}`));
    worker.on("exit", (code) => {
      thread.exited = true;
      this.#died(thread, `exited with code ${code}`);
    });
    return thread;
  }

  #onMessage(thread: Thread, msg: FromThread): void {
    // Handler code shares the thread's port: what it posts there is no message of ours.
    if (typeof msg !== "object" || msg === null) return;
    if (msg.kind === "ready") {
      thread.settle?.(null);
      thread.settle = null;
      if (thread.state === "starting") this.#next(thread);
      return;
    }
    if (msg.kind === "boot-failed") {
      this.#threads.delete(thread);
      thread.state = "stopping";
      void thread.worker.terminate();
      this.#failedToStart(thread, new BootError(msg.code, `in a handler thread: ${msg.message}`));
      return;
    }
    const task = thread.task;
    if (task === null || task.message.seq !== msg.seq) return;
    if (thread.timer !== null) clearTimeout(thread.timer);
    thread.timer = null;
    if (msg.kind === "result") {
      this.#settle(task, null, new JsonText(msg.json));
    } else if (msg.kind === "rpc-error") {
      const { code, message, data } = msg.error;
      this.#settle(task, data === undefined ? new RpcError(code, message) : new RpcError(code, message, parseData(data)));
    } else if (msg.kind === "threw") {
      const error = new Error("a handler thread's call threw");
      error.stack = `(in a handler thread) ${msg.stack}`;
      this.#settle(task, error);
    } else {
      const error = new RpcError("INTERNAL", "result could not be encoded");
      error.stack = `(in a handler thread) result could not be encoded as JSON: ${msg.reason}`; // for the log
      this.#settle(task, error);
    }
    thread.task = null;
    if (thread.state === "busy") {
      thread.state = "idle";
      this.#next(thread);
    }
  }

  /** Gives an idle thread the next waiting call, or arms its idle timer. */
  #next(thread: Thread): void {
    if (this.#closing !== null) return;
    thread.state = "idle";
    const task = this.#queue.shift();
    if (task !== undefined) {
      this.#assign(thread, task);
      return;
    }
    if (this.#options.idleTimeoutMs > 0) {
      thread.timer = setTimeout(() => {
        if (thread.state !== "idle" || !this.#threads.delete(thread)) return;
        void this.#stop(thread);
      }, this.#options.idleTimeoutMs);
      thread.timer.unref();
    }
  }

  #assign(thread: Thread, task: Task): void {
    if (thread.timer !== null) clearTimeout(thread.timer);
    thread.timer = null;
    thread.state = "busy";
    thread.task = task;
    task.thread = thread;
    if (this.#options.hangMs > 0) {
      thread.timer = setTimeout(() => {
        log.error(`${task.message.method} ran ${this.#options.hangMs} ms in a handler thread (supervision.workerTimeoutMs): taken for hung`);
        this.#cut(thread, task, new Error(`its handler thread was taken for hung after ${this.#options.hangMs} ms`));
      }, this.#options.hangMs);
      thread.timer.unref();
    }
    this.#post(thread, task.message);
  }

  #abort(task: Task): void {
    const reason: unknown = task.signal?.reason;
    const thread = task.thread;
    if (thread === null) {
      if (this.#queue.remove(task)) this.#settle(task, reason);
      return;
    }
    if (thread.task !== task) return;
    if (!isDeadline(reason)) {
      // The client left: the handler may stop on ctx.signal; its thread is kept.
      this.#post(thread, { kind: "abort", seq: task.message.seq });
      return;
    }
    // Its deadline passed: the only way to stop synchronous code is to end its thread.
    log.warn(`${task.message.method}: deadline passed in a handler thread; the thread is terminated and replaced`);
    this.#cut(thread, task, reason);
  }

  /** Ends the thread running `task`, answers it with `error`, starts another. */
  #cut(thread: Thread, task: Task, error: unknown): void {
    if (thread.task !== task) return;
    if (thread.timer !== null) clearTimeout(thread.timer);
    this.#threads.delete(thread);
    thread.state = "stopping";
    thread.task = null;
    this.#settle(task, error);
    void thread.worker.terminate();
    this.#replace();
  }

  #died(thread: Thread, why: string): void {
    if (thread.timer !== null) clearTimeout(thread.timer);
    const task = thread.task;
    thread.task = null;
    if (task !== null) {
      const error = new Error(`its handler thread ${why}`);
      error.stack = error.message; // the worker's own frames say nothing of it
      this.#settle(task, error);
    }
    if (!this.#threads.delete(thread)) return; // stopped on purpose, or already counted
    if (thread.settle !== null) {
      this.#failedToStart(thread, new BootError("WORKER_FAILED", `a handler thread ${why} before it was ready`));
      return;
    }
    log.error(`a handler thread ${why}${task === null ? "" : ` while running ${task.message.method}`}; it is replaced`);
    this.#replace();
  }

  /** Not replaced at once (a plugin that cannot load would loop): the next call starts another. */
  #failedToStart(thread: Thread, error: BootError): void {
    thread.settle?.(error);
    thread.settle = null;
    if (!this.#started) return;
    log.error(`${error.message}; the next offloaded call starts another`);
    // Nothing left to take the waiting calls: answer them rather than let them wait for nothing.
    if (this.#threads.size === 0) for (const t of this.#queue.drain()) this.#settle(t, error);
  }

  #replace(): void {
    if (this.#closing !== null) return;
    this.replaced++;
    this.#spawn();
  }

  #stop(thread: Thread): Promise<void> {
    if (thread.timer !== null) clearTimeout(thread.timer);
    thread.state = "stopping";
    if (thread.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => void thread.worker.terminate(), this.#data.hookTimeoutMs + STOP_MARGIN_MS);
      thread.worker.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      if (!this.#post(thread, { kind: "stop" })) void thread.worker.terminate();
    });
  }

  /** False when the thread is already gone. */
  #post(thread: Thread, msg: ToThread): boolean {
    try {
      thread.worker.postMessage(msg);
      return true;
    } catch {
      return false;
    }
  }

  #settle(task: Task, error: unknown, value?: JsonText): void {
    task.signal?.removeEventListener("abort", task.onAbort);
    if (error === null && value !== undefined) task.resolve(value);
    else task.reject(error);
  }

  #find(state: Thread["state"]): Thread | undefined {
    for (const t of this.#threads) if (t.state === state) return t;
    return undefined;
  }

  #count(state: Thread["state"]): number {
    let n = 0;
    for (const t of this.#threads) if (t.state === state) n++;
    return n;
  }
}

/** An RpcError's data as the thread encoded it; undefined should anything else have posted a look-alike. */
function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

function isDeadline(reason: unknown): boolean {
  return RpcError.is(reason) && reason.code === "DEADLINE_EXCEEDED";
}
