/**
 * Cache entries are verified before they run (loader/cache.js): an entry
 * cut short, bit-flipped or copied from another source is compiled again
 * and rewritten, and the module does what its source says.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { entries, run, work } from "./run.ts";

/** A program whose compiled form prints "one", then "two": cut after the first line, it still parses. */
function twoLines(name: string): string {
  const file = join(work, name);
  writeFileSync(file, 'const first: string = "one";\nconsole.log(first);\nconst second: string = "two";\nconsole.log(second);\n');
  return file;
}

/** Compiles `file` into a new cache folder; returns the folder and its one entry's path. */
function cached(file: string, folder: string): { cache: string; entry: string } {
  const cache = join(work, folder);
  assert.equal(run(file, cache), "one\ntwo");
  const names = entries(cache);
  assert.equal(names.length, 1, names.join(", "));
  return { cache, entry: join(cache, names[0] as string) };
}

test("an entry cut in half, still valid JavaScript, is not run: it is compiled and written again", () => {
  const file = twoLines("cut.ts");
  const { cache, entry } = cached(file, "cache-cut");
  const whole = readFileSync(entry);
  // Cut within the first half, after the statement that prints "one": what
  // is left is a module that parses and prints only "one".
  const at = whole.indexOf('console.log(first);\n') + 'console.log(first);\n'.length;
  assert.ok(at > 0 && at < whole.length / 2, `cut at ${at} of ${whole.length}`);
  writeFileSync(entry, whole.subarray(0, at));
  assert.equal(run(file, cache), "one\ntwo");
  assert.deepEqual(readFileSync(entry), whole, "the entry is whole again");
});

test("a bit-flipped entry is compiled again", () => {
  const file = twoLines("flip.ts");
  const { cache, entry } = cached(file, "cache-flip");
  const whole = readFileSync(entry);
  const flipped = Buffer.from(whole);
  const at = flipped.indexOf('"two"') + 3;
  flipped[at] = (flipped[at] as number) ^ 1; // "two" -> "twn": still valid, and would print
  writeFileSync(entry, flipped);
  assert.equal(run(file, cache), "one\ntwo");
  assert.deepEqual(readFileSync(entry), whole);
});

test("a whole entry of another source, put under this source's name, is not run", () => {
  const file = twoLines("mine.ts");
  const { cache, entry } = cached(file, "cache-copied");
  const other = join(work, "other.ts");
  writeFileSync(other, 'console.log("other");\n');
  assert.equal(run(other, cache), "other");
  const otherEntry = entries(cache).map((name) => join(cache, name)).find((path) => path !== entry) as string;
  copyFileSync(otherEntry, entry);
  assert.equal(run(file, cache), "one\ntwo");
});
