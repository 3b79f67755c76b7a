/**
 * `forkrpc reload` and `forkrpc stop`: find the running master through its
 * pid file and signal it (SIGHUP: rolling reload; SIGTERM: graceful stop).
 */
import { readFileSync } from "node:fs";
import { loadConfig } from "../config.ts";
import { parseFlags, UsageError } from "./args.ts";

export const SIGNAL_USAGE = `forkrpc reload [--pid-file FILE | --config FILE]   rolling reload of a running server (SIGHUP)
forkrpc stop   [--pid-file FILE | --config FILE]   graceful stop (SIGTERM)`;

export function signalCommand(signal: NodeJS.Signals, verb: string) {
  return async (argv: string[]): Promise<number> => {
    const { values } = parseFlags(argv, { "pid-file": { type: "string" }, config: { type: "string", short: "c" } });
    let pidFile = values["pid-file"] as string | undefined;
    if (pidFile === undefined) pidFile = (await loadConfig(values.config as string | undefined)).pidFile;
    if (pidFile === undefined) throw new UsageError("no pid file: pass --pid-file, or set pidFile in rpc.config.ts");
    let text: string;
    try {
      text = readFileSync(pidFile, "utf8").trim();
    } catch {
      process.stderr.write(`forkrpc: no server is running (cannot read ${pidFile})\n`);
      return 1;
    }
    const pid = Number(text);
    if (!/^\d+$/.test(text) || pid <= 1) {
      process.stderr.write(`forkrpc: ${pidFile} does not hold a pid: "${text.slice(0, 40)}"\n`);
      return 1;
    }
    try {
      process.kill(pid, signal);
    } catch (error) {
      process.stderr.write(`forkrpc: cannot signal pid ${pid} from ${pidFile}: ${(error as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`${verb} pid ${pid} (${signal})\n`);
    return 0;
  };
}
