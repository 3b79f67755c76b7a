/**
 * Imports plugin files, in order, and returns the @Rpc and @Middleware
 * classes they export (found by scanning each module's exports for the
 * decorators' metadata). Fails with one BootError that names every offending
 * file. The files are fetched ahead in batches (prefetch.ts), but run one at
 * a time, in order.
 */
import { realpathSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { rpcDecorationsOf, rpcMetaOf, watchDecorations } from "../decorators/rpc.ts";
import type { HandlerClass, RpcMethodMeta } from "../request/method.ts";
import { BootError, describe } from "../errors.ts";
import { middlewareMetaOf } from "../decorators/middleware.ts";
import { MAX_TIMER_MS } from "../protocol/timers.ts";
import { isStandardSchema } from "../middleware/validation.ts";
import type { MiddlewareClass } from "../middleware/types.ts";
import { shownPath } from "./discover.ts";
import { prefetchInBatches } from "./prefetch.ts";

/** Reply types the protocol itself uses: a handler answering with them would be misread. */
const RESERVED_OUT = new Set(["error", "goaway"]);

export interface HandlerDefinition {
  readonly meta: RpcMethodMeta;
  readonly cls: HandlerClass;
  /**
   * Absolute path of the file that defines the class (where @Rpc ran), or,
   * when that could not be told, of the first plugin file that exports it.
   */
  readonly file: string;
}

/** A middleware class found in a plugin file (@Middleware). */
export interface MiddlewareDefinition {
  readonly cls: MiddlewareClass;
  readonly order: number;
  readonly file: string;
}

/** What the plugin files export, each list in file order. */
export interface LoadedPlugins {
  readonly handlers: readonly HandlerDefinition[];
  readonly middleware: readonly MiddlewareDefinition[];
}

/** Imports the files and returns the handlers and middleware classes they export. */
export async function loadPlugins(files: readonly string[], root: string): Promise<LoadedPlugins> {
  const shown = (file: string) => shownPath(root, file);
  const definedIn = definedFileOf(root);
  const failures: string[] = [];
  const handlers: HandlerDefinition[] = [];
  const middleware: MiddlewareDefinition[] = [];
  const exported = new Set<HandlerClass>();
  const importedBy = new Map<HandlerClass, string>();

  const urls = files.map((file) => pathToFileURL(file).href);
  const prefetched = prefetchInBatches(urls);
  // Only to name classes that are decorated but never exported.
  const watch = watchDecorations();
  try {
    for (const [i, file] of files.entries()) {
      await prefetched(i);
      const start = watch.classes.length;
      let mod: Record<string, unknown>;
      try {
        mod = (await import(urls[i]!)) as Record<string, unknown>;
      } catch (cause) {
        failures.push(`${shown(file)}: ${describe(cause)}`);
        continue;
      }
      for (const cls of watch.classes.slice(start)) importedBy.set(cls, file);
      for (const value of Object.values(mod)) {
        const mw = middlewareMetaOf(value);
        if (mw !== undefined && !middleware.some((m) => m.cls === value)) {
          middleware.push({ cls: value as MiddlewareClass, order: mw.order, file });
        }
        const meta = rpcMetaOf(value);
        if (meta === undefined || exported.has(value as HandlerClass)) continue;
        const cls = value as HandlerClass;
        exported.add(cls);
        handlers.push({ meta, cls, file: definedIn(cls) ?? file });
      }
    }
  } finally {
    watch.stop();
  }
  if (failures.length > 0) {
    throw new BootError("PLUGIN_IMPORT_FAILED", `plugin files failed to import:\n  ${failures.join("\n  ")}`);
  }

  const hidden = watch.classes.filter((cls) => !exported.has(cls));
  if (hidden.length > 0) {
    const list = hidden.map((cls) => whereHidden(cls, definedIn(cls), importedBy.get(cls), shown));
    throw new BootError("PLUGIN_NOT_EXPORTED", `@Rpc classes must be exported from their plugin file: ${list.join(", ")}`);
  }

  checkDefinitions(handlers, shown);
  return { handlers, middleware };
}

/** An unexported class, by the file that defines it and the plugin whose import ran that file. */
function whereHidden(cls: HandlerClass, defined: string | undefined, importing: string | undefined, shown: (file: string) => string): string {
  if (defined === undefined) return `${cls.name} (decorated while importing ${shown(importing ?? "?")})`;
  if (importing === undefined || importing === defined) return `${cls.name} in ${shown(defined)}`;
  return `${cls.name} in ${shown(defined)} (imported through ${shown(importing)})`;
}

/**
 * Where @Rpc says a class is defined, spelled under the plugin root as the
 * discovered files are: the loader imports real paths, so without this a
 * symlinked release folder would show up as "../releases/42/plugins/x.ts".
 */
function definedFileOf(root: string): (cls: HandlerClass) => string | undefined {
  let realRoot: string | undefined;
  try {
    realRoot = realpathSync(root);
  } catch {
    realRoot = undefined;
  }
  return (cls) => {
    const file = rpcDecorationsOf(cls)[0]?.file;
    if (file === undefined || realRoot === undefined) return file;
    const inside = relative(realRoot, file);
    return inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside) ? file : join(root, inside);
  };
}

