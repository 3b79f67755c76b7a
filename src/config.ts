/**
 * The server's configuration: the type users write in rpc.config.ts, its
 * defaults, validation, and loading. Every key is defined once, in the key
 * table (config/keys.ts); this file resolves a config against it.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BootError, describe } from "./errors.ts";
import { validateConfig } from "./config-schema.ts";
import { isKey, type Table } from "./config/key.ts";
import { KEYS, type ConfigOverrides, type ForkrpcConfig, type ResolvedKeys } from "./config/keys.ts";

export type { ConfigOverrides, ForkrpcConfig };

/**
 * The resolved configuration, with every default filled in. It is also the
 * injection token for the config: a constructor parameter typed
 * `ServerConfig` receives it. Its keys come from the key table (the
 * interface); the class is what tsyringe's metadata names.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- never instantiated: resolveConfig returns a plain object of this shape
export interface ServerConfig extends ResolvedKeys {
  /** Folder the plugin patterns are relative to. */
  readonly pluginRoot: string;
  /** The config file that was loaded, if any. */
  readonly configFile: string | undefined;
}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export abstract class ServerConfig {}

/**
 * Types a config file's default export.
 *
 * @example
 * export default defineConfig({ port: 8080, plugins: ["plugins/**\/*.ts"] });
 */
export function defineConfig(config: ForkrpcConfig): ForkrpcConfig {
  return config;
}

export { validateConfig };

const CONFIG_FILES = ["rpc.config.ts", "rpc.config.mts", "rpc.config.js", "rpc.config.mjs"];

export function resolveConfig(
  file: ForkrpcConfig,
  overrides: ConfigOverrides,
  configFile: string | undefined,
  cwd: string,
): ServerConfig {
  validateConfig(overrides, "command line");
  const root = configFile ? dirname(configFile) : cwd;
  const keys = resolveTable(KEYS, file, overrides, { file: root, flag: cwd }) as ResolvedKeys;
  return { ...keys, pluginRoot: overrides.plugins ? cwd : root, configFile };
}

export const SUPERVISION_DEFAULTS = resolveTable(KEYS.supervision, undefined, {}, { file: "", flag: "" }) as ServerConfig["supervision"];

type Values = Readonly<Record<string, unknown>>;

/**
 * Each key's value: the flag's, else the file's, else the
 * default. Paths are resolved against the folder of where they came from.
 */
function resolveTable(table: Table, file: Values | undefined, flags: Values, roots: { file: string; flag: string }): Values {
  const out: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(table)) {
    if (!isKey(entry)) {
      out[name] = resolveTable(entry, file?.[name] as Values | undefined, (flags[name] as Values | undefined) ?? {}, roots);
      continue;
    }
    const fromFlag = entry.flag === undefined ? undefined : flags[name];
    const value = fromFlag ?? file?.[name];
    if (value === undefined || value === null) out[name] = entry.fallback();
    else if (entry.isPath) out[name] = resolve(fromFlag === undefined ? roots.file : roots.flag, value as string);
    else out[name] = value;
  }
  return out;
}

/**
 * Finds, imports and validates the config file, then applies overrides.
 * Without an explicit path, rpc.config.{ts,mts,js,mjs} in `cwd` is used if
 * present, and the defaults otherwise.
 */
export async function loadConfig(
  path: string | undefined,
  overrides: ConfigOverrides = {},
  cwd = process.cwd(),
  options: { fresh?: boolean } = {},
): Promise<ServerConfig> {
  const file = path === undefined ? findConfig(cwd) : resolve(cwd, path);
  if (file !== undefined && !existsSync(file)) throw new BootError("CONFIG_NOT_FOUND", `config file not found: ${file}`);
  let exported: unknown = {};
  if (file !== undefined) {
    try {
      // A reload must see the file as it is now, not the module cache's copy.
      const url = pathToFileURL(file).href + (options.fresh ? `?reload=${Date.now()}` : "");
      const mod = (await import(url)) as { default?: unknown };
      exported = mod.default;
    } catch (cause) {
      throw new BootError("CONFIG_LOAD_FAILED", `${file}: ${describe(cause)}`, { cause });
    }
    if (exported === undefined) throw new BootError("CONFIG_INVALID", `${file}: has no default export (export default defineConfig({...}))`);
  }
  return resolveConfig(validateConfig(exported, file ?? "config"), overrides, file, cwd);
}

function findConfig(cwd: string): string | undefined {
  for (const name of CONFIG_FILES) {
    const candidate = resolve(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
