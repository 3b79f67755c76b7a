/**
 * Starts one handler thread: boot/thread.ts from source, boot/thread.js once
 * built, with the TypeScript loader when the process has it. The entry lives
 * in boot/ because it loads plugins, and plugins/ builds the pool: a URL, not
 * an import, so threads/ stays below plugins/.
 */
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { ThreadData } from "./messages.ts";
import { threadFlags } from "../node-flags.ts";

const THREAD_URL = new URL(`../boot/thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
const REGISTER_URL = new URL("../../loader/register.js", import.meta.url);

export function startThread(data: ThreadData): Worker {
  const worker = new Worker(THREAD_URL, { workerData: data, execArgv: threadExecArgv() });
  // Supervision ends threads with their worker; they must not keep a stopping process alive.
  worker.unref();
  return worker;
}

/**
 * A thread inherits the process's flags, so a process started with
 * `--import forkrpc/register` gives its threads the TypeScript loader. The
 * installed command registers it from bin/forkrpc.js instead, which threads
 * do not run: then the flag is added (unless FORKRPC_TS_LOADER=off).
 */
export function threadExecArgv(execArgv = process.execArgv, env = process.env): string[] | undefined {
  if (env.FORKRPC_TS_LOADER === "off") return undefined;
  if (execArgv.some((arg) => /(?:^|[=/\\])(?:loader[/\\]register\.js|forkrpc\/register)$/.test(arg))) return undefined;
  return [...threadFlags(execArgv), "--import", REGISTER_URL.href];
}
