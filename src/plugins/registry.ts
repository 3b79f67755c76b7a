/**
 * Turns handler definitions into the method table a worker serves: one
 * instance per handler, resolved through a tsyringe container per registry.
 */
import { container as rootContainer, type DependencyContainer, type InjectionToken } from "tsyringe";
import { ServerConfig } from "../config.ts";
import type { RpcHandler, RpcMethodMeta } from "../request/method.ts";
import { buildChain, chainParts, isMiddlewareClass, type ChainParts, type Chains } from "./chain.ts";
import { useOf } from "../decorators/use.ts";
import type { HandlerDefinition, MiddlewareDefinition } from "./load.ts";
import { shownPath } from "./discover.ts";
import { construct, dependencyTokens } from "./injection.ts";
import { collectHookInstances } from "./lifecycle.ts";

export interface MethodEntry {
  readonly name: string;
  /** Everything @Rpc declared (options included). */
  readonly meta: RpcMethodMeta;
  /** The middleware chains, or null when the method has none (the fast path). */
  readonly chain: Chains | null;
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

/** Adds one method to a table (plugin handlers here, built-ins in introspection.ts). */
export function addMethod(
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
  /** Handlers and services with lifecycle hooks, in construction order. */
  readonly hooked: readonly object[];
  /** The middleware every method's chain is built from (introspection.ts builds the built-ins' from it too). */
  readonly parts: ChainParts;
}

export function buildRegistry(
  defs: readonly HandlerDefinition[],
  config: ServerConfig,
  middleware: readonly MiddlewareDefinition[] = [],
): BuiltRegistry {
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
  for (const def of defs) {
    const where = shownPath(config.pluginRoot, def.file);
    const handler: RpcHandler = construct(def.cls as new () => RpcHandler, container, where, def.cls.name);
    addMethod(methods, {
      meta: def.meta,
      chain: buildChain(parts, def.meta, def.cls, handler, where),
      container,
      defaultTimeoutMs: config.deadline.defaultTimeoutMs,
      handler,
      file: def.file,
    });
  }
  return { methods, container, hooked, parts };
}
