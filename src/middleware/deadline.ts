/**
 * Deadlines, the grpc way: a handler option `timeoutMs`, the request's
 * `meta.timeoutMs`, and a config default; the smallest wins. When it
 * passes, the request is answered DEADLINE_EXCEEDED and its signal aborts,
 * so the handler can stop. Only asynchronous work can outrun a deadline, so
 * a synchronous answer never arms a timer.
 *
 * All of it is here: deadlineOf() is worked out once per request (into
 * ctx.deadlineMs, server/requests.ts), withDeadline() races the work, and
 * server/dispatch.ts calls it around the handler of a method without
 * middleware, while a chain has deadlineStep just inside the access log.
 * meta.timeoutMs was checked when the request was parsed (protocol/envelope.ts).
 */
import { RpcError } from "../errors.ts";
import { MAX_TIMER_MS } from "../protocol/timers.ts";
import type { RequestContext } from "../request/request-context.ts";
import { abandonsNext, skippedWhen } from "./compose.ts";
import type { Next } from "./types.ts";

export { MAX_TIMER_MS };


/**
 * The deadline in ms for a request, Infinity when none. `meta.timeoutMs`,
 * when present, is a positive number (parseRequest refused any other).
 * Past MAX_TIMER_MS (24.8 days) a deadline is as good as none.
 */
export function deadlineOf(meta: Readonly<Record<string, unknown>>, handlerMs: number | undefined, defaultMs: number): number {
  let ms = defaultMs > 0 ? defaultMs : Infinity;
  if (handlerMs !== undefined && handlerMs > 0 && handlerMs < ms) ms = handlerMs;
  const asked = meta.timeoutMs as number | undefined;
  if (asked !== undefined && asked < ms) ms = asked;
  return ms > MAX_TIMER_MS ? Infinity : ms;
}

/**
 * The deadline as a chain step, so that middleware outside it (the access
 * log) sees DEADLINE_EXCEEDED; passed over for a request without one.
 */
export const deadlineStep = skippedWhen(
  abandonsNext((ctx: RequestContext, next: Next) => withDeadline(next(), ctx.deadlineMs, ctx)),
  (ctx: RequestContext) => ctx.deadlineMs === Infinity,
);

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
