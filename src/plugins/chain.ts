/**
 * Builds each method's middleware chain once, at load time, in this order
 * (outermost first):
 *
 *   access log -> deadline -> auth (unless the method is public) -> config `middleware`
 *   -> plugin @Middleware classes (by order, then file, then class name)
 *   -> the handler's @Use list -> params validation -> handler
 *
 * In-flight limits are checked before any of it (server/requests.ts). A
 * method with nothing configured gets no chain at all, and so pays nothing
 * for the machinery; its deadline is then enforced in server/dispatch.ts.
 * The deadline step is passed over for a request without a deadline, so
 * each chain is composed once.
 * The built-in rpc.discover and rpc.health get the same chain minus @Use and
 * validation (plugins/introspection.ts): auth is skipped only for those
 * listed in config.introspection.public.
 */
import type { DependencyContainer } from "tsyringe";
import type { ServerConfig } from "../config.ts";
import { useOf, type UseEntry } from "../decorators/use.ts";
import { BootError } from "../errors.ts";
import { accessLog } from "../middleware/access-log.ts";
import { auth } from "../middleware/auth.ts";
import { compose, type Chain } from "../middleware/compose.ts";
import { deadlineStep } from "../middleware/deadline.ts";
import type { MiddlewareClass, MiddlewareFn } from "../middleware/types.ts";
import { validate } from "../middleware/validation.ts";
import type { RpcHandler, RpcMethodMeta } from "../request/method.ts";
import type { RequestContext } from "../request/request-context.ts";
import { shownPath } from "./discover.ts";
import { construct } from "./injection.ts";
import type { MiddlewareDefinition } from "./load.ts";

/** What every method's chain shares: built once per registry. */
export interface ChainParts {
  readonly before: readonly MiddlewareFn[];
  readonly auth: MiddlewareFn | null;
  readonly after: readonly MiddlewareFn[];
  readonly resolve: (entry: UseEntry, where: string) => MiddlewareFn;
}

export function chainParts(config: ServerConfig, plugins: readonly MiddlewareDefinition[], container: DependencyContainer): ChainParts {
  const instances = new Map<Function, MiddlewareFn>();
  const resolve = (entry: UseEntry, where: string): MiddlewareFn => {
    if (!isMiddlewareClass(entry)) return entry as MiddlewareFn;
    const cls = entry;
    let fn = instances.get(cls);
    if (fn === undefined) {
      const instance = construct(cls, container, where, `middleware ${cls.name}`);
      if (typeof instance.use !== "function") throw new BootError("PLUGIN_INVALID", `${where}: middleware ${cls.name} needs a use(ctx, next) method`);
      fn = (ctx, next) => instance.use(ctx, next);
      instances.set(cls, fn);
    }
    return fn;
  };
  const sorted = [...plugins].sort((a, b) => a.order - b.order || compare(a.file, b.file) || compare(a.cls.name, b.cls.name));
  const log = config.accessLog === false ? null : accessLog(config.accessLog === true ? {} : config.accessLog);
  return {
    before: log === null ? [] : [log],
    auth: config.auth === undefined ? null : auth(config.auth),
    after: [...config.middleware, ...sorted.map((m) => resolve(m.cls, shownPath(config.pluginRoot, m.file)))],
    resolve,
  };
}

/** A method's chain, run with the request's one context. */
export type MethodChain = Chain<RequestContext>;

/** `cls` is the handler's class, for its @Use list; null for the built-in methods, which have none. */
export function buildChain(parts: ChainParts, meta: RpcMethodMeta, cls: Function | null, handler: RpcHandler, where: string): MethodChain | null {
  const list: ((ctx: RequestContext, next: () => Promise<void>) => Promise<void>)[] = [...parts.before];
  if (parts.auth !== null && meta.public !== true) list.push(parts.auth);
  list.push(...parts.after);
  if (cls !== null) list.push(...useOf(cls).map((entry) => parts.resolve(entry, where)));
  if (meta.params !== undefined) list.push(validate(meta.params));
  if (list.length === 0) return null;
  // The deadline goes just inside the access log, so the log sees a DEADLINE_EXCEEDED.
  list.splice(parts.before.length, 0, deadlineStep);
  return compose(list, (ctx) => handler.handle(ctx.request.params, ctx));
}

/**
 * Whether a @Use entry is a middleware class (constructed through DI) rather
 * than a middleware function: a use() method on its prototype, or class
 * syntax (a class whose use is an arrow-function property has no prototype
 * use; called as a function it would throw on every request).
 */
export function isMiddlewareClass(value: unknown): value is MiddlewareClass {
  if (typeof value !== "function") return false;
  return typeof (value as { prototype?: { use?: unknown } }).prototype?.use === "function" || /^class\b/.test(Function.prototype.toString.call(value));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
