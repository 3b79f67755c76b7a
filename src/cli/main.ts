/**
 * The forkrpc command line. Each command lives in its own file; this one
 * only routes and turns errors into exit codes.
 */
import "reflect-metadata";
import { BootError, CliError, describe } from "../errors.ts";
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { UsageError } from "./args.ts";
import { bootHint } from "./hints.ts";
import { bench, BENCH_USAGE } from "./bench.ts";
import { call, CALL_USAGE } from "./call.ts";
import { list, LIST_USAGE } from "./list.ts";
import { newCommand, NEW_USAGE } from "./new.ts";
import { dev, serve, SERVE_USAGE } from "./serve.ts";
import { SIGNAL_USAGE, signalCommand } from "./signal.ts";

const USAGE = `usage: forkrpc <command> [options]

commands:
  serve     start the server (master and workers)
  dev       serve, reloading when plugins or the config change
  reload    rolling reload of a running server
  stop      graceful stop of a running server
  call      call one method and print its result
  list      list the methods a server offers (or, with --local, this folder's plugins)
  bench     load-test a server
  new       write a new plugin and its test from a template
  help      show this text
  version   print the version

${SERVE_USAGE}

${SIGNAL_USAGE}

${CALL_USAGE}

${LIST_USAGE}

${BENCH_USAGE}

${NEW_USAGE}`;

type Command = (argv: string[]) => Promise<number | undefined>;

const COMMANDS: Record<string, Command> = {
  serve,
  dev,
  reload: signalCommand("SIGHUP", "reloading"),
  stop: signalCommand("SIGTERM", "stopping"),
  call,
  list,
  bench,
  new: newCommand,
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

/** The usage shown with a command's UsageError: its own, or everything for an unknown command. */
const COMMAND_USAGE: Record<string, string> = {
  serve: SERVE_USAGE,
  dev: SERVE_USAGE,
  reload: SIGNAL_USAGE,
  stop: SIGNAL_USAGE,
  call: CALL_USAGE,
  list: LIST_USAGE,
  bench: BENCH_USAGE,
  new: NEW_USAGE,
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
      const usage = command !== undefined && Object.hasOwn(COMMAND_USAGE, name) ? `usage: ${COMMAND_USAGE[name]}` : USAGE;
      process.stderr.write(`forkrpc: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    // In a worker the master reports the failure; say it once.
    if (!cluster.isWorker) {
      const text = error instanceof BootError || error instanceof CliError ? `${error.code}: ${error.message}` : describe(error);
      const hint = error instanceof BootError ? bootHint(error.code, error.message) : undefined;
      process.stderr.write(`forkrpc: ${text}\n${hint === undefined ? "" : `  hint: ${hint}\n`}`);
    }
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code !== undefined) process.exit(code);
