// ESM loader hooks: compile TypeScript with @swc/core, with the decorator
// settings forkrpc needs (legacy decorators, emitted parameter metadata for
// constructor injection) regardless of any tsconfig. Plain JS: this is what
// makes .ts loadable, so it cannot be .ts itself.
//
// Compiled files are cached on disk, keyed by everything the output depends
// on (source, file name, these options, the swc version), so that a worker
// whose master, sibling or previous run already compiled a file never loads
// @swc/core at all: with it loaded, a process is ~50 MB larger and starts
// slower (docs/getting-started.md).
// FORKRPC_CACHE_DIR moves the cache; FORKRPC_CACHE_DIR=off turns it off.
//
// The source and the cache entry are read synchronously: this thread does
// nothing but answer the importing thread, which is waiting for the answer,
// and an async read of a small file is four thread-pool round trips
// (open, stat, read, close) that cost more than the read itself. Importing
// 1000 one-method plugin files, one after another, took 1.7 s instead of 2.3.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheFolder, readEntry, sha256, writeEntry } from "./cache.js";

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

const SWC_VERSION = createRequire(import.meta.url)("@swc/core/package.json").version;
const KEY_PREFIX = JSON.stringify({ swc: SWC_VERSION, options: OPTIONS, format: 2 });

/** @type {Promise<typeof import("@swc/core").transform> | null} */
let swc = null;
const compiler = () => (swc ??= import("@swc/core").then((m) => m.transform));

/** @type {string | null | undefined} undefined until the first .ts file */
let cache;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    // TypeScript's NodeNext style names the compiled file: "./service.js" for service.ts.
    if (error?.code === "ERR_MODULE_NOT_FOUND" && /^\.{1,2}\/.*\.m?js$/.test(specifier)) {
      try {
        return await next(specifier.replace(/js$/, "ts"), context);
      } catch {
        // fall through to the original error, which names what was asked for
      }
    }
    throw error;
  }
}

/** The compiled module: from the cache when an identical compile is there, else compiled (and stored, best effort). */
async function compile(filename, source) {
  if (cache === undefined) cache = cacheFolder();
  const sourceHash = sha256(source);
  const sourceBytes = Buffer.byteLength(source);
  const entry = cache === null ? null : join(cache, `${sha256(`${KEY_PREFIX}\0${filename}\0${sourceHash}`)}.js`);
  const cached = entry === null ? null : readEntry(entry, sourceHash, sourceBytes);
  if (cached !== null) return cached;
  const transform = await compiler();
  const { code } = await transform(source, { ...OPTIONS, filename });
  // Awaited: this thread ends with the process, which may not wait for it.
  if (entry !== null) await writeEntry(entry, sourceHash, sourceBytes, code);
  return code;
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !TS.test(new URL(url).pathname)) return next(url, context);
  const filename = fileURLToPath(url);
  const source = readFileSync(filename, "utf8");
  return { format: "module", source: await compile(filename, source), shortCircuit: true };
}
