/**
 * @Use(...) attaches middleware to one handler class: functions, or
 * middleware classes resolved through DI. Records metadata only.
 *
 * @example
 * @Use(audit, RateLimit)
 * @Rpc("transfer")
 * export class Transfer { handle(params: unknown) { ... } }
 */
import type { MiddlewareClass, MiddlewareFn } from "../middleware/types.ts";

export type UseEntry = MiddlewareFn | MiddlewareClass;

const USE = Symbol.for("forkrpc.use");

export function Use(...middleware: UseEntry[]) {
  return (target: Function): void => {
    // Decorators apply bottom-up; keep the order they are written in.
    const earlier = useOf(target);
    Object.defineProperty(target, USE, { value: [...middleware, ...earlier], configurable: true });
  };
}

export function useOf(cls: Function): readonly UseEntry[] {
  return Object.hasOwn(cls, USE) ? (cls as unknown as Record<symbol, UseEntry[]>)[USE] ?? [] : [];
}
