// Runs the test suite with node:test. Node 20 neither expands globs nor finds
// .ts tests by itself, so the files are listed here, sorted, and run with the
// same loaders as `npm start` (decorator metadata needs swc, not esbuild).
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
    "--import", "reflect-metadata",
    "--import", "@swc-node/register/esm-register",
    "--conditions=forkrpc-source",
    "--test",
    "--test-concurrency=2",
    ...files,
  ],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
