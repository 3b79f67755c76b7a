/**
 * Composes middleware into one function, once per method at load time.
 * next() called twice is an error; a middleware that does not call next()
 * ends the chain (its ctx.response is the answer).
 */
import type { MiddlewareFn, MiddlewareContext } from "./types.ts";

export type Chain = (ctx: MiddlewareContext) => Promise<void>;

export function compose(middleware: readonly MiddlewareFn[], terminal: (ctx: MiddlewareContext) => unknown): Chain {
  const list = [...middleware];
  const last = list.length;
  return (ctx) => {
    let reached = -1;
    // Plain functions, not async ones: a step that is already a promise is
    // passed on as it is, and a synchronous handler costs no extra promise.
    const run = (i: number): Promise<void> => {
      if (i <= reached) return Promise.reject(new Error(`next() called twice in middleware ${i - 1}`));
      reached = i;
      try {
        if (i === last) {
          const result = terminal(ctx);
          if (!isThenable(result)) {
            ctx.response.result = result;
            return DONE;
          }
          return Promise.resolve(result).then((value) => {
            ctx.response.result = value;
          });
        }
        const step = (list[i] as MiddlewareFn)(ctx, () => run(i + 1));
        return step instanceof Promise ? step : Promise.resolve(step);
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return run(0);
  };
}

const DONE: Promise<void> = Promise.resolve();

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as PromiseLike<unknown>).then === "function";
}
