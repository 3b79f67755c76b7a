/**
 * Throwaway app folders for tests: a package.json, the files given, and a
 * node_modules/forkrpc symlink to this repository, so that plugins and
 * configs can `import "forkrpc"` as an app's would. A test file removes
 * what it made with `after(removeTempApps)`.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT } from "./server.ts";

const made: string[] = [];

/** Writes `files` (path relative to the folder -> text) into a new folder named `prefix...`; returns the folder. */
export function tempApp(prefix: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "forkrpc"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Removes every folder tempApp made in this process. */
export function removeTempApps(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
