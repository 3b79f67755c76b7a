// Installs the nestjs peer's pinned dependencies (package-lock.json) into
// bench/peers/nestjs/node_modules when they are missing or older than the
// lock file: `npm ci`, so what runs is exactly what the lock names.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { mtime } from "../../lib/files.js";

const DIR = fileURLToPath(new URL(".", import.meta.url));

/** "@nestjs/core 1.2.3, ..." as pinned in package.json, for the report's note. */
export const NEST_VERSIONS = Object.entries(JSON.parse(readFileSync(`${DIR}package.json`, "utf8")).dependencies)
  .filter(([name]) => name.startsWith("@nestjs/"))
  .map(([name, version]) => `${name} ${version}`)
  .join(", ");

export function prepareNest() {
  // npm writes node_modules/.package-lock.json last on every install: its age is the install's.
  if (mtime(`${DIR}node_modules/.package-lock.json`) >= mtime(`${DIR}package-lock.json`)) return;
  process.stdout.write("bench: installing the nestjs peer's pinned dependencies (npm ci in bench/peers/nestjs)\n");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: DIR, stdio: ["ignore", "inherit", "inherit"] });
}