/** Every PLUGIN_INVALID problem of every class in one error; duplicate names only once those are fixed. */
function checkDefinitions(defs: readonly HandlerDefinition[], shown: (file: string) => string): void {
  const invalid: string[] = [];
  for (const def of defs) {
    const where = `${def.cls.name} in ${shown(def.file)}`;
    for (const problem of problemsOf(def)) invalid.push(`${where}: ${problem}`);
  }
  if (invalid.length > 0) throw new BootError("PLUGIN_INVALID", `invalid @Rpc classes:\n  ${invalid.join("\n  ")}`);

  const byName = new Map<string, HandlerDefinition>();
  const clashes: string[] = [];
  for (const def of defs) {
    const other = byName.get(def.meta.name);
    if (other !== undefined) {
      clashes.push(`"${def.meta.name}" is claimed by ${other.cls.name} in ${shown(other.file)} and by ${def.cls.name} in ${shown(def.file)}`);
    } else {
      byName.set(def.meta.name, def);
    }
  }
  if (clashes.length > 0) throw new BootError("DUPLICATE_METHOD", `duplicate method names:\n  ${clashes.join("\n  ")}`);
}

function problemsOf(def: HandlerDefinition): string[] {
  const problems: string[] = [];
  const decorations = rpcDecorationsOf(def.cls);
  if (decorations.length > 1) {
    const names = decorations.map((d) => (typeof d.meta.name === "string" ? JSON.stringify(d.meta.name) : String(d.meta.name)));
    problems.push(`@Rpc is applied ${decorations.length} times (${names.join(", ")}): a class serves one method, so keep one @Rpc and give each other method a class of its own`);
  }
  if (typeof def.meta.name !== "string" || def.meta.name === "") {
    problems.push("@Rpc needs a non-empty method name");
  }
  if (typeof def.meta.out !== "string" || def.meta.out === "") {
    problems.push(`@Rpc option "out" must be a non-empty string`);
  } else if (RESERVED_OUT.has(def.meta.out)) {
    problems.push(`"out" cannot be "${def.meta.out}": clients read it as the protocol's own message`);
  }
  if (typeof def.cls.prototype?.handle !== "function") {
    problems.push("an @Rpc class needs a handle(params, ctx) method");
  }
  problems.push(...optionProblems(def.meta));
  return problems;
}

/** The middleware options of @Rpc, checked at boot rather than failing every request. */
function optionProblems(meta: RpcMethodMeta): string[] {
  const problems: string[] = [];
  const { timeoutMs, params, scopes } = meta;
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    problems.push(`@Rpc option "timeoutMs" must be an integer from 1 to ${MAX_TIMER_MS}`);
  }
  if (params !== undefined && !isStandardSchema(params)) {
    problems.push(`@Rpc option "params" must be a Standard Schema (a zod, valibot or arktype schema, say)`);
  }
  if (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((x) => typeof x === "string" && x !== ""))) {
    problems.push(`@Rpc option "scopes" must be an array of non-empty strings`);
  }
  if (meta.public !== undefined && typeof meta.public !== "boolean") problems.push(`@Rpc option "public" must be true or false`);
  if (meta.offload !== undefined && typeof meta.offload !== "boolean") problems.push(`@Rpc option "offload" must be true or false`);
  return problems;
}
