/** The young-generation cap workers start with, and the user's own flag winning over it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { WORKER_SEMI_SPACE_MB, workerExecArgv } from "../../src/cluster/worker-flags.ts";

const CAP = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`;

test("workers get the master's flags and the semi-space cap", () => {
  const master = ["--import", "./loader/register.js", "--conditions=forkrpc-source"];
  assert.deepEqual(workerExecArgv(master, undefined), [...master, CAP]);
  assert.deepEqual(workerExecArgv([], ""), [CAP]);
});

test("a young-generation size the user chose, in the master's flags or NODE_OPTIONS, is left alone", () => {
  for (const flag of ["--max-semi-space-size=64", "--max_semi_space_size=64", "--min-semi-space-size=8", "--max-young-generation-size=96", "--semi-space-growth-factor=4"]) {
    assert.deepEqual(workerExecArgv([flag], undefined), [flag], flag);
    assert.deepEqual(workerExecArgv([], `--enable-source-maps ${flag}`), [], `NODE_OPTIONS ${flag}`);
  }
});

test("flags that only look alike do not count", () => {
  assert.deepEqual(workerExecArgv(["--max-old-space-size=512"], "--max-semi-space-sizes"), ["--max-old-space-size=512", CAP]);
});
