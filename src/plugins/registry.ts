/**
 * Turns handler definitions into the method table a worker serves: one
 * instance per handler, resolved through a tsyringe container per registry,
 * then the built-in methods it is given (introspection.ts makes those).
 */
import { container as rootContainer, type DependencyContainer, type InjectionToken } from "tsyringe";
import { ServerConfig } from "../config.ts";
import { BootError, describe } from "../errors.ts";
import type { RpcHandler, RpcMethodMeta } from "../request/method.ts";
import { buildChain, chainParts, isMiddlewareClass, type MethodChain } from "./chain.ts";
import { useOf } from "../decorators/use.ts";
import type { LoadedPlugins } from "./load.ts";
import { shownPath } from "./discover.ts";
import { construct, dependencyTokens } from "./injection.ts";
import { collectHookInstances } from "./lifecycle.ts";
import { offloadedHandler } from "../threads/offload.ts";
import { ThreadPool } from "../threads/pool.ts";

export interface MethodEntry {
  readonly name: string;
  /** Everything @Rpc declared (options included). */
  readonly meta: RpcMethodMeta;
  /** The middleware chain, or null when the method has none (the fast path). */
  readonly chain: MethodChain | null;
  /** The worker's container, for middleware. */
  readonly container: DependencyContainer;
  /** deadline.defaultTimeoutMs from the config (0: none). */
  readonly defaultTimeoutMs: number;
  /** Position in the registry, so shared memory can name the method with a number. */
  readonly index: number;
  /** `meta.out` as JSON text, encoded once here instead of per response. */
  readonly outJson: string;
  readonly handler: RpcHandler;
  readonly file: string;
  /** Answered even past the in-flight limits (the built-in rpc.health must report a full worker). */
  readonly unlimited?: boolean;
}

/** The `file` of built-in methods. */
export const BUILT_IN = "(built in)";

/** A method the framework serves itself (rpc.discover, rpc.health). */
export interface BuiltInMethod {
  readonly meta: RpcMethodMeta;
  readonly handler: RpcHandler;
  /** Answered even past the in-flight limits. */
  readonly unlimited: boolean;
}

/**
 * Given the plugins' methods, the built-ins to add after them. A plugin that
 * serves a built-in's name keeps it: such built-ins are skipped.
 */
export type BuiltIns = (plugins: Registry, pool: ThreadPool | null) => readonly BuiltInMethod[];

function addMethod(
  methods: Map<string, MethodEntry>,
  fields: Pick<MethodEntry, "meta" | "chain" | "container" | "defaultTimeoutMs" | "handler" | "file" | "unlimited">,
): void {
  const { meta } = fields;
  methods.set(meta.name, { ...fields, name: meta.name, index: methods.size, outJson: JSON.stringify(meta.out) });
}

/** Method name -> entry. A Map, so inherited keys such as "__proto__" never match. */
export type Registry = ReadonlyMap<string, MethodEntry>;

export interface BuiltRegistry {
  readonly methods: Registry;
  readonly container: DependencyContainer;
  /** Handlers and services with lifecycle hooks, in construction order (offloaded handlers' are in their threads). */
  readonly hooked: readonly object[];
  /** The handler threads of the offloaded methods, not yet started; null when no method is offloaded. */
  readonly pool: ThreadPool | null;
}

export function buildRegistry(
  plugins: LoadedPlugins,
  config: ServerConfig,
  builtIns: BuiltIns = () => [],
): BuiltRegistry {
  const { middleware } = plugins;
  const offloaded = plugins.handlers.filter((d) => d.meta.offload === true);
  const pool = offloaded.length === 0 ? null : threadPool(offloaded, config);
  // Offloaded handlers are built in their threads, not here.
  const defs = plugins.handlers.filter((d) => d.meta.offload !== true);
  const container = rootContainer.createChildContainer();
  // ServerConfig is abstract: it serves as a token, never as something to construct.
  container.register(ServerConfig as unknown as InjectionToken<ServerConfig>, { useValue: config });
  const methods = new Map<string, MethodEntry>();
  const tokens = new Set<unknown>();
  // Everything the registry will construct, so that lifecycle hooks are found
  // on it and on what it injects: handlers, plugin middleware, @Use classes.
  const useClasses = defs.flatMap((d) => useOf(d.cls).filter(isMiddlewareClass));
  for (const cls of [...defs.map((d) => d.cls), ...middleware.map((m) => m.cls), ...useClasses]) {
    dependencyTokens(cls, tokens);
    tokens.add(cls);
  }
  const hooked = collectHookInstances(container, tokens);
  const parts = chainParts(config, middleware, container);
  // Handlers built here and offloaded ones (a thread runs them) enter the table alike.
  const handlers = [
    ...defs.map((def) => ({ def, handler: construct(def.cls as new () => RpcHandler, container, shownPath(config.pluginRoot, def.file), def.cls.name) })),
    ...offloaded.map((def) => ({ def, handler: offloadedHandler(pool as ThreadPool, def.meta.name) })),
  ];
  for (const { def, handler } of handlers) {
    addMethod(methods, {
      meta: def.meta,
      chain: buildChain(parts, def.meta, def.cls, handler, shownPath(config.pluginRoot, def.file)),
      container,
      defaultTimeoutMs: config.deadline.defaultTimeoutMs,
      handler,
      file: def.file,
    });
  }
  for (const { meta, handler, unlimited } of builtIns(methods, pool)) {
    if (methods.has(meta.name)) continue;
    // rpc.health stays unlimited (a probe must see a full worker) and, with no
    // middleware configured, chainless. Built-ins answer at once: no default
    // deadline, so no timer per probe.
    const chain = buildChain(parts, meta, null, handler, BUILT_IN);
    addMethod(methods, { meta, chain, container, defaultTimeoutMs: 0, handler, file: BUILT_IN, unlimited });
  }
  return { methods, container, hooked, pool };
}

function threadPool(offloaded: LoadedPlugins["handlers"], config: ServerConfig): ThreadPool {
  const { perWorker, maxQueue, idleTimeoutMs } = config.threads;
  const data = {
    files: [...new Set(offloaded.map((d) => d.file))],
    methods: offloaded.map((d) => d.meta.name),
    pluginRoot: config.pluginRoot,
    configJson: configJson(config),
    hookTimeoutMs: config.supervision.hookTimeoutMs,
  };
  return new ThreadPool(data, { size: perWorker, maxQueue, idleTimeoutMs, hangMs: config.supervision.workerTimeoutMs });
}

/** What ServerConfig injects in a handler thread: functions are left out; a value JSON cannot copy fails the boot, named. */
function configJson(config: ServerConfig): string {
  try {
    return JSON.stringify(config);
  } catch (cause) {
    throw new BootError("WORKER_FAILED", `the config cannot be copied to handler threads as JSON (offloaded methods need it): ${describe(cause)}`);
  }
}
