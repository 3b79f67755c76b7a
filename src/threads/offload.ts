/**
 * The handler the worker's method table holds for an offloaded method: it
 * hands the call to the thread pool. Middleware has run by then, on the
 * worker's own thread. The body text the worker received crosses as it is,
 * unless middleware replaced the params (validation does), which then cross
 * as their own JSON.
 */
import type { RpcHandler } from "../request/method.ts";
import type { RequestContext } from "../request/request-context.ts";
import type { ThreadPool } from "./pool.ts";

export function offloadedHandler(pool: ThreadPool, method: string): RpcHandler {
  return {
    // The server hands every handler the request's RequestContext (server/dispatch.ts, plugins/chain.ts).
    handle(params: unknown, ctx: RequestContext) {
      const whole = params === ctx.receivedParams && ctx.receivedText !== undefined;
      const state = stateJson(ctx);
      const { address, port } = ctx.peer;
      return pool.run(
        {
          method,
          text: whole ? (ctx.receivedText as string) : (JSON.stringify(params) ?? "null"),
          whole,
          id: ctx.id,
          meta: whole ? null : JSON.stringify(ctx.meta),
          state,
          peer: { address, port },
        },
        // The pool listens: a deadline or a client leaving takes the call out of the queue.
        ctx.signal,
      );
    },
  };
}

/** ctx.state as JSON, or null when empty or not JSON (a value JSON cannot carry stays on the worker's thread). */
function stateJson(ctx: RequestContext): string | null {
  const state = ctx.state;
  if (Object.keys(state).length === 0) return null;
  try {
    return JSON.stringify(state) ?? null;
  } catch {
    return null;
  }
}
