/**
 * Turns handler definitions into the method table a worker serves: one
 * instance per handler, resolved through a tsyringe container per registry.
 */
import { relative } from "node:path";
import { container as rootContainer, type DependencyContainer, type InjectionToken } from "tsyringe";
import { ServerConfig } from "../config.ts";
import type { RpcHandler } from "../decorators/rpc.ts";
import { BootError, describe } from "../errors.ts";
import type { HandlerDefinition } from "./load.ts";
import { dependencyTokens, findInjectionProblem } from "./injection.ts";
import { collectHookInstances } from "./lifecycle.ts";

export interface MethodEntry {
  readonly name: string;
  /** Position in the registry, so shared memory can name the method with a number. */
  readonly index: number;
  readonly out: string;
  /** `out` as JSON text, encoded once here instead of per response. */
  readonly outJson: string;
  readonly description: string | undefined;
  readonly handler: RpcHandler;
  readonly file: string;
}

/** Method name -> entry. A Map, so inherited keys such as "__proto__" never match. */
export type Registry = ReadonlyMap<string, MethodEntry>;

export interface BuiltRegistry {
  readonly methods: Registry;
  readonly container: DependencyContainer;
  /** Handlers and services with lifecycle hooks, in construction order. */
  readonly hooked: readonly object[];
}

export function buildRegistry(defs: readonly HandlerDefinition[], config: ServerConfig): BuiltRegistry {
  const container = rootContainer.createChildContainer();
  // ServerConfig is abstract: it serves as a token, never as something to construct.
  container.register(ServerConfig as unknown as InjectionToken<ServerConfig>, { useValue: config });
  const methods = new Map<string, MethodEntry>();
  const tokens = new Set<unknown>();
  for (const def of defs) {
    dependencyTokens(def.cls, tokens);
    tokens.add(def.cls);
  }
  const hooked = collectHookInstances(container, tokens);
  for (const def of defs) {
    const where = `${relative(config.pluginRoot, def.file) || def.file}`;
    const problem = findInjectionProblem(def.cls, container);
    if (problem !== null) throw new BootError("INJECTION_METADATA", `${where}: ${problem}`);
    let handler: RpcHandler;
    try {
      handler = container.resolve(def.cls);
    } catch (cause) {
      throw new BootError("INJECTION_FAILED", `${where}: constructing ${def.cls.name} failed: ${describe(cause)}`, { cause });
    }
    methods.set(def.meta.name, {
      name: def.meta.name,
      index: methods.size,
      out: def.meta.out,
      outJson: JSON.stringify(def.meta.out),
      description: def.meta.description,
      handler,
      file: def.file,
    });
  }
  return { methods, container, hooked };
}
