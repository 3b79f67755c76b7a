// A bench peer's pinned dependencies, installed into its own folder (never
// forkrpc's package): `npm ci` when `node_modules` is missing or older than
// the folder's package-lock.json, so what runs is exactly what the lock names.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mtime } from "./files.js";

/** Runs `npm ci` in `dir` (ending in /) unless its install is newer than its lock file. */
export function installPinned(dir, name) {
  // npm writes node_modules/.package-lock.json last on every install: its age is the install's.
  if (mtime(`${dir}node_modules/.package-lock.json`) >= mtime(`${dir}package-lock.json`)) return;
  process.stdout.write(`bench: installing the ${name} peer's pinned dependencies (npm ci in ${dir})\n`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: ["ignore", "inherit", "inherit"] });
}

/** "name version, ..." of the folder's package.json dependencies, for the report's note. */
export function pinnedVersions(dir) {
  return Object.entries(JSON.parse(readFileSync(`${dir}package.json`, "utf8")).dependencies)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
}
