// Preloaded (-r) in every test process that Stryker's tap runner starts, and,
// through NODE_OPTIONS, in every Node process those start: `forkrpc serve`,
// its master and workers. Stryker learns which test file covers which mutant
// from the coverage the instrumented code counts in the test process only,
// so code that runs in a server the test spawned would look uncovered and
// its mutants would never be run. Each child writes what it counted to a
// folder at exit (SIGTERM and process.exit included; SIGKILL loses it), and
// the test process adds those counts to its own before the tap runner's hook
// (preloaded after this file, so its exit listener runs after ours) saves them.
// The folder's name, inherited by every process the test file started, is
// also how the test process finds those still running when it exits (a file
// Stryker ended early never ran its after() hooks) and kills them
// (leftovers.cjs).
/* eslint-disable @typescript-eslint/no-require-imports -- a -r preload is CommonJS */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { killMarked } = require("./leftovers.cjs");

const DIR_ENV = "FORKRPC_MUTATE_COVERAGE_DIR";
const NS = process.env.STRYKER_NAMESPACE || "__stryker__";

/** Adds `from`'s counts (mutant id -> hits) into `into`. */
function merge(into, from) {
  for (const [id, n] of Object.entries(from || {})) into[id] = (into[id] || 0) + n;
}

if (process.env[DIR_ENV] === undefined) {
  // The test process: children report into a folder of its own.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forkrpc-mutate-cov-"));
  process.env[DIR_ENV] = dir;
  const self = `--require=${JSON.stringify(__filename).slice(1, -1)}`;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS || ""} ${self}`.trim();
  process.on("exit", () => {
    const ns = global[NS] || (global[NS] = {});
    const cov = ns.mutantCoverage || (ns.mutantCoverage = { static: {}, perTest: {} });
    for (const file of fs.readdirSync(dir)) {
      try {
        merge(cov.static, JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")));
      } catch {
        // a child cut off while writing: its counts are lost, nothing more
      }
    }
    killMarked(DIR_ENV, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });
} else {
  // A server (or other Node process) a test started.
  process.on("exit", () => {
    const counts = global[NS] && global[NS].mutantCoverage && global[NS].mutantCoverage.static;
    if (!counts || Object.keys(counts).length === 0) return;
    try {
      fs.writeFileSync(path.join(process.env[DIR_ENV], `${process.pid}.json`), JSON.stringify(counts));
    } catch {
      // the test process has already cleaned up
    }
  });
}
