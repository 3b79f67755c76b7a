/** The young-generation cap workers start with, the user's own size winning over it, and threads that can still start. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { threadFlags, WORKER_SEMI_SPACE_MB, workerExecArgv } from "../src/node-flags.ts";
import { threadExecArgv } from "../src/threads/spawn.ts";

const CAP = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`;

test("workers get the master's flags and the semi-space cap", () => {
  const master = ["--import", "./loader/register.js", "--conditions=forkrpc-source"];
  assert.deepEqual(workerExecArgv(master, undefined), [...master, CAP]);
  assert.deepEqual(workerExecArgv([], ""), [CAP]);
});

test("a young-generation size the user chose, in the master's flags or NODE_OPTIONS, is left alone", () => {
  for (const flag of ["--max-semi-space-size=64", "--max_semi_space_size=64", "--min-semi-space-size=8", "--semi-space-growth-factor=4"]) {
    assert.deepEqual(workerExecArgv([flag], undefined), [flag], flag);
    assert.deepEqual(workerExecArgv([], `--enable-source-maps ${flag}`), [], `NODE_OPTIONS ${flag}`);
  }
});

test("flags that only look alike do not count", () => {
  assert.deepEqual(workerExecArgv(["--max-old-space-size=512"], "--max-semi-space-sizes"), ["--max-old-space-size=512", CAP]);
});

test("a thread given a worker's flags explicitly starts: the heap sizing flags new Worker() refuses are left out", async () => {
  const flags = workerExecArgv(["--conditions=forkrpc-source"], undefined);
  assert.deepEqual(threadFlags(flags), ["--conditions=forkrpc-source"]);
  // Given as they are, the thread is refused: what the filter is for.
  assert.throws(() => new Worker("", { eval: true, execArgv: flags }), { code: "ERR_WORKER_INVALID_EXEC_ARGV" });
  // As the installed command's workers give them (no loader flag: threadExecArgv adds it).
  const execArgv = threadExecArgv(flags, {});
  assert.ok(execArgv !== undefined && execArgv.includes("--import"));
  const thread = new Worker(`require("node:worker_threads").parentPort.postMessage("up")`, { eval: true, execArgv });
  try {
    const said = await new Promise((resolve, reject) => {
      thread.once("message", resolve);
      thread.once("error", reject);
    });
    assert.equal(said, "up");
  } finally {
    await thread.terminate();
  }
});
