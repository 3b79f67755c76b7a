// Compiles TypeScript with @swc/core, with the decorator settings forkrpc
// needs (legacy decorators, emitted parameter metadata for constructor
// injection) regardless of any tsconfig, through the on-disk cache
// (cache.js). Shared by both ways of hooking Node's loader (register.js):
// the async hooks thread (hooks.js) and in-thread sync hooks (sync-hooks.js).
//
// The cache is keyed by everything the output depends on (source, file
// name, these options, the swc version), so that a worker whose master,
// sibling or previous run already compiled a file never loads @swc/core at
// all: with it loaded, a process is ~50 MB larger and starts slower
// (docs/getting-started.md).
//
// The source and the cache entry are read synchronously, in both: with the
// hooks thread, the importing thread is waiting for the answer anyway, and an
// async read of a small file is four thread-pool round trips (open, stat,
// read, close) that cost more than the read itself. Importing 1000
// one-method plugin files, one after another, took 1.7 s instead of 2.3.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheFolder, readEntry, sha256, writeEntry, writeEntrySync } from "./cache.js";

const TS = /\.(ts|mts)$/;

const OPTIONS = {
  // These settings, whatever a .swcrc beside the file says (it is not part
  // of the cache key either).
  swcrc: false,
  configFile: false,
  sourceMaps: "inline",
  module: { type: "es6" },
  jsc: {
    target: "es2022",
    keepClassNames: true,
    parser: { syntax: "typescript", decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
  },
};

const require = createRequire(import.meta.url);
const KEY_PREFIX = JSON.stringify({ swc: require("@swc/core/package.json").version, options: OPTIONS, format: 2 });

/** @type {string | null | undefined} the cache folder; undefined until the first .ts file */
let cache;

/**
 * For a TypeScript file's URL: its path, source, and the compile found in
 * the cache (or null, and where to store one). Null for any other URL.
 */
function lookup(url) {
  if (!url.startsWith("file:") || !TS.test(new URL(url).pathname)) return null;
  if (cache === undefined) cache = cacheFolder();
  const filename = fileURLToPath(url);
  const source = readFileSync(filename, "utf8");
  const sourceHash = sha256(source);
  const sourceBytes = Buffer.byteLength(source);
  const entry = cache === null ? null : join(cache, `${sha256(`${KEY_PREFIX}\0${filename}\0${sourceHash}`)}.js`);
  const code = entry === null ? null : readEntry(entry, sourceHash, sourceBytes);
  return { filename, source, sourceHash, sourceBytes, entry, code };
}

/** @type {Promise<typeof import("@swc/core").transform> | null} */
let transform = null;

/** The module compiled from the TypeScript file at `url`, or null for other URLs; on the swc thread pool. */
export async function compileAsync(url) {
  const found = lookup(url);
  if (found === null || found.code !== null) return found?.code ?? null;
  const { filename, source, sourceHash, sourceBytes, entry } = found;
  transform ??= import("@swc/core").then((swc) => swc.transform);
  const { code } = await (await transform)(source, { ...OPTIONS, filename });
  // Awaited: the hooks thread ends with the process, which does not wait for it.
  if (entry !== null) await writeEntry(entry, sourceHash, sourceBytes, code);
  return code;
}

/** compileAsync, blocking: for hooks that must answer synchronously. */
export function compileSync(url) {
  const found = lookup(url);
  if (found === null || found.code !== null) return found?.code ?? null;
  const { filename, source, sourceHash, sourceBytes, entry } = found;
  const { code } = require("@swc/core").transformSync(source, { ...OPTIONS, filename });
  if (entry !== null) writeEntrySync(entry, sourceHash, sourceBytes, code);
  return code;
}

/**
 * TypeScript's NodeNext style names the compiled file ("./service.js" for
 * service.ts): the specifier to try when `specifier` is not found, or null.
 */
export const typescriptTwin = (specifier) => (/^\.{1,2}\/.*\.m?js$/.test(specifier) ? specifier.replace(/js$/, "ts") : null);
