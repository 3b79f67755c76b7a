/**
 * Built-in methods, in the spirit of OpenRPC's rpc.discover:
 * - rpc.discover: every method with its out, description, options and, when
 *   its validator can say it, params as JSON Schema;
 * - rpc.health: this worker's pid, uptime, requests in flight and served,
 *   and a hash of the loaded registry (same code everywhere: same hash).
 * Both run through the same chain as every method (access log, deadline,
 * auth, config and plugin middleware; no @Use, no params), so an allow-list
 * middleware or auth can refuse them. Auth is skipped for those named in
 * config.introspection.public (default: rpc.health, which probes call), and
 * either can be switched off in config.introspection.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ServerConfig } from "../config.ts";
import type { RpcHandler, RpcMethodMeta } from "../request/method.ts";
import { jsonSchemaOf } from "../middleware/validation.ts";
import type { Activity } from "../server/activity.ts";
import { buildChain } from "./chain.ts";
import { addMethod, type BuiltRegistry, type MethodEntry } from "./registry.ts";
import { shownPath } from "./discover.ts";

/** The `file` of built-in methods. */
const BUILT_IN = "(built in)";

/** Methods that came from plugin files (what the ready line counts). */
export function pluginMethodCount(methods: ReadonlyMap<string, MethodEntry>): number {
  let n = 0;
  for (const entry of methods.values()) if (entry.file !== BUILT_IN) n++;
  return n;
}

export interface MethodDescription {
  readonly name: string;
  readonly out: string;
  readonly description?: string;
  readonly params?: Record<string, unknown>;
  readonly timeoutMs?: number;
  readonly public?: boolean;
  readonly scopes?: readonly string[];
}

export function describeMethod(meta: RpcMethodMeta): MethodDescription {
  const params = jsonSchemaOf(meta.params);
  return {
    name: meta.name,
    out: meta.out,
    ...(meta.description === undefined ? {} : { description: meta.description }),
    ...(params === undefined ? {} : { params }),
    ...(meta.timeoutMs === undefined ? {} : { timeoutMs: meta.timeoutMs }),
    ...(meta.public === undefined ? {} : { public: meta.public }),
    ...(meta.scopes === undefined ? {} : { scopes: meta.scopes }),
  };
}

/** Adds rpc.discover and rpc.health to the registry's method table, as configured. */
export function addIntrospection(registry: BuiltRegistry, config: ServerConfig, activity: Activity): void {
  const methods = registry.methods as Map<string, MethodEntry>;
  const { container, parts } = registry;
  const builtIns: Array<[RpcMethodMeta, RpcHandler, boolean]> = [];
  const builtIn = (name: string, description: string): RpcMethodMeta => ({
    name,
    out: name,
    description,
    ...(config.introspection.public.includes(name) ? { public: true } : {}),
  });
  const discoverMeta = builtIn("rpc.discover", "Describes every method this server offers.");
  const healthMeta = builtIn("rpc.health", "This worker's pid, uptime, load and registry hash.");
  if (config.introspection.discover) builtIns.push([discoverMeta, { handle: () => discovery }, false]);
  if (config.introspection.health) {
    builtIns.push([
      healthMeta,
      {
        handle: () => ({
          status: "serving",
          pid: process.pid,
          uptimeMs: Math.round(process.uptime() * 1000),
          inflight: activity.inflight,
          served: activity.served,
          registryHash,
        }),
      },
      true,
    ]);
  }
  for (const [meta, handler, unlimited] of builtIns) {
    if (methods.has(meta.name)) continue; // a plugin chose to provide its own
    // rpc.health stays unlimited (a probe must see a full worker) and, with no
    // middleware configured, chainless. Both answer at once: no default
    // deadline, so no timer per probe.
    const chain = buildChain(parts, meta, null, handler, BUILT_IN);
    addMethod(methods, { meta, chain, container, defaultTimeoutMs: 0, handler, file: BUILT_IN, unlimited });
  }
  const discovery = { methods: [...methods.values()].map((e) => describeMethod(e.meta)) };
  const pluginFiles = [...methods.values()].flatMap((e) => (e.file === BUILT_IN ? [] : [e.file]));
  const registryHash = hashRegistry(discovery.methods, pluginFiles, config.pluginRoot);
}

/**
 * Same code in another folder, same hash: plugin files count by their path
 * under the plugin root and their bytes (built-ins by their description
 * alone: they have no file, and a placeholder resolved against the current
 * folder would make the hash depend on where the server was started).
 */
function hashRegistry(methods: readonly MethodDescription[], files: readonly string[], root: string): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify(methods));
  for (const file of [...new Set(files)].sort()) {
    hash.update(shownPath(root, file));
    try {
      hash.update(readFileSync(file));
    } catch {
      // a file gone since it was imported: its name is enough
    }
  }
  return hash.digest("hex").slice(0, 16);
}
