/**
 * @Middleware marks a class in a plugin file as middleware for every method:
 * it is discovered like handlers, constructed through DI (so it can inject
 * services), and runs in `order` (lower first; ties by file, then class name).
 * Records metadata only.
 *
 * @example
 * @Middleware({ order: 10 })
 * export class Timing {
 *   async use(ctx: MiddlewareContext, next: Next) { ... await next(); ... }
 * }
 */
import { injectable } from "tsyringe";
import type { MiddlewareClass } from "../middleware/types.ts";

export interface MiddlewareOptions {
  /** Lower runs first (outer). Default 0. */
  readonly order?: number;
}

const META = Symbol.for("forkrpc.middleware.meta");

export function Middleware(options: MiddlewareOptions = {}) {
  return <T extends MiddlewareClass>(target: T): void => {
    Object.defineProperty(target, META, { value: { order: options.order ?? 0 }, enumerable: false });
    injectable()(target);
  };
}

export function middlewareMetaOf(value: unknown): { order: number } | undefined {
  if (typeof value !== "function" || !Object.hasOwn(value, META)) return undefined;
  return (value as unknown as Record<symbol, { order: number }>)[META];
}
