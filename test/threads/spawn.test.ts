import { test } from "node:test";
import assert from "node:assert/strict";
import { threadExecArgv } from "../../src/threads/spawn.ts";

test("threadExecArgv: inherits a process's loader flag, adds it where bin/forkrpc.js registered it, none when it is off", () => {
  assert.equal(threadExecArgv(["--import", "./loader/register.js"], {}), undefined);
  assert.equal(threadExecArgv(["--import=forkrpc/register"], {}), undefined);
  assert.equal(threadExecArgv(["--import", "file:///app/node_modules/forkrpc/loader/register.js"], {}), undefined);
  const added = threadExecArgv(["--max-old-space-size=512"], {}) as string[];
  assert.deepEqual(added.slice(0, 2), ["--max-old-space-size=512", "--import"]);
  assert.match(added[2] as string, /^file:.*\/loader\/register\.js$/);
  assert.equal(threadExecArgv([], { FORKRPC_TS_LOADER: "off" }), undefined);
});
