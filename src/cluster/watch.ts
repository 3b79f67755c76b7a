/**
 * `serve --watch`: reload through the master's safe path whenever a plugin
 * file or the config file changes. Only the folders the plugin patterns can
 * match are watched (their static prefix), never the whole project with its
 * node_modules.
 */
import { watch, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ServerConfig } from "../config.ts";
import { log } from "../log.ts";

const SOURCE = /\.(ts|mts|js|mjs|cjs|cts|json)$/;
const DEBOUNCE_MS = 200;

/** The part of a glob pattern before its first magic character, as a folder. */
export function staticPrefix(pattern: string): string {
  const parts = pattern.split("/");
  const fixed: string[] = [];
  for (const part of parts) {
    if (/[*?[\]{}()!+@]/.test(part)) break;
    fixed.push(part);
  }
  // A pattern with no magic names a file: watch its folder.
  return fixed.length === parts.length ? dirname(pattern) : fixed.join("/") || ".";
}

export function watchForChanges(config: ServerConfig, onChange: (what: string) => void): () => void {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  let changed = "";
  const fire = (what: string) => {
    changed = what;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange(changed);
    }, DEBOUNCE_MS);
  };
  const folders = new Set(config.plugins.map((p) => resolve(config.pluginRoot, staticPrefix(p))));
  for (const folder of folders) {
    try {
      const w = watch(folder, { recursive: true }, (_event, name) => {
        const file = String(name ?? "");
        if (SOURCE.test(file) && !file.includes("node_modules")) fire(resolve(folder, file));
      });
      w.on("error", (error) => log.warn(`watching ${folder}: ${error.message}`));
      watchers.push(w);
    } catch (error) {
      log.warn(`cannot watch ${folder}: ${(error as Error).message}`);
    }
  }
  if (config.configFile !== undefined) {
    const file = config.configFile;
    const w = watch(dirname(file), (_event, name) => {
      if (name !== null && resolve(dirname(file), String(name)) === file) fire(file);
    });
    watchers.push(w);
  }
  log.info(`watching ${[...folders].join(", ")}${config.configFile ? ` and ${config.configFile}` : ""} for changes`);
  return () => {
    if (timer !== null) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
