/**
 * The one middleware shape: `(ctx, next) => Promise<void>`, in onion order.
 * Code after `await next()` sees the result (ctx.response) or the error.
 */
import type { DependencyContainer } from "tsyringe";
import type { Logger } from "pino";
import type { RequestId } from "../protocol/envelope.ts";
import type { Peer } from "../request/context.ts";
import type { RpcMethodMeta } from "../request/method.ts";

export interface MiddlewareContext {
  readonly request: {
    readonly method: string;
    /** Writable: validation replaces it with the parsed value. */
    params: unknown;
    readonly id: RequestId | undefined;
    readonly meta: Readonly<Record<string, unknown>>;
  };
  /** What will be sent; both writable until the answer leaves. */
  readonly response: { out: string; result: unknown };
  /** Per-request bag for middleware to share values (auth puts `principal` here). */
  readonly state: Record<string, unknown>;
  readonly peer: Peer;
  /** Aborted when the client goes away or the deadline passes. */
  readonly signal: AbortSignal;
  /** The handler's declared options. */
  readonly handler: RpcMethodMeta;
  /** The worker's logger, bound to this request's method and id. */
  readonly log: Logger;
  /** The worker's DI container. */
  readonly container: DependencyContainer;
}

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
