/**
 * Runs the requests of one connection: the in-flight limits, dispatch, and
 * a request's bookkeeping until its handler settles. An answer is placed in
 * the connection's AnswerQueue as soon as it exists; the in-flight slot is
 * freed only when the handler settles, which for a request cut short by its
 * deadline is later than its answer.
 */
import { encodeError, type RequestEnvelope } from "../protocol/envelope.ts";
import type { Registry } from "../plugins/registry.ts";
import { overLimit, type InflightLimits } from "../middleware/limits.ts";
import type { Activity, Running } from "./activity.ts";
import type { AnswerQueue } from "./answers.ts";
import { dispatch } from "./dispatch.ts";
import { RequestContext, type ContextOwner } from "../request/request-context.ts";

export interface RequestsOwner extends ContextOwner {
  /** A later answer was placed: write it soon (once per event-loop turn is enough). */
  answered(): void;
  /** A bug threw where nothing may: drop the connection, never the worker. */
  lost(error: unknown): void;
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

  run(req: RequestEnvelope, hasId: boolean): void {
    const activity = this.#activity;
    const full = overLimit(this.#limits, this.#occupied, activity.inflight);
    // Looked up only when full: rpc.health must answer precisely then.
    if (full !== null && this.#methods.get(req.method)?.unlimited !== true) return this.#answers.now(encodeError(full, req.id), hasId);

    const ctx = new RequestContext(req, this.#owner);
    const outcome = dispatch(this.#methods, req, ctx, activity);
    if (typeof outcome === "string") {
      ctx.done();
      activity.served++;
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
        this.#answers.fill(slot, text);
        this.#release(ctx.outliving, running);
        owner.answered();
      } catch (error) {
        owner.lost(error);
      }
    }, owner.lost);
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
