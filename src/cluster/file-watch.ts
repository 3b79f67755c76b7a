/**
 * `serve --watch`: reload through the master's safe path whenever a plugin
 * file or the config file changes. Only the folders the plugin patterns can
 * match are watched (their static prefix), never the whole project with its
 * node_modules. Each folder is watched by itself (watch-tree.ts says why).
 */
import { watch, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ServerConfig } from "../config.ts";
import { log } from "../log.ts";
import { watchTree, type TreeWatcher } from "./watch-tree.ts";

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

export function watchFiles(config: ServerConfig, onChange: (what: string) => void): () => void {
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
  const trees: TreeWatcher[] = [];
  for (const folder of folders) {
    // A folder moved in or out may hold plugins: reload as for a file.
    const tree = watchTree(folder, (path, isFolder) => {
      if (isFolder || SOURCE.test(path)) fire(path);
    }, (message) => log.warn(message));
    trees.push(tree);
  }
  if (config.configFile !== undefined) {
    const file = config.configFile;
    const w = watch(dirname(file), (_event, name) => {
      if (name !== null && resolve(dirname(file), String(name)) === file) fire(file);
    });
    // An FSWatcher's 'error' (its folder removed, say) without a listener would end the master.
    w.on("error", (error) => log.warn(`watching ${dirname(file)} stopped: ${error.message}; the config file is no longer watched`));
    watchers.push(w);
  }
  log.info(`watching ${[...folders].join(", ")}${config.configFile ? ` and ${config.configFile}` : ""} for changes`);
  return () => {
    if (timer !== null) clearTimeout(timer);
    for (const w of watchers) w.close();
    for (const t of trees) t.close();
  };
}
