/**
 * Composes middleware into one function, once per method at load time.
 * next() called twice is an error; a middleware that does not call next()
 * ends the chain (its ctx.response is the answer).
 *
 * A level (one middleware's call) settles only after the next() it called
 * has settled: a middleware that forgets to await or return next() is waited
 * for, warned about, and answered with the downstream error if there is one,
 * so the client never gets an answer before its handler settled and a late
 * rejection never goes unhandled (which would end the worker). The one step
 * allowed to settle first is one marked with abandonsNext() (the deadline).
 *
 * Whether a middleware looked at a failed next() cannot be seen without a
 * promise per await, so the rule is about the answer instead: a middleware
 * that resolves although its next() failed has recovered only if it wrote
 * ctx.response (result or out); otherwise the error is the answer.
 *
 * A step marked with skippedWhen() is passed over for a request its
 * predicate holds for (the deadline step, for a request with none), so that
 * one chain, composed once, serves requests with and without a deadline.
 */
import type { MiddlewareContext, Next } from "./types.ts";

/** A chain step; `C` is the context the chain is run with (the request's RequestContext in the server). */
type Step<C> = (ctx: C, next: Next) => Promise<void>;

export type Chain<C extends MiddlewareContext = MiddlewareContext> = (ctx: C) => Promise<void>;

/** One middleware's call within one request. */
interface Level {
  /** What its first next() returned; null until it calls next(). */
  down: Promise<void> | null;
  /** Whether `down` has settled (set by our own code before it settles). */
  settled: boolean;
  /** Whether `down` rejected, and with what. */
  failed: boolean;
  failure: unknown;
  /** Whether the middleware itself has returned, after which next() is refused. */
  closed: boolean;
  twice: Error | null;
}

const ABANDONING = new WeakSet<Function>();
const SKIPS = new WeakMap<Function, (ctx: any) => boolean>();

/**
 * Marks a step that may settle before the next() it called (the deadline
 * answers DEADLINE_EXCEEDED on time and aborts the request's signal instead).
 */
export function abandonsNext<F extends Step<any>>(fn: F): F {
  ABANDONING.add(fn);
  return fn;
}

/** Marks a step the chain passes over for a request `skip` holds for: it costs that request nothing. */
export function skippedWhen<C, F extends Step<C>>(fn: F, skip: (ctx: C) => boolean): F {
  SKIPS.set(fn, skip);
  return fn;
}

export function compose<C extends MiddlewareContext>(middleware: readonly Step<C>[], terminal: (ctx: C) => unknown): Chain<C> {
  const list = [...middleware];
  const waits = list.map((fn) => !ABANDONING.has(fn));
  const skips = list.map((fn) => SKIPS.get(fn));
  const last = list.length;
  return (ctx) => {
    // Plain functions, not async ones: a synchronous middleware or handler
    // costs no extra promise; an async one costs one .then per level, which
    // is what tells us when its next() settled relative to itself (three
    // trivial async middleware, composed alone: about 1.3 -> 1.9 us a
    // request on node 24; end to end, npm run bench:middleware could not
    // tell the two apart on a loaded machine).
    const run = (i: number, parent: Level | null): Promise<void> => {
      if (i === last) return runTerminal(ctx, terminal, parent);
      // A skipped step is not a level: the next one answers to this one's parent.
      if (skips[i]?.(ctx) === true) return run(i + 1, parent);
      const level: Level = { down: null, settled: false, failed: false, failure: undefined, closed: false, twice: null };
      const next = (): Promise<void> => {
        if (level.closed) return refuse(ctx, new Error(`next() called in middleware ${i} after it returned`));
        if (level.down !== null) {
          level.twice ??= new Error(`next() called twice in middleware ${i}`);
          return handled(Promise.reject(level.twice));
        }
        return (level.down = run(i + 1, level));
      };
      let step: unknown;
      try {
        step = (list[i] as Step<C>)(ctx, next);
      } catch (error) {
        step = Promise.reject(error);
      }
      const wait = waits[i] as boolean;
      if (!isThenable(step) && level.twice === null && !level.failed && (level.down === null || level.settled || !wait)) {
        level.closed = true;
        if (parent !== null) parent.settled = true;
        return DONE;
      }
      const settled: Promise<void> = Promise.resolve(step).then(
        () => {
          level.closed = true;
          if (wait && level.down !== null && !level.settled) return late(ctx, i, level, parent, settled, undefined, false);
          if (level.failed && unanswered(ctx)) {
            ctx.log.warn(`middleware ${i} resolved although the next() it called failed, and wrote no answer: the error is the answer`);
            return finish(level, parent, settled, level.failure, true);
          }
          return finish(level, parent, settled, undefined, false);
        },
        (error: unknown) => {
          level.closed = true;
          if (wait && level.down !== null && !level.settled) return late(ctx, i, level, parent, settled, error, true);
          return finish(level, parent, settled, error, true);
        },
      );
      return settled;
    };
    return run(0, null);
  };
}

