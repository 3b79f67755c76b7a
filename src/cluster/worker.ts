/**
 * The worker role: boot a server, report readiness (or why not) to the
 * master, and go away gracefully when told to or signalled.
 * With --workers 0 the same code runs in the only process.
 */
import type { ServerConfig } from "../config.ts";
import { BootError, describe } from "../errors.ts";
import { log } from "../log.ts";
import { startServer, type StartedServer } from "../server/start.ts";
import { router, toPrimary, type ToWorker } from "./ipc.ts";

export interface WorkerOptions {
  /** Called once the worker is ready (standalone mode prints the ready line here). */
  onReady?: (started: StartedServer) => void;
}

export async function runWorker(config: ServerConfig, options: WorkerOptions = {}): Promise<void> {
  let started: StartedServer;
  try {
    started = await startServer(config);
  } catch (error) {
    const boot = error instanceof BootError ? error : new BootError("WORKER_FAILED", describe(error), { cause: error });
    toPrimary({ act: "forkrpc:boot-failed", code: boot.code, message: boot.message });
    throw boot;
  }
  const { server, registry, address } = started;
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`draining: ${reason}`);
    server.drain(reason, config.shutdown.graceMs).then(() => process.exit(0));
  };
  process.on("message", router<ToWorker>({ "forkrpc:drain": (msg) => stop(msg.reason) }));
  // Under systemd or a terminal the whole process group is signalled: each
  // worker then drains on its own, exactly as if the master had asked.
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("disconnect", () => stop("master went away"));
  toPrimary({ act: "forkrpc:ready", host: address.address, port: address.port, methods: registry.methods.size });
  options.onReady?.(started);
}
