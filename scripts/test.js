// Runs the test suite with node:test. Node 20 neither expands globs nor finds
// .ts tests by itself, so the files are listed here, sorted, and run with the
// same loader as `npm start` (loader/register.js: swc with decorator metadata).
import { spawnSync } from "node:child_process";
import { globSync } from "glob";

const patterns = process.argv.length > 2 ? process.argv.slice(2) : ["test/**/*.test.ts"];
const files = globSync(patterns, { ignore: ["**/node_modules/**"] }).sort();
if (files.length === 0) {
  console.error(`no test files match ${patterns.join(" ")}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    "--import", "./loader/register.js",
    "--conditions=forkrpc-source",
    "--test",
    "--test-concurrency=2",
    ...files,
  ],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
