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
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { lstat, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

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
const KEY_PREFIX = JSON.stringify({ swc: SWC_VERSION, options: OPTIONS, format: 1 });

/** @type {Promise<typeof import("@swc/core").transform> | null} */
let swc = null;
const compiler = () => (swc ??= import("@swc/core").then((m) => m.transform));

/**
 * The cache folder, or null when it is off or unsafe. The default lives in
 * the OS temp folder, one per user, created private. A folder is used only
 * if it is a real folder (not a symlink), owned by this user, and writable
 * by nobody else: its entries are code we run.
 */
const cacheDir = (async () => {
  const setting = process.env.FORKRPC_CACHE_DIR;
  if (setting === "off") return null;
  try {
    const uid = process.getuid?.();
    const dir = setting || join(os.tmpdir(), `forkrpc-swc-cache-${uid ?? "user"}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const info = await lstat(dir);
    if (!info.isDirectory()) return null;
    if (uid !== undefined && (info.uid !== uid || (info.mode & 0o022) !== 0)) return null;
    prune(dir);
    return dir;
  } catch {
    return null;
  }
})();

const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNE_AFTER_DAYS = 7;

/**
 * At most once a day (a marker file's age tells), removes entries written
 * more than PRUNE_AFTER_DAYS ago, in the background: an entry still in use
 * costs one compile a week, and the folder does not grow without bound.
 */
function prune(dir) {
  const marker = join(dir, ".pruned");
  (async () => {
    const last = await stat(marker).then((info) => info.mtimeMs, () => 0);
    if (Date.now() - last < DAY_MS) return;
    for (const name of await readdir(dir)) {
      if (!name.endsWith(".js") && !name.endsWith(".tmp")) continue;
      const file = join(dir, name);
      const info = await stat(file).catch(() => null);
      if (info !== null && Date.now() - info.mtimeMs > PRUNE_AFTER_DAYS * DAY_MS) await rm(file, { force: true });
    }
    // Last: a process that ends before the sweep does leaves it to the next.
    await writeFile(marker, "");
  })().catch(() => {});
}

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
  const dir = await cacheDir;
  const entry =
    dir === null
      ? null
      : join(dir, `${createHash("sha256").update(KEY_PREFIX).update("\0").update(filename).update("\0").update(source).digest("hex")}.js`);
  if (entry !== null) {
    try {
      // Never empty when whole (the inline source map is always there): an
      // empty entry is what a crash before the data reached the disk leaves.
      const cached = readFileSync(entry, "utf8");
      if (cached !== "") return cached;
    } catch {
      // not cached yet
    }
  }
  const transform = await compiler();
  const { code } = await transform(source, { ...OPTIONS, filename });
  if (entry !== null) {
    // Whole files only: another process may be reading or writing the same entry.
    const partial = `${entry}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await writeFile(partial, code, { mode: 0o600 });
      await rename(partial, entry);
    } catch {
      // a full or read-only disk costs a compile next time, nothing else
      await rm(partial, { force: true }).catch(() => {});
    }
  }
  return code;
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !TS.test(new URL(url).pathname)) return next(url, context);
  const filename = fileURLToPath(url);
  const source = readFileSync(filename, "utf8");
  return { format: "module", source: await compile(filename, source), shortCircuit: true };
}
