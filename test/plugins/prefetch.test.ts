/**
 * prefetchModules fetches and links modules without running them: their top
 * level runs when they are imported, once, and a module that cannot load
 * fails on its import, as if it had never been prefetched.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { prefetchInBatches, prefetchModules } from "../../src/plugins/prefetch.ts";

const dir = mkdtempSync(join(tmpdir(), "forkrpc-prefetch-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const RAN = Symbol.for("forkrpc.test.prefetch.ran");
const ran = (): string[] => ((globalThis as { [RAN]?: string[] })[RAN] ??= []);

/** Writes a module whose top level records its name, and returns its URL. */
function module(name: string, body = ""): string {
  const file = join(dir, name);
  writeFileSync(file, `(globalThis[Symbol.for("forkrpc.test.prefetch.ran")] ??= []).push(${JSON.stringify(name)});\n${body}`);
  return pathToFileURL(file).href;
}

test("prefetched modules and their imports are fetched but not run; importing runs each once", async () => {
  module("dep.ts", "export const dep: number = 1;\n");
  const a = module("a.ts", `import { dep } from "./dep.ts";\nexport const a: number = dep + 1;\n`);
  await prefetchModules([a]);
  assert.deepEqual(ran(), [], "nothing ran");

  // Fetched already: an edit made now is not what runs (a module is fetched once per URL).
  writeFileSync(new URL(a), `export const a = "edited after the prefetch";\n`);
  assert.equal((await import(a)).a, 2);
  assert.deepEqual(ran(), ["dep.ts", "a.ts"]);
  await import(a);
  assert.deepEqual(ran(), ["dep.ts", "a.ts"], "run once");
});

test("a module that cannot load or throws fails on its import, not on the prefetch", async () => {
  const syntax = module("syntax.ts", "export const = ;\n");
  const missing = module("missing.ts", `import { nothing } from "./no-such-file.ts";\nexport const value = nothing;\n`);
  const throws = module("throws.ts", `throw new Error("top level of throws.ts");\n`);
  const fine = module("fine.ts", "export const fine = true;\n");
  ran().length = 0;
  await prefetchModules([syntax, missing, throws, fine]);
  assert.deepEqual(ran(), [], "nothing ran, not even the files before the one that throws");

  await assert.rejects(import(syntax), /Syntax Error/);
  await assert.rejects(import(missing), (error: { code?: string; message: string }) => {
    assert.equal(error.code, "ERR_MODULE_NOT_FOUND");
    assert.match(error.message, /no-such-file/);
    return true;
  });
  await assert.rejects(import(throws), /top level of throws\.ts/);
  assert.equal((await import(fine)).fine, true);
  assert.deepEqual(ran(), ["throws.ts", "fine.ts"]);
});

test("prefetchInBatches has every file fetched before it is imported", async () => {
  const urls = ["b0", "b1", "b2", "b3", "b4"].map((name) => module(`${name}.ts`, "export {};\n"));
  ran().length = 0;
  const prefetched = prefetchInBatches(urls, 2);
  for (const [i, url] of urls.entries()) {
    await prefetched(i);
    // Edited once ready(i) resolved: when the import runs the old text, the file was fetched before.
    writeFileSync(new URL(url), `throw new Error("not prefetched");\n`);
    await import(url);
  }
  assert.deepEqual(ran(), ["b0.ts", "b1.ts", "b2.ts", "b3.ts", "b4.ts"]);
});
