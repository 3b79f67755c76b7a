/**
 * The loader's compile cache (loader/hooks.js): a compiled file is reused
 * only for the identical source, a cache it cannot use or trust never stops
 * a program, and FORKRPC_CACHE_DIR=off writes nothing.
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { cacheWarnings, entries, program, run, runFull, work } from "./run.ts";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

test("a cached compile is what runs, and only for the very same source", () => {
  const cache = join(work, "cache-a");
  const file = program("a.ts", "first");
  assert.equal(run(file, cache), "first");
  const [entry, ...more] = entries(cache);
  assert.ok(entry?.endsWith(".js") && more.length === 0, `one entry, got ${entries(cache).join(", ")}`);

  // The entry is read, not recompiled: what it says is what runs (once its
  // header, docs/getting-started.md, vouches for it).
  const source = readFileSync(file);
  const other = Buffer.from('console.log("from the cache");\n');
  const forged = `//forkrpc-cache 2 ${sha256(source)} ${source.length} ${sha256(other)} ${other.length}\n${other}`;
  writeFileSync(join(cache, entry), forged);
  assert.equal(run(file, cache), "from the cache");

  // Another source is another key: the edit runs, the old entry is left alone.
  program("a.ts", "second");
  assert.equal(run(file, cache), "second");
  assert.equal(entries(cache).length, 2);
  assert.ok(!entries(cache).some((name) => name.endsWith(".tmp")), "no partial files left");
  assert.equal(readFileSync(join(cache, entry), "utf8"), forged);
});

test("the same source under another file name is another entry (its source map names the file)", () => {
  const cache = join(work, "cache-b");
  assert.equal(run(program("b1.ts", "same"), cache), "same");
  assert.equal(run(program("b2.ts", "same"), cache), "same");
  assert.equal(entries(cache).length, 2);
});

test("a cache folder that cannot be made is skipped with one warning, and the program still runs", () => {
  const blocker = join(work, "not-a-folder");
  writeFileSync(blocker, "a file where the cache folder would go\n");
  const ran = runFull(program("c.ts", "compiled anyway"), join(blocker, "cache"));
  assert.equal(ran.stdout, "compiled anyway");
  assert.equal(cacheWarnings(ran.stderr).length, 1, ran.stderr);
  assert.match(ran.stderr, /not-a-folder\/cache cannot be made \(ENOTDIR\)/);
});

test("FORKRPC_CACHE_DIR=off compiles every time and writes nothing (not even in the default folder)", () => {
  const before = readdirSync(work).sort();
  const ran = runFull(program("d.ts", "uncached"), "off");
  assert.equal(ran.stdout, "uncached");
  assert.deepEqual(cacheWarnings(ran.stderr), [], "off is no failure to warn about");
  assert.deepEqual(readdirSync(work).sort(), [...before, "d.ts"].sort());
});

test("by default the cache is a private folder of this user's in the temp folder", () => {
  assert.equal(run(program("e.ts", "default"), undefined), "default");
  const [folder] = readdirSync(work).filter((name) => name.startsWith("forkrpc-swc-cache-"));
  assert.ok(folder !== undefined, "the default folder is made under TMPDIR");
  const info = statSync(join(work, folder));
  assert.equal(info.mode & 0o777, 0o700);
  assert.ok(entries(join(work, folder)).some((name) => name.endsWith(".js")));
});

test("a folder others may write to, or a symlink, is not used: its entries could be anyone's code", () => {
  const shared = join(work, "shared");
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  const ran = runFull(program("f.ts", "not from the shared folder"), shared);
  assert.equal(ran.stdout, "not from the shared folder");
  assert.match(ran.stderr, /others may write to/);
  assert.deepEqual(entries(shared), []);

  const real = join(work, "real");
  mkdirSync(real, { mode: 0o700 });
  const link = join(work, "link");
  symlinkSync(real, link);
  const linked = runFull(program("g.ts", "not through the link"), link);
  assert.equal(linked.stdout, "not through the link");
  assert.match(linked.stderr, /is a symlink/);
  assert.deepEqual(entries(real), []);
});

test("a .swcrc beside the file changes nothing: the loader's settings, and the cache key, are its own", () => {
  const dir = join(work, "with-swcrc");
  mkdirSync(dir);
  // Honoured, this would parse the file as JavaScript and fail on the type annotation.
  writeFileSync(join(dir, ".swcrc"), JSON.stringify({ jsc: { parser: { syntax: "ecmascript" } } }));
  const file = join(dir, "h.ts");
  writeFileSync(file, 'const said: string = "typescript as ever";\nconsole.log(said);\n');
  assert.equal(run(file, join(work, "cache-h")), "typescript as ever");
});

test("an empty entry (a crash before its data reached the disk) is compiled again", () => {
  const cache = join(work, "cache-i");
  const file = program("i.ts", "whole");
  assert.equal(run(file, cache), "whole");
  const [entry] = entries(cache).filter((name) => name.endsWith(".js"));
  writeFileSync(join(cache, entry as string), "");
  assert.equal(run(file, cache), "whole");
});

test("entries older than a week are swept, at most once a day", () => {
  const cache = join(work, "cache-k");
  mkdirSync(cache, { mode: 0o700 });
  const weekAgo = (Date.now() - 8 * 24 * 60 * 60 * 1000) / 1000;
  const stale = join(cache, "stale.js");
  writeFileSync(stale, "old\n");
  utimesSync(stale, weekAgo, weekAgo);
  // A program that lives long enough for the sweep, which runs in the background.
  const file = join(work, "k.ts");
  writeFileSync(file, 'const said: string = "swept";\nsetTimeout(() => console.log(said), 500);\n');
  assert.equal(run(file, cache), "swept");
  assert.ok(!entries(cache).includes("stale.js"), "the week-old entry is gone");
  assert.ok(readdirSync(cache).includes(".pruned"));

  // Swept less than a day ago: a new stale entry stays until tomorrow.
  writeFileSync(stale, "old\n");
  utimesSync(stale, weekAgo, weekAgo);
  assert.equal(run(file, cache), "swept");
  assert.ok(entries(cache).includes("stale.js"));
});