function runTerminal<C extends MiddlewareContext>(ctx: C, terminal: (ctx: C) => unknown, parent: Level | null): Promise<void> {
  let result: unknown;
  try {
    result = terminal(ctx);
  } catch (error) {
    if (parent !== null) failedBelow(parent, error);
    return handled(Promise.reject(error));
  }
  if (!isThenable(result)) {
    ctx.response.result = result;
    if (parent !== null) parent.settled = true;
    return DONE;
  }
  const settled: Promise<void> = Promise.resolve(result).then(
    (value) => {
      ctx.response.result = value;
      if (parent !== null) parent.settled = true;
    },
    (error: unknown) => {
      if (parent !== null) failedBelow(parent, error);
      // The middleware above may not await it: the rejection is still answered (see late() and unanswered()).
      markHandled(settled);
      throw error;
    },
  );
  return settled;
}

/** A level's outcome: its own error first, then a second next(), else success. */
function finish(level: Level, parent: Level | null, settled: Promise<void>, error: unknown, failed: boolean): void {
  if (failed || level.twice !== null) {
    const thrown = failed ? error : level.twice;
    if (parent !== null) failedBelow(parent, thrown);
    markHandled(settled);
    throw thrown;
  }
  if (parent !== null) parent.settled = true;
}

function failedBelow(parent: Level, error: unknown): void {
  parent.settled = true;
  parent.failed = true;
  parent.failure = error;
}

/** Nothing has written an answer: the handler did not finish and no middleware wrote ctx.response. */
function unanswered(ctx: MiddlewareContext): boolean {
  return ctx.response.result === undefined && ctx.response.out === ctx.handler.out;
}

/** A middleware returned while its next() was still running: wait for it; its error is the answer unless the middleware failed itself. */
function late(ctx: MiddlewareContext, i: number, level: Level, parent: Level | null, settled: Promise<void>, error: unknown, failed: boolean): Promise<void> {
  ctx.log.warn(`middleware ${i} returned before the next() it called settled (await or return next()); waiting for it`);
  return (level.down as Promise<void>).then(
    () => finish(level, parent, settled, error, failed),
    (downError: unknown) => finish(level, parent, settled, failed ? error : downError, true),
  );
}

function refuse(ctx: MiddlewareContext, error: Error): Promise<void> {
  ctx.log.warn(error.message);
  return handled(Promise.reject(error));
}

const noop = (): void => {};

/** Gives a rejection a handler, so that a middleware that never looks at it cannot end the worker. */
function handled(promise: Promise<void>): Promise<void> {
  markHandled(promise);
  return promise;
}

function markHandled(promise: Promise<void>): void {
  promise.then(undefined, noop);
}

const DONE: Promise<void> = Promise.resolve();

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as PromiseLike<unknown>).then === "function";
}
