/**
 * Expands plugin glob patterns into a sorted list of absolute file paths.
 * Pure apart from reading the file system: importing is load.ts's job.
 */
import { glob } from "glob";

const IGNORE = ["**/node_modules/**", "**/*.d.ts", "**/*.d.mts"];

export async function discoverPlugins(patterns: readonly string[], root: string): Promise<string[]> {
  const found = await glob([...patterns], { cwd: root, absolute: true, nodir: true, ignore: IGNORE });
  // glob's order depends on the file system; the registry must not.
  return [...new Set(found)].sort();
}
