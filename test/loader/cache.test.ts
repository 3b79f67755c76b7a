/**
 * The loader's compile cache (loader/hooks.js): a compiled file is reused
 * only for the identical source, a cache it cannot use never stops a
 * program, and FORKRPC_CACHE_DIR=off writes nothing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { NODE_FLAGS } from "../helpers/server.ts";

const work = mkdtempSync(join(os.tmpdir(), "forkrpc-cache-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs `file` through the loader with FORKRPC_CACHE_DIR=cache; returns its stdout. */
function run(file: string, cache: string): string {
  const result = spawnSync(process.execPath, [...NODE_FLAGS, file], {
    cwd: work,
    env: { ...process.env, FORKRPC_CACHE_DIR: cache },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

function program(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, `const said: string = ${JSON.stringify(text)};\nconsole.log(said);\n`);
  return file;
}

const entries = (dir: string) => readdirSync(dir).sort();

test("a cached compile is what runs, and only for the very same source", () => {
  const cache = join(work, "cache-a");
  const file = program("a.ts", "first");
  assert.equal(run(file, cache), "first");
  const [entry, ...more] = entries(cache);
  assert.ok(entry?.endsWith(".js") && more.length === 0, `one entry, got ${entries(cache).join(", ")}`);

  // The entry is read, not recompiled: what it says is what runs.
  writeFileSync(join(cache, entry), 'console.log("from the cache");\n');
  assert.equal(run(file, cache), "from the cache");

  // Another source is another key: the edit runs, the old entry is left alone.
  program("a.ts", "second");
  assert.equal(run(file, cache), "second");
  assert.equal(entries(cache).length, 2);
  assert.ok(!entries(cache).some((name) => name.endsWith(".tmp")), "no partial files left");
  assert.equal(readFileSync(join(cache, entry), "utf8"), 'console.log("from the cache");\n');
});

test("the same source under another file name is another entry (its source map names the file)", () => {
  const cache = join(work, "cache-b");
  assert.equal(run(program("b1.ts", "same"), cache), "same");
  assert.equal(run(program("b2.ts", "same"), cache), "same");
  assert.equal(entries(cache).length, 2);
});

test("a cache folder that cannot be made is skipped, and the program still runs", () => {
  const blocker = join(work, "not-a-folder");
  writeFileSync(blocker, "a file where the cache folder would go\n");
  assert.equal(run(program("c.ts", "compiled anyway"), join(blocker, "cache")), "compiled anyway");
});

test("FORKRPC_CACHE_DIR=off compiles every time and writes nothing", () => {
  const before = readdirSync(work).sort();
  assert.equal(run(program("d.ts", "uncached"), "off"), "uncached");
  assert.deepEqual(readdirSync(work).sort(), [...before, "d.ts"].sort());
});
