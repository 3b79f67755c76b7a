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

type Command = (argv: string[]) => Promise<number | undefined>;

/** A command's code, and the usage shown with a UsageError. */
interface Loaded {
  readonly run: Command;
  readonly usage?: string;
}

interface CommandEntry {
  /**
   * Imports the command when it runs, not before: a worker (which runs
   * `serve`) and `forkrpc call` load only their own command's modules, not
   * the client, etcd and terminal code of the others.
   */
  readonly load: () => Promise<Loaded>;
  /** One line for the command list. */
  readonly summary: string;
}

/** A command whose module is imported when it runs. */
function lazy<M>(load: () => Promise<M>, pick: (module: M) => Loaded): () => Promise<Loaded> {
  return async () => pick(await load());
}

/** Every command, in the order help lists them. */
const COMMANDS: Record<string, CommandEntry> = {
  serve: { load: lazy(() => import("./serve.ts"), (m) => ({ run: m.serve, usage: m.SERVE_USAGE })), summary: "start the server (master and workers)" },
  dev: { load: lazy(() => import("./serve.ts"), (m) => ({ run: m.dev, usage: m.SERVE_USAGE })), summary: "serve, reloading when plugins or the config change" },
  reload: { load: lazy(() => import("./signal.ts"), (m) => ({ run: m.signalCommand("SIGHUP", "reloading"), usage: m.SIGNAL_USAGE })), summary: "rolling reload of a running server" },
  stop: { load: lazy(() => import("./signal.ts"), (m) => ({ run: m.signalCommand("SIGTERM", "stopping"), usage: m.SIGNAL_USAGE })), summary: "graceful stop of a running server" },
  call: { load: lazy(() => import("./call.ts"), (m) => ({ run: m.call, usage: m.CALL_USAGE })), summary: "call one method and print its result" },
  list: { load: lazy(() => import("./list.ts"), (m) => ({ run: m.list, usage: m.LIST_USAGE })), summary: "list the methods a server offers (or, with --local, this folder's plugins)" },
  bench: { load: lazy(() => import("./bench.ts"), (m) => ({ run: m.bench, usage: m.BENCH_USAGE })), summary: "load-test a server" },
  instances: { load: lazy(() => import("./instances.ts"), (m) => ({ run: m.instances, usage: m.INSTANCES_USAGE })), summary: "list the servers registered in etcd" },
  top: { load: lazy(() => import("./top.ts"), (m) => ({ run: m.top, usage: m.TOP_USAGE })), summary: "live figures of a running server, from its admin server" },
  new: { load: lazy(() => import("./new.ts"), (m) => ({ run: m.newCommand, usage: m.NEW_USAGE })), summary: "write a new plugin and its test from a template" },
  help: {
    load: async () => ({
      run: async () => {
        process.stdout.write(`${await usage()}\n`);
        return 0;
      },
    }),
    summary: "show this text",
  },
  version: {
    load: async () => ({
      run: async () => {
        const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
        process.stdout.write(`${pkg.version}\n`);
        return 0;
      },
    }),
    summary: "print the version",
  },
};

/** The whole help text: it needs every command's usage, so it loads them all. */
async function usage(): Promise<string> {
  const loaded = await Promise.all(Object.values(COMMANDS).map((entry) => entry.load()));
  return [
    "usage: forkrpc <command> [options]",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(9)} ${entry.summary}`),
    ...[...new Set(loaded.flatMap((entry) => (entry.usage === undefined ? [] : [entry.usage])))].map((text) => `\n${text}`),
  ].join("\n");
}

/** Runs one command; resolves with an exit code, or undefined to keep serving. */
export async function main(argv: string[]): Promise<number | undefined> {
  const [name = "help", ...rest] = argv;
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  let command: Loaded | undefined;
  try {
    if (entry === undefined) throw new UsageError(`unknown command "${name}"`);
    command = await entry.load();
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      const text = command?.usage !== undefined ? `usage: ${command.usage}` : await usage();
      process.stderr.write(`forkrpc: ${error.message}\n\n${text}\n`);
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
