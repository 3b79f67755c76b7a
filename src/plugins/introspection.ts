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
import type { RpcMethodMeta } from "../request/method.ts";
import { jsonSchemaOf } from "../middleware/validation.ts";
import { BUILT_IN, type BuiltInMethod, type BuiltIns, type MethodEntry } from "./registry.ts";
import { shownPath } from "./discover.ts";

/** What rpc.health reports about the worker's load (server/activity.ts keeps it). */
export interface WorkerLoad {
  readonly inflight: number;
  readonly served: number;
}

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

/** rpc.discover and rpc.health, as configured, for the registry to add after the plugins' methods. */
export function introspection(config: ServerConfig, load: WorkerLoad): BuiltIns {
  return (plugins) => {
    const builtIn = (name: string, description: string): RpcMethodMeta => ({
      name,
      out: name,
      description,
      ...(config.introspection.public.includes(name) ? { public: true } : {}),
    });
    const candidates: BuiltInMethod[] = [];
    if (config.introspection.discover) {
      const meta = builtIn("rpc.discover", "Describes every method this server offers.");
      candidates.push({ meta, handler: { handle: () => discovery }, unlimited: false });
    }
    if (config.introspection.health) {
      const handle = () => ({
        status: "serving",
        pid: process.pid,
        uptimeMs: Math.round(process.uptime() * 1000),
        inflight: load.inflight,
        served: load.served,
        registryHash,
      });
      candidates.push({ meta: builtIn("rpc.health", "This worker's pid, uptime, load and registry hash."), handler: { handle }, unlimited: true });
    }
    const added = candidates.filter((b) => !plugins.has(b.meta.name)); // a plugin chose to provide its own
    const metas = [...[...plugins.values()].map((e) => e.meta), ...added.map((b) => b.meta)];
    const discovery = { methods: metas.map(describeMethod) };
    const registryHash = hashRegistry(discovery.methods, [...plugins.values()].map((e) => e.file), config.pluginRoot);
    return added;
  };
}

/**
 * The hash rpc.health reports, from a built registry: its methods in table
 * order (the plugins' then the built-ins'), the plugins' files. The worker
 * sends it to the master in its ready message, for the service registry.
 */
export function registryHashOf(methods: ReadonlyMap<string, MethodEntry>, root: string): string {
  const entries = [...methods.values()];
  const files = entries.filter((e) => e.file !== BUILT_IN).map((e) => e.file);
  return hashRegistry(entries.map((e) => describeMethod(e.meta)), files, root);
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
