/**
 * `forkrpc reload` and `forkrpc stop`: find the running master through its
 * pid file and signal it (SIGHUP: rolling reload; SIGTERM: graceful stop).
 * A pid file outlives its server after a crash or a reboot, and its pid may
 * since belong to anything: only a forkrpc master is signalled.
 */
import { pidState, readPidFile } from "../cluster/pid-file.ts";
import { loadConfig } from "../config.ts";
import { CliError } from "../errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import { visible } from "./escape.ts";

export const SIGNAL_USAGE = `forkrpc reload [--pid-file FILE | --config FILE]   rolling reload of a running server (SIGHUP)
forkrpc stop   [--pid-file FILE | --config FILE]   graceful stop (SIGTERM)`;

export function signalCommand(signal: NodeJS.Signals, verb: string) {
  return async (argv: string[]): Promise<number> => {
    const { values } = parseFlags(argv, { "pid-file": { type: "string" }, config: { type: "string", short: "c" } });
    let pidFile = values["pid-file"] as string | undefined;
    if (pidFile === undefined) pidFile = (await loadConfig(values.config as string | undefined)).pidFile;
    if (pidFile === undefined) throw new UsageError("no pid file: pass --pid-file, or set pidFile in rpc.config.ts");
    const pid = masterPid(pidFile);
    try {
      process.kill(pid, signal);
    } catch (error) {
      throw new CliError("SERVER_NOT_RUNNING", `cannot signal pid ${pid} from ${pidFile}: ${(error as Error).message}`);
    }
    process.stdout.write(`${verb} pid ${pid} (${signal})\n`);
    return 0;
  };
}

/** The pid the file names, once it is known to be a live forkrpc master. */
function masterPid(pidFile: string): number {
  let existing: ReturnType<typeof readPidFile>;
  try {
    existing = readPidFile(pidFile);
  } catch (error) {
    throw new CliError("SERVER_NOT_RUNNING", `no server is running (cannot read ${pidFile}: ${(error as Error).message})`);
  }
  if (existing.kind === "none") throw new CliError("SERVER_NOT_RUNNING", `no server is running (no pid file ${pidFile})`);
  if (existing.kind === "junk") throw new CliError("PID_FILE_INVALID", `${pidFile} does not hold a pid: ${visible(existing.what)}`);
  const state = pidState(existing.pid);
  if (state.kind === "dead") {
    throw new CliError("SERVER_NOT_RUNNING", `no server is running: pid ${existing.pid} from ${pidFile} has exited (the file is stale; the next serve replaces it)`);
  }
  if (state.kind === "other") {
    throw new CliError(
      "PID_NOT_A_MASTER",
      `pid ${existing.pid} from ${pidFile} is not a forkrpc master, so it was not signalled (its command line: ${visible(state.command.slice(0, 200))}). ` +
        `The file is stale: the server that wrote it is gone and its pid was reused; remove the file`,
    );
  }
  return existing.pid;
}
