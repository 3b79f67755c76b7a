/**
 * Imports plugin files, in order, and collects the @Rpc classes they export.
 * Fails with one BootError that names every offending file.
 */
import { relative } from "node:path";
import { pathToFileURL } from "node:url";
import { decoratedClasses, rpcMetaOf, type HandlerClass, type RpcMethodMeta } from "../decorators/rpc.ts";
import { BootError, describe } from "../errors.ts";

/** Reply types the protocol itself uses: a handler answering with them would be misread. */
const RESERVED_OUT = new Set(["error", "goaway"]);

export interface HandlerDefinition {
  readonly meta: RpcMethodMeta;
  readonly cls: HandlerClass;
  /** Absolute path of the file that exports the class. */
  readonly file: string;
}

export async function loadPlugins(files: readonly string[], root: string): Promise<HandlerDefinition[]> {
  const shown = (file: string) => relative(root, file) || file;
  const failures: string[] = [];
  const found: HandlerDefinition[] = [];
  const exported = new Set<HandlerClass>();
  const seenBefore = decoratedClasses().length;
  const decoratedIn = new Map<HandlerClass, string>();

  for (const file of files) {
    const start = decoratedClasses().length;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (cause) {
      failures.push(`${shown(file)}: ${describe(cause)}`);
      continue;
    }
    for (const cls of decoratedClasses().slice(start)) decoratedIn.set(cls, file);
    for (const value of Object.values(mod)) {
      const meta = rpcMetaOf(value);
      if (meta === undefined || exported.has(value as HandlerClass)) continue;
      exported.add(value as HandlerClass);
      found.push({ meta, cls: value as HandlerClass, file });
    }
  }
  if (failures.length > 0) {
    throw new BootError("PLUGIN_IMPORT_FAILED", `plugin files failed to import:\n  ${failures.join("\n  ")}`);
  }

  const hidden = decoratedClasses().slice(seenBefore).filter((cls) => !exported.has(cls));
  if (hidden.length > 0) {
    const list = hidden.map((cls) => `${cls.name} (decorated while importing ${shown(decoratedIn.get(cls) ?? "?")})`);
    throw new BootError("PLUGIN_NOT_EXPORTED", `@Rpc classes must be exported from their plugin file: ${list.join(", ")}`);
  }

  checkDefinitions(found, shown);
  return found;
}

function checkDefinitions(defs: readonly HandlerDefinition[], shown: (file: string) => string): void {
  const byName = new Map<string, HandlerDefinition>();
  const problems: string[] = [];
  for (const def of defs) {
    const where = `${def.cls.name} in ${shown(def.file)}`;
    if (typeof def.meta.name !== "string" || def.meta.name === "") {
      throw new BootError("PLUGIN_INVALID", `${where}: @Rpc needs a non-empty method name`);
    }
    if (typeof def.meta.out !== "string" || def.meta.out === "") {
      throw new BootError("PLUGIN_INVALID", `${where}: @Rpc option "out" must be a non-empty string`);
    }
    if (RESERVED_OUT.has(def.meta.out)) {
      throw new BootError("PLUGIN_INVALID", `${where}: "out" cannot be "${def.meta.out}": clients read it as the protocol's own message`);
    }
    if (typeof def.cls.prototype?.handle !== "function") {
      throw new BootError("PLUGIN_INVALID", `${where}: an @Rpc class needs a handle(params, ctx) method`);
    }
    const other = byName.get(def.meta.name);
    if (other !== undefined) {
      problems.push(`"${def.meta.name}" is claimed by ${other.cls.name} in ${shown(other.file)} and by ${where}`);
    } else {
      byName.set(def.meta.name, def);
    }
  }
  if (problems.length > 0) throw new BootError("DUPLICATE_METHOD", `duplicate method names:\n  ${problems.join("\n  ")}`);
}
