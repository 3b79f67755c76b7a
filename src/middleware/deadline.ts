/**
 * Deadlines, the grpc way: a handler option `timeoutMs`, the request's
 * `meta.timeoutMs`, and a config default; the smallest wins. When it
 * passes, the request is answered DEADLINE_EXCEEDED and its signal aborts,
 * so the handler can stop. Only asynchronous work can outrun a deadline, so
 * a synchronous answer never arms a timer.
 */
import { RpcError } from "../errors.ts";
import { MAX_TIMER_MS } from "../protocol/timers.ts";
import { abandonsNext } from "./compose.ts";
import type { CallContext } from "./context.ts";
import type { MiddlewareFn } from "./types.ts";

export { MAX_TIMER_MS };


/**
 * The deadline in ms for a request, Infinity when none; throws
 * INVALID_REQUEST for a bad meta.timeoutMs. Past MAX_TIMER_MS (24.8 days)
 * a deadline is as good as none.
 */
export function deadlineOf(meta: Readonly<Record<string, unknown>>, handlerMs: number | undefined, defaultMs: number): number {
  let ms = defaultMs > 0 ? defaultMs : Infinity;
  if (handlerMs !== undefined && handlerMs > 0 && handlerMs < ms) ms = handlerMs;
  const asked = meta.timeoutMs;
  if (asked !== undefined) {
    if (typeof asked !== "number" || !(asked > 0)) throw new RpcError("INVALID_REQUEST", "meta.timeoutMs must be a positive number");
    if (asked < ms) ms = asked;
  }
  return ms > MAX_TIMER_MS ? Infinity : ms;
}

/** The deadline as a chain step, so that middleware outside it (the access log) sees DEADLINE_EXCEEDED. */
export const deadlineStep: MiddlewareFn = abandonsNext((ctx, next) => {
  const call = ctx as CallContext;
  return withDeadline(next(), call.deadlineMs, call.rpc);
});

/** What a deadline tells when it passes: the request's context. */
export interface Expirable {
  expire(reason: RpcError, work: Promise<unknown>): void;
}

/**
 * Settles like `work`, or rejects with DEADLINE_EXCEEDED after `ms`, first
 * telling `ctx` (which aborts the request's signal, and keeps the request's
 * in-flight slot until `work` settles: a handler that ignores its signal is
 * still running, and the limits count running handlers).
 */
export function withDeadline<T>(work: Promise<T>, ms: number, ctx: Expirable): Promise<T> {
  if (ms === Infinity) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new RpcError("DEADLINE_EXCEEDED", `deadline of ${ms} ms exceeded`);
      ctx.expire(error, work);
      reject(error);
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
