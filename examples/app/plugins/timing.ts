import { Middleware, type MiddlewareContext, type Next } from "forkrpc";

/** Plugin middleware: runs for every method, and logs the slow ones. */
@Middleware({ order: 10 })
export class Timing {
  async use(ctx: MiddlewareContext, next: Next) {
    const start = performance.now();
    await next();
    const ms = performance.now() - start;
    if (ms > 100) ctx.log.warn({ ms }, "slow call");
  }
}
