// Mutation testing (npm run mutate; docs/testing.md). StrykerJS's tap runner
// starts one `node` per test file, with the repo's loader, so node:test files
// run as they do under scripts/test.js; per-test coverage (a test here is a
// file) sends each mutant only to the files that reach its code, servers they
// spawn included (scripts/mutate/coverage-bridge.cjs).
import { globSync } from "glob";

/**
 * Each part: what is mutated, the test files that can kill its mutants, and
 * (slow) those of its own folder that start servers in child processes.
 */
const PARTS = {
  protocol: {
    mutate: ["src/protocol/**/*.ts"],
    // Unit and property tests only: every integration test reaches the
    // framer, and running them for each of ~430 mutants takes hours here.
    tests: ["test/protocol/*.test.ts"],
  },
  client: {
    mutate: ["src/client/**/*.ts"],
    tests: ["test/client/*.test.ts"],
    // These boot fixture servers (or etcd) in child processes: all of them
    // run, the whole part is estimated at about 6 hours here.
    slow: ["test/client/{balance,client,discovery-etcd,goaway,reconnect}.test.ts"],
  },
  middleware: {
    mutate: ["src/middleware/**/*.ts"],
    tests: ["test/middleware/*.test.ts", "test/integration/middleware.test.ts"],
  },
  server: {
    mutate: ["src/server/**/*.ts"],
    tests: ["test/server/*.test.ts", "test/integration/protocol.test.ts", "test/integration/regressions.test.ts", "test/integration/smoke.test.ts"],
  },
  // The master's supervision policy, pure functions since the supervisor
  // split: its unit tests need no fork; respawn.test.ts checks it end to end.
  policy: {
    mutate: ["src/cluster/policy.ts", "src/cluster/generations.ts"],
    tests: ["test/cluster/policy.test.ts", "test/cluster/generations.test.ts", "test/cluster/supervisor.test.ts", "test/integration/respawn.test.ts"],
  },
};

const wanted = (process.env.FORKRPC_MUTATE_PARTS || Object.keys(PARTS).join(",")).split(",").filter(Boolean);
for (const part of wanted) if (!(part in PARTS)) throw new Error(`unknown part "${part}"; parts: ${Object.keys(PARTS).join(", ")}`);
const chosen = wanted.map((p) => PARTS[p]);
/** Reports and the incremental file are per run name (the parts, unless FORKRPC_MUTATE_NAME says). */
const name = process.env.FORKRPC_MUTATE_NAME || wanted.join("+");

/**
 * The test files, in the order the runner tries them for a mutant (it stops
 * at the first that fails): unit files before integration files, which boot
 * servers and take seconds each.
 */
function testFiles() {
  const files = [...new Set(globSync(chosen.flatMap((p) => p.tests), { posix: true }))];
  const booting = new Set(globSync(chosen.flatMap((p) => p.slow ?? []), { posix: true }));
  const slow = (f) => (f.startsWith("test/integration/") || booting.has(f) ? 1 : 0);
  // A quick pass: FORKRPC_MUTATE_UNIT_ONLY=1 leaves out the integration files and the others that boot servers.
  const kept = process.env.FORKRPC_MUTATE_UNIT_ONLY ? files.filter((f) => !slow(f)) : files;
  return kept.sort((a, b) => slow(a) - slow(b) || a.localeCompare(b));
}

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  plugins: ["@stryker-mutator/tap-runner"],
  testRunner: "tap",
  tap: {
    testFiles: testFiles(),
    nodeArgs: [
      "-r", "./scripts/mutate/coverage-bridge.cjs",
      "-r", "{{hookFile}}",
      "--import", "./loader/register.js",
      "--conditions=forkrpc-source",
      "--test-reporter=tap",
      "{{testFile}}",
    ],
    forceBail: true,
  },
  mutate: chosen.flatMap((p) => p.mutate),
  coverageAnalysis: "perTest",
  // The suite spawns servers and measures time: one mutant at a time.
  concurrency: 1,
  timeoutMS: 15_000,
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: ".stryker-tmp",
  ignorePatterns: ["/bench", "/dist", "/reports", "/.tmp", "*.log"],
  cleanTempDir: true,
};
