/**
 * Boots and stops one serving process: discover plugins, import them, build
 * the registry, run the start hooks, and only then listen. It sits above
 * plugins/ and server/ (it wires one into the other), below cluster/ and cli/. Stopping drains
 * the connections first and runs the stop hooks last.
 */
import type { AddressInfo } from "node:net";
import type { ServerConfig } from "../config.ts";
import { discoverPlugins } from "../plugins/discover.ts";
import { runStartHooks, runStopHooks } from "../plugins/lifecycle.ts";
import { loadPlugins } from "../plugins/load.ts";
import { buildRegistry, type BuiltRegistry } from "../plugins/registry.ts";
import { introspection } from "../plugins/introspection.ts";
import { Activity } from "../server/activity.ts";
import { CallMetrics } from "../metrics/recorder.ts";
import { RpcServer } from "../server/server.ts";
import { loadTlsMaterial, tlsEnabled } from "../server/tls.ts";

export interface StartedServer {
  readonly server: RpcServer;
  readonly registry: BuiltRegistry;
  readonly address: AddressInfo;
}

/** Builds the registry for a config without listening (used by start and by tooling). */
export async function loadRegistry(config: ServerConfig, activity = new Activity()): Promise<{ registry: BuiltRegistry }> {
  const files = await discoverPlugins(config.plugins, config.pluginRoot);
  const plugins = await loadPlugins(files, config.pluginRoot);
  return { registry: buildRegistry(plugins, config, introspection(config, activity)) };
}

/** `metrics`: record per-method metrics for the master's heartbeats (only a worker with an admin server to read them does). */
export async function startServer(config: ServerConfig, activity = new Activity(), metrics = false): Promise<StartedServer> {
  // Certificates first: a bad file fails the boot before plugins load and hooks run.
  const tls = tlsEnabled(config.tls) ? loadTlsMaterial(config.tls) : undefined;
  const { registry } = await loadRegistry(config, activity);
  if (metrics) activity.metrics = new CallMetrics([...registry.methods.keys()]);
  const hookTimeoutMs = config.supervision.hookTimeoutMs;
  // Threads start with the worker, not on the first offloaded call: a thread
  // takes ~38 ms to start (more with the TypeScript loader on Node 20), and a
  // plugin that fails in a thread fails the boot, as it would on the main one.
  await registry.pool?.start();
  try {
    await runStartHooks(registry.hooked, hookTimeoutMs);
  } catch (error) {
    await registry.pool?.close();
    throw error;
  }
  const server = new RpcServer(registry.methods, config, activity, undefined, tls);
  try {
    const address = await server.listen(config.host, config.port);
    return { server, registry, address };
  } catch (error) {
    await registry.pool?.close();
    await runStopHooks(registry.hooked, hookTimeoutMs);
    throw error;
  }
}

/** Drains every connection (or cuts them after graceMs), closes the handler threads, then runs the stop hooks. */
export async function stopServer(started: StartedServer, config: ServerConfig, reason: string): Promise<void> {
  await started.server.drain(reason, config.shutdown.graceMs);
  await started.registry.pool?.close();
  await runStopHooks(started.registry.hooked, config.supervision.hookTimeoutMs);
}
