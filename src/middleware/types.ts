/**
 * The one middleware shape: `(ctx, next) => Promise<void>`, in onion order.
 * Code after `await next()` sees the result (ctx.response) or the error.
 * The ctx is the request's one context (request/request-context.ts): the
 * handler receives the same object, typed to the RpcContext subset.
 */
import type { MiddlewareContext } from "../request/request-context.ts";

export type { MiddlewareContext };

export type Next = () => Promise<void>;

/**
 * Returns a promise, so that TypeScript refuses a plain function that calls
 * next() and drops what it returns: write `async (ctx, next) => { ...; await
 * next(); ... }` or `(ctx, next) => next()`. (A forgotten `await` inside an
 * async function is not a type error; the chain waits for such a next()
 * anyway and logs a warning, see compose.ts, and typescript-eslint's
 * no-floating-promises catches it before it runs.)
 */
export type MiddlewareFn = (ctx: MiddlewareContext, next: Next) => Promise<void>;

/** A middleware class (from a plugin file or @Use), resolved through DI. */
export interface MiddlewareClass {
  new (...args: any[]): { use(ctx: MiddlewareContext, next: Next): Promise<void> };
}
