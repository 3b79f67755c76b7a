/**
 * Runs the requests of one connection: the in-flight limits, dispatch, and
 * a request's bookkeeping until its handler settles. An answer is placed in
 * the connection's AnswerQueue as soon as it exists; the in-flight slot is
 * freed only when the handler settles, which for a request cut short by its
 * deadline is later than its answer.
 */
import { encodeError, errorCodeOf, type RequestEnvelope, type RequestId, type WireError } from "../protocol/envelope.ts";
import type { CallMetrics } from "../metrics/recorder.ts";
import type { MethodEntry } from "../plugins/registry.ts";
import type { Registry } from "../plugins/registry.ts";
import { overLimit, type InflightLimits } from "../middleware/limits.ts";
import type { Activity, Running } from "./activity.ts";
import type { AnswerQueue } from "./answers.ts";
import { deadlineOf } from "../middleware/deadline.ts";
import { dispatch, methodNotFound } from "./dispatch.ts";
import { RequestContext, type ContextOwner } from "../request/request-context.ts";

export interface RequestsOwner extends ContextOwner {
  /** A later answer was placed: write it soon (once per event-loop turn is enough). */
  answered(): void;
  /** A bug threw where nothing may: drop the connection, never the worker. */
  lost(error: unknown): void;
  /** When the read being handled began (performance.now()): where a call's duration starts. */
  readonly readAt: number;
}

export class Requests {
  readonly #methods: Registry;
  readonly #limits: InflightLimits;
  readonly #activity: Activity;
  readonly #answers: AnswerQueue;
  readonly #owner: RequestsOwner;
  /** Handlers not settled yet: what maxInflightPerConnection counts. */
  #occupied = 0;

  constructor(methods: Registry, limits: InflightLimits, activity: Activity, answers: AnswerQueue, owner: RequestsOwner) {
    this.#methods = methods;
    this.#limits = limits;
    this.#activity = activity;
    this.#answers = answers;
    this.#owner = owner;
  }

  /** `bytes`: the request's body size, for the size histogram. */
  run(req: RequestEnvelope, hasId: boolean, bytes: number): void {
    const activity = this.#activity;
    const metrics = activity.metrics;
    const startedAt = this.#owner.readAt;
    const entry = this.#methods.get(req.method);
    const full = overLimit(this.#limits, this.#occupied, activity.inflight);
    if (full !== null && entry?.unlimited !== true) {
      const text = encodeError(full, req.id);
      if (metrics !== null) record(metrics, entry, startedAt, bytes, text);
      return this.#answers.now(text, hasId);
    }

    if (entry === undefined) {
      const text = methodNotFound(req);
      activity.served++;
      if (metrics !== null) record(metrics, entry, startedAt, bytes, text);
      return this.#answers.now(text, hasId);
    }
    const ctx = new RequestContext(req, this.#owner, entry, deadlineOf(req.meta, entry.meta.timeoutMs, entry.defaultTimeoutMs));
    const outcome = dispatch(entry, ctx, activity);
    if (typeof outcome === "string") {
      ctx.done();
      activity.served++;
      if (metrics !== null) record(metrics, entry, startedAt, bytes, outcome);
      this.#answers.now(outcome, hasId);
      return;
    }
    this.#occupied++;
    const slot = this.#answers.expect(hasId);
    const running = activity.begin(req.method, req.id);
    const owner = this.#owner;
    outcome.then((text) => {
      // A throw here would be an unhandled rejection, which ends the worker.
      try {
        ctx.done();
        activity.served++;
        if (metrics !== null) record(metrics, entry, startedAt, bytes, text);
        this.#answers.fill(slot, text);
        this.#release(ctx.outliving, running);
        owner.answered();
      } catch (error) {
        owner.lost(error);
      }
    }, owner.lost);
  }

  /** A request answered with an error before reaching a method: malformed, or sent while going away. */
  refuse(fault: WireError, id: RequestId | undefined, hasId: boolean): void {
    this.#activity.metrics?.rejected(fault.code);
    this.#answers.now(encodeError(fault, id), hasId);
  }

  /** Answers were just written: the calls answered since get their duration. */
  written(now: number): void {
    this.#activity.metrics?.written(now);
  }

  /** A framing fault that will close the connection: counted with the refused requests. */
  faulted(code: string): void {
    this.#activity.metrics?.rejected(code);
  }

  /** Frees the slot when the handler settles: now, or after the answer when the deadline cut it short. */
  #release(outliving: Promise<unknown> | null, running: Running): void {
    const free = () => {
      this.#occupied--;
      this.#activity.end(running);
    };
    if (outliving === null) free();
    else outliving.then(free, free);
  }
}

/** One answered call into the worker's metrics: the answer's length stands for its size (they are equal for ASCII JSON). */
function record(metrics: CallMetrics, entry: MethodEntry | undefined, readAt: number, bytes: number, answer: string): void {
  metrics.record(entry === undefined ? metrics.other : entry.index, errorCodeOf(answer), readAt, bytes, answer.length);
}
