/**
 * Boots one serving process: discover plugins, import them, build the
 * registry, and only then listen.
 */
import type { AddressInfo } from "node:net";
import type { ServerConfig } from "../config.ts";
import { discoverPlugins } from "../plugins/discover.ts";
import { loadPlugins } from "../plugins/load.ts";
import { buildRegistry, type BuiltRegistry } from "../plugins/registry.ts";
import { RpcServer } from "./server.ts";

export interface StartedServer {
  readonly server: RpcServer;
  readonly registry: BuiltRegistry;
  readonly address: AddressInfo;
  readonly files: readonly string[];
}

/** Builds the registry for a config without listening (used by start and by tooling). */
export async function loadRegistry(config: ServerConfig): Promise<{ registry: BuiltRegistry; files: string[] }> {
  const files = await discoverPlugins(config.plugins, config.pluginRoot);
  const defs = await loadPlugins(files, config.pluginRoot);
  return { registry: buildRegistry(defs, config), files };
}

export async function startServer(config: ServerConfig): Promise<StartedServer> {
  const { registry, files } = await loadRegistry(config);
  const server = new RpcServer(registry.methods, config);
  const address = await server.listen(config.host, config.port);
  return { server, registry, address, files };
}
