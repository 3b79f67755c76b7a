/**
 * Structured access log (pino): one line per request with method, id,
 * duration, out or error code, and peer. Sampled; params are logged only
 * when asked, since they may hold secrets.
 */
import type { Level } from "pino";
import { toWireError } from "../errors.ts";
import type { MiddlewareFn } from "./types.ts";

export interface AccessLogOptions {
  /** Level of the lines (errors of code INTERNAL are always logged at "error"). Default "info". */
  level?: Level;
  /** Share of requests logged, 0 to 1. Default 1. */
  sampleRate?: number;
  /** Log params too. Default false. */
  params?: boolean;
}

export function accessLog(options: AccessLogOptions = {}): MiddlewareFn {
  const level = options.level ?? "info";
  const rate = options.sampleRate ?? 1;
  return async (ctx, next) => {
    if (rate < 1 && Math.random() >= rate) return next();
    const start = performance.now();
    // method and id are bound in ctx.log already
    const line: Record<string, unknown> = { peer: `${ctx.peer.address}:${ctx.peer.port}` };
    if (options.params === true) line.params = ctx.request.params;
    try {
      await next();
      line.out = ctx.response.out;
    } catch (error) {
      line.code = toWireError(error).code;
      throw error;
    } finally {
      line.ms = Math.round((performance.now() - start) * 1000) / 1000;
      ctx.log[line.code === "INTERNAL" ? "error" : level](line, "rpc");
    }
  };
}
