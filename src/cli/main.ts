/**
 * The forkrpc command line. Each command lives in its own file; this one
 * only routes and turns errors into exit codes.
 */
import "reflect-metadata";
import { BootError, CliError, describe, RegistryError } from "../errors.ts";
import cluster from "node:cluster";
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UsageError } from "./args.ts";
import { bootHint } from "./hints.ts";
import { bench, BENCH_USAGE } from "./bench.ts";
import { call, CALL_USAGE } from "./call.ts";
import { instances, INSTANCES_USAGE } from "./instances.ts";
import { list, LIST_USAGE } from "./list.ts";
import { newCommand, NEW_USAGE } from "./new.ts";
import { dev, serve, SERVE_USAGE } from "./serve.ts";
import { SIGNAL_USAGE, signalCommand } from "./signal.ts";
import { top, TOP_USAGE } from "./top.ts";

type Command = (argv: string[]) => Promise<number | undefined>;

interface CommandEntry {
  readonly run: Command;
  /** One line for the command list. */
  readonly summary: string;
  /** Shown with a UsageError; commands that share one (serve and dev) show it once in help. */
  readonly usage?: string;
}

/** Every command, in the order help lists them. */
const COMMANDS: Record<string, CommandEntry> = {
  serve: { run: serve, summary: "start the server (master and workers)", usage: SERVE_USAGE },
  dev: { run: dev, summary: "serve, reloading when plugins or the config change", usage: SERVE_USAGE },
  reload: { run: signalCommand("SIGHUP", "reloading"), summary: "rolling reload of a running server", usage: SIGNAL_USAGE },
  stop: { run: signalCommand("SIGTERM", "stopping"), summary: "graceful stop of a running server", usage: SIGNAL_USAGE },
  call: { run: call, summary: "call one method and print its result", usage: CALL_USAGE },
  list: { run: list, summary: "list the methods a server offers (or, with --local, this folder's plugins)", usage: LIST_USAGE },
  bench: { run: bench, summary: "load-test a server", usage: BENCH_USAGE },
  instances: { run: (argv) => instances(argv), summary: "list the servers registered in etcd", usage: INSTANCES_USAGE },
  top: { run: top, summary: "live figures of a running server, from its admin server", usage: TOP_USAGE },
  new: { run: newCommand, summary: "write a new plugin and its test from a template", usage: NEW_USAGE },
  help: {
    run: async () => {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    },
    summary: "show this text",
  },
  version: {
    run: async () => {
      const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    },
    summary: "print the version",
  },
};

const USAGE = [
  "usage: forkrpc <command> [options]",
  "",
  "commands:",
  ...Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(9)} ${entry.summary}`),
  ...[...new Set(Object.values(COMMANDS).flatMap((entry) => (entry.usage === undefined ? [] : [entry.usage])))].map((usage) => `\n${usage}`),
].join("\n");

/** Runs one command; resolves with an exit code, or undefined to keep serving. */
export async function main(argv: string[]): Promise<number | undefined> {
  const [name = "help", ...rest] = argv;
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"`);
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      const usage = command?.usage !== undefined ? `usage: ${command.usage}` : USAGE;
      process.stderr.write(`forkrpc: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    // In a worker the master reports the failure; say it once.
    if (!cluster.isWorker) {
      const text = error instanceof BootError || error instanceof CliError || error instanceof RegistryError ? `${error.code}: ${error.message}` : describe(error);
      const hint = error instanceof BootError ? bootHint(error.code, error.message) : undefined;
      process.stderr.write(`forkrpc: ${text}\n${hint === undefined ? "" : `  hint: ${hint}\n`}`);
    }
    return 1;
  }
}

/** Runs main with the process's arguments and exits with its code (unless it keeps serving). */
export async function run(): Promise<void> {
  const code = await main(process.argv.slice(2));
  if (code !== undefined) process.exit(code);
}

// `node src/cli/main.ts ...` (npm start, the tests, forked workers) runs it;
// importing it (bin/forkrpc.js, a test) does not.
if (isEntryPoint(process.argv[1])) await run();

function isEntryPoint(script: string | undefined): boolean {
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
