/**
 * Expands plugin glob patterns into a sorted list of absolute file paths.
 * Pure apart from reading the file system: importing is load.ts's job.
 */
import { relative } from "node:path";
import { glob } from "glob";

const IGNORE = ["**/node_modules/**", "**/*.d.ts", "**/*.d.mts"];

export async function discoverPlugins(patterns: readonly string[], root: string): Promise<string[]> {
  const found = await glob([...patterns], { cwd: root, absolute: true, nodir: true, ignore: IGNORE });
  // glob's order depends on the file system; the registry must not.
  return [...new Set(found)].sort();
}

/** A plugin file as boot errors show it: relative to the plugin root, or as it is when it is the root itself. */
export function shownPath(root: string, file: string): string {
  return relative(root, file) || file;
}
