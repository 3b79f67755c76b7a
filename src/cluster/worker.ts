/**
 * The worker role: boot a server, report readiness (or why not) to the
 * master, send heartbeats, and go away gracefully when told to or signalled.
 * With --workers 0 the same code runs in the only process.
 */
import type { ServerConfig } from "../config.ts";
import { BootError, describe } from "../errors.ts";
import { log } from "../log.ts";
import { pluginMethodCount, registryHashOf } from "../plugins/introspection.ts";
import { Activity } from "../server/activity.ts";
import { startServer, stopServer, type StartedServer } from "../boot/start.ts";
import { REPORT_FD_ENV, router, toPrimary, type ToWorker } from "./ipc.ts";
import { createCallSlot, startWatchdog } from "./watchdog.ts";
import { decodeTicketKeys } from "./ticket-keys.ts";
import { tlsEnabled } from "../server/tls.ts";
import { watchTlsFiles } from "../server/tls-watch.ts";

const MAX_REPORTED_INFLIGHT = 10;

export interface WorkerOptions {
  /** Called once the worker is ready (standalone mode prints the ready line here). */
  onReady?: (started: StartedServer) => void;
  /** Awaited before draining on a stop (standalone mode withdraws its etcd registration here, before any goaway). */
  beforeStop?: () => Promise<void>;
}

export async function runWorker(config: ServerConfig, options: WorkerOptions = {}): Promise<void> {
  const fatal = reportFatalErrors();
  // Listen for "stop" before booting: a master may retire a worker that is
  // still booting (a reload completing, a scale-down), and a terminal or
  // systemd may signal the whole group. Then the worker stops right after boot.
  let started: StartedServer | null = null;
  let stopReason: string | null = null;
  /** The last heartbeat, sent before exiting: the master's totals get the calls of the final second. */
  let lastBeat = (then: () => void) => then();
  const stop = (reason: string) => {
    if (stopReason !== null) return;
    stopReason = reason;
    if (started === null) return; // boot finishes first, then stops
    const server = started;
    const drain = () => {
      log.info(`draining: ${reason}`);
      void stopServer(server, config, reason).then(() => lastBeat(() => process.exit(0)));
    };
    if (options.beforeStop === undefined) drain();
    else void options.beforeStop().then(drain);
  };
  // The master's session-ticket keys: asked for now, set on the server once it exists.
  let ticketKeys: Buffer | null = null;
  const useTicketKeys = (keys: Buffer | null) => {
    if (keys === null) return;
    ticketKeys = keys;
    started?.server.secure?.setTicketKeys(keys);
  };
  process.on(
    "message",
    router<ToWorker>({
      "forkrpc:drain": (msg) => stop(msg.reason),
      "forkrpc:ticket-keys": (msg) => useTicketKeys(decodeTicketKeys(msg.keys)),
      "forkrpc:tls-reload": (msg) => started?.server.secure?.reload(config.tls, `${msg.file} changed`),
    }),
  );
  if (tlsEnabled(config.tls)) toPrimary({ act: "forkrpc:want-ticket-keys" });
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  const shared = createCallSlot();
  const activity = new Activity(shared);
  try {
    started = await startServer(config, activity, config.admin !== undefined && process.send !== undefined);
  } catch (error) {
    const boot = error instanceof BootError ? error : new BootError("WORKER_FAILED", describe(error), { cause: error });
    toPrimary({ act: "forkrpc:boot-failed", code: boot.code, message: boot.message });
    throw boot;
  }
  const { server, registry, address } = started;
  // A ticket is issued at the end of a handshake, a round trip after listen: the keys are in place first.
  useTicketKeys(ticketKeys);
  // An uncaught exception during boot (a plugin's timer, say) means this
  // process is on its way out: it must not be counted ready, nor accept.
  fatal.onFatal = () => server.stopAccepting();
  if (fatal.happened) {
    server.stopAccepting();
    return;
  }
  if (stopReason !== null) {
    const reason: string = stopReason;
    stopReason = null;
    stop(reason);
    return;
  }
  lastBeat = startHeartbeat(config, started, activity, shared);
  // Alone (--workers 0) there is no master to watch the certificate: this process does.
  const secure = server.secure;
  if (!process.connected && secure !== null) watchTlsFiles(config.tls, (file) => secure.reload(config.tls, `${file} changed`));
  const methods = pluginMethodCount(registry.methods);
  toPrimary({ act: "forkrpc:ready", host: address.address, port: address.port, methods, registryHash: registryHashOf(registry.methods, config.pluginRoot) });
  options.onReady?.(started);
}

/** Heartbeats to the master, and the watchdog thread that speaks when they cannot. */
function startHeartbeat(config: ServerConfig, started: StartedServer, activity: Activity, shared: SharedArrayBuffer): (then: () => void) => void {
  const { heartbeatMs, workerTimeoutMs } = config.supervision;
  startWatchdog(shared, {
    methods: [...started.registry.methods.keys()],
    reportFd: Number(process.env[REPORT_FD_ENV] ?? 2),
    stallMs: Math.min(workerTimeoutMs / 2, Math.max(1_000, heartbeatMs * 3)),
    periodMs: Math.max(heartbeatMs, 500),
  });
  // Nothing periodic may throw out of its timer: an uncaught exception ends
  // the worker. process.memoryUsage.rss() opens /proc/self/stat, which fails
  // with EMFILE when connections hold every descriptor: the last figure stands.
  let rssBytes = 0;
  let rssFailed = false;
  const beat = (sent?: () => void) => {
    try {
      activity.tick();
      try {
        rssBytes = process.memoryUsage.rss();
        rssFailed = false;
      } catch (error) {
        if (!rssFailed) log.warn(`cannot read this worker's memory use (${describe(error)}); heartbeats repeat the last figure`);
        rssFailed = true;
      }
      const stats = started.server.stats;
      toPrimary({
        act: "forkrpc:heartbeat",
        served: activity.served,
        connections: stats.open,
        accepted: stats.accepted,
        rejected: stats.rejected,
        acceptFailed: stats.acceptFailed,
        rssBytes,
        oldest: activity.oldest(MAX_REPORTED_INFLIGHT),
        inflight: activity.inflight,
        ...(activity.metrics === null ? {} : { metrics: activity.metrics.take(activity.inflightByMethod()) }),
      }, sent);
    } catch (error) {
      log.error(`heartbeat failed: ${describe(error)}`);
      sent?.();
    }
  };
  setInterval(beat, heartbeatMs).unref();
  beat();
  return (then) => beat(then);
}

/**
 * An exception nobody caught (a timer callback in a plugin, say) leaves the
 * process in an unknown state: tell the master why, then exit so it respawns us.
 */
function reportFatalErrors(): { happened: boolean; onFatal: (() => void) | null } {
  const state = { happened: false, onFatal: null as (() => void) | null };
  const die = (kind: string) => (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? describe(error)) : describe(error);
    log.error(`${kind}: ${text}`);
    toPrimary({ act: "forkrpc:fatal", message: `${kind}: ${describe(error)}` });
    state.happened = true;
    state.onFatal?.();
    process.exitCode = 1;
    // Let the IPC message leave before exiting.
    setTimeout(() => process.exit(1), 50).unref();
  };
  process.on("uncaughtException", die("uncaught exception"));
  process.on("unhandledRejection", die("unhandled rejection"));
  return state;
}
