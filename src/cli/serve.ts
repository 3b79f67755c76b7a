/**
 * `forkrpc serve`: load the config, then either run as the master (fork the
 * workers), as a worker (cluster forks run this same command), or, with
 * --workers 0, serve in this one process.
 */
import cluster from "node:cluster";
import { loadConfig } from "../config.ts";
import { claimPidFile, type PidFile } from "../cluster/pid-file.ts";
import type { ReadyInfo } from "../cluster/primary.ts";
import { serviceManager } from "../cluster/notify.ts";
import { toPrimary } from "../cluster/ipc.ts";
import { describe } from "../errors.ts";
import { checkCertificates } from "../cluster/tls-reload.ts";
import { log, setLogRole } from "../log.ts";
import { pluginMethodCount, registryHashOf } from "../plugins/introspection.ts";
import { hostPort } from "../registry/address.ts";
import { parseFlags, UsageError } from "./args.ts";
import { configFlagOptions, configFlagSynopsis, configFlagUsage, overridesFrom } from "./config-flags.ts";
import { bootHint } from "./hints.ts";

export const SERVE_USAGE = `forkrpc serve [--config FILE] ${configFlagSynopsis()}

  --config, -c   config file (default: rpc.config.{ts,mts,js,mjs} in this folder)
${configFlagUsage()}
  --watch        reload (safely, as SIGHUP does) when a plugin or the config changes

forkrpc dev [serve flags]   the same as serve --watch`;

/** --config and --watch are the command's own; the rest set config keys (config/keys.ts). */
export const SERVE_FLAGS = {
  config: { type: "string", short: "c" },
  ...configFlagOptions(),
  watch: { type: "boolean" },
} as const;

export { overridesFrom };

export function serve(argv: string[]): Promise<number | undefined> {
  return start(argv, "serve");
}

/** `forkrpc dev`: serve --watch. */
export function dev(argv: string[]): Promise<number | undefined> {
  return start(argv, "dev");
}

async function start(argv: string[], command: "serve" | "dev"): Promise<number | undefined> {
  const { values } = parseFlags(argv, SERVE_FLAGS);
  if (command === "dev") values.watch = true;
  const overrides = overridesFrom(values);
  const configPath = values.config as string | undefined;
  const config = await loadConfig(configPath, overrides);

  // Each role imports only its own code: a worker does not load the
  // supervisor, admin server and etcd registration, nor the master the
  // server, plugins and middleware (a worker's modules are most of its heap).
  if (cluster.isWorker) {
    setLogRole(`worker ${cluster.worker?.id}`);
    await (await workerCode()).runWorker(config);
    return undefined;
  }
  if (config.workers === 0 && values.watch === true) throw new UsageError(noWorkersToReload(command, values.workers !== undefined, config.configFile));
  if (config.workers === 0) setLogRole("server");
  if (config.workers === 0 && config.admin !== undefined) log.warn("admin is ignored with workers: 0: the admin server runs in the master, and there is none");
  // Certificates checked once, here: a bad file is one error, not one per worker.
  checkCertificates(config);
  const pidFile = claim(config.pidFile);
  if (config.workers === 0) {
    // One process: it registers in etcd itself, and withdraws before draining.
    const [{ runWorker }, { masterRegistration }] = await Promise.all([import("../cluster/worker.ts"), import("../cluster/registration.ts")]);
    const registration = masterRegistration(config);
    await runWorker(config, {
      onReady: ({ address, registry }) => {
        const info = { host: address.address, port: address.port, workers: 0, methods: pluginMethodCount(registry.methods) };
        announce(info);
        registration?.ready({ ...info, registryHash: registryHashOf(registry.methods, config.pluginRoot) });
      },
      ...(registration === null ? {} : { beforeStop: () => registration.withdraw() }),
    });
    return undefined;
  }
  const { configReloader, runPrimary } = await import("../cluster/primary.ts");
  return runPrimary(config, {
    onReady: announce,
    reloadConfig: configReloader(configPath, overrides),
    watch: values.watch === true,
    hint: bootHint,
    pidFile,
  });
}

/**
 * The worker's modules. The master does not import them, so an error in
 * them (a syntax error in a build, a missing file) shows only here: it goes
 * to the master as the boot failure, sent before the process exits.
 */
async function workerCode(): Promise<typeof import("../cluster/worker.ts")> {
  try {
    return await import("../cluster/worker.ts");
  } catch (error) {
    const message = `the worker's code could not be loaded: ${describe(error)}`;
    await new Promise<void>((sent) => toPrimary({ act: "forkrpc:boot-failed", code: "WORKER_FAILED", message }, sent));
    throw error;
  }
}

/**
 * Claims the pid file before anything listens, so a second server started by
 * mistake stops here instead of failing later and taking the file with it.
 * The exit hook covers the standalone server (it exits from its drain) and
 * any failure after this point.
 */
function claim(path: string | undefined): PidFile | null {
  if (path === undefined) return null;
  const pidFile = claimPidFile(path);
  process.once("exit", () => pidFile.release());
  return pidFile;
}

/** Reloading needs workers: said in the words the user typed (dev, or serve --watch; the flag, or the config). */
function noWorkersToReload(command: "serve" | "dev", fromFlag: boolean, configFile: string | undefined): string {
  const what = command === "dev" ? "forkrpc dev reloads workers when files change" : "--watch reloads workers when files change";
  const where = fromFlag ? "--workers 0 serves in one process with none" : `workers: 0 in ${configFile ?? "the config"} serves in one process with none`;
  const fix = command === "dev" ? "give --workers 1 or more, or run forkrpc serve --workers 0 (no reloading)" : "give --workers 1 or more, or drop --watch";
  return `${what}, and ${where}: ${fix}`;
}

function announce(info: ReadyInfo): void {
  const who = info.workers === 0 ? "in one process" : `with ${plural(info.workers, "worker")}`;
  const line = `forkrpc ready: ${plural(info.methods, "method")} on ${hostPort(info.host, info.port)} ${who}`;
  process.stdout.write(`${line} (pid ${process.pid})\n`);
  // systemd's Type=notify: the unit is started once this line is true.
  void serviceManager.notify("READY=1", `STATUS=${line}`, `MAINPID=${process.pid}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
