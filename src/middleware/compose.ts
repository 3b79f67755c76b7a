/**
 * Composes middleware into one function, once per method at load time.
 * next() called twice is an error; a middleware that does not call next()
 * ends the chain (its ctx.response is the answer).
 */
import type { MiddlewareFn, MiddlewareContext } from "./types.ts";

export type Chain = (ctx: MiddlewareContext) => Promise<void>;

export function compose(middleware: readonly MiddlewareFn[], terminal: (ctx: MiddlewareContext) => unknown): Chain {
  const list = [...middleware];
  return (ctx) => {
    let reached = -1;
    const run = async (i: number): Promise<void> => {
      if (i <= reached) throw new Error(`next() called twice in middleware ${i - 1}`);
      reached = i;
      if (i === list.length) {
        ctx.response.result = await terminal(ctx);
        return;
      }
      await (list[i] as MiddlewareFn)(ctx, () => run(i + 1));
    };
    return run(0);
  };
}
