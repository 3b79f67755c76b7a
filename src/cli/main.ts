/**
 * The forkrpc command line. Each command lives in its own file; this one
 * only routes and turns errors into exit codes.
 */
import "reflect-metadata";
import { BootError, describe } from "../errors.ts";
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { UsageError } from "./args.ts";
import { dev, serve, SERVE_USAGE } from "./serve.ts";
import { SIGNAL_USAGE, signalCommand } from "./signal.ts";

const USAGE = `usage: forkrpc <command> [options]

commands:
  serve     start the server (master and workers)
  dev       serve, reloading when plugins or the config change
  reload    rolling reload of a running server
  stop      graceful stop of a running server
  help      show this text
  version   print the version

${SERVE_USAGE}

${SIGNAL_USAGE}`;

type Command = (argv: string[]) => Promise<number | undefined>;

const COMMANDS: Record<string, Command> = {
  serve,
  dev,
  reload: signalCommand("SIGHUP", "reloading"),
  stop: signalCommand("SIGTERM", "stopping"),
  help: async () => {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  },
  version: async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  },
};

/** Runs one command; resolves with an exit code, or undefined to keep serving. */
export async function main(argv: string[]): Promise<number | undefined> {
  const [name = "help", ...rest] = argv;
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"`);
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`forkrpc: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    // In a worker the master reports the failure; say it once.
    if (!cluster.isWorker) {
      const text = error instanceof BootError ? `${error.code}: ${error.message}` : describe(error);
      process.stderr.write(`forkrpc: ${text}\n`);
    }
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code !== undefined) process.exit(code);
