/**
 * Runs small TypeScript programs through the loader (loader/register.js) in
 * a child process, in one scratch folder per test file.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import assert from "node:assert/strict";
import { NODE_FLAGS } from "../helpers/server.ts";

export const work = mkdtempSync(join(os.tmpdir(), "forkrpc-loader-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

export interface Ran {
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `file` with FORKRPC_CACHE_DIR=cache (undefined: the default folder,
 * under TMPDIR=work); fails unless it exits with 0 within `timeout` ms.
 */
export function runFull(file: string, cache: string | undefined, timeout = 30_000): Ran {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: work };
  delete env.FORKRPC_CACHE_DIR;
  if (cache !== undefined) env.FORKRPC_CACHE_DIR = cache;
  const start = performance.now();
  const result = spawnSync(process.execPath, [...NODE_FLAGS, file], { cwd: work, env, encoding: "utf8", timeout });
  const ms = performance.now() - start;
  assert.equal(result.error, undefined, `${file}: ${String(result.error)} after ${Math.round(ms)} ms`);
  assert.equal(result.status, 0, result.stderr);
  return { stdout: result.stdout.trim(), stderr: result.stderr, ms };
}

/** runFull's stdout. */
export const run = (file: string, cache: string | undefined): string => runFull(file, cache).stdout;

/** A program printing `text`, as work/name. */
export function program(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, `const said: string = ${JSON.stringify(text)};\nconsole.log(said);\n`);
  return file;
}

/** The folder's cache entries (not the prune marker). */
export const entries = (dir: string): string[] => readdirSync(dir).filter((name) => name !== ".pruned").sort();

/** The cache's warning lines in a process's stderr. */
export const cacheWarnings = (stderr: string): string[] => stderr.split("\n").filter((line) => line.includes("compile cache off"));
