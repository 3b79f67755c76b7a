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
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  /** FORKRPC_CACHE_DIR; undefined: the default folder, under TMPDIR=work. */
  cache?: string;
  env?: NodeJS.ProcessEnv;
  /** ms; a process still running then fails the test. */
  timeout?: number;
}

/** Runs `file` through the loader, whatever its exit status. */
export function launch(file: string, options: RunOptions = {}): Ran {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: work, ...options.env };
  delete env.FORKRPC_CACHE_DIR;
  if (options.cache !== undefined) env.FORKRPC_CACHE_DIR = options.cache;
  const start = performance.now();
  const result = spawnSync(process.execPath, [...NODE_FLAGS, file], { cwd: work, env, encoding: "utf8", timeout: options.timeout ?? 30_000 });
  const ms = performance.now() - start;
  assert.equal(result.error, undefined, `${file}: ${String(result.error)} after ${Math.round(ms)} ms`);
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr, ms };
}

/** Runs `file` with FORKRPC_CACHE_DIR=cache (see RunOptions); fails unless it exits with 0 in time. */
export function runFull(file: string, cache: string | undefined, timeout = 30_000): Ran {
  const ran = launch(file, { cache, timeout });
  assert.equal(ran.status, 0, ran.stderr);
  return ran;
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
