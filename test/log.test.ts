/**
 * FORKRPC_LOG_LEVEL is read once, when src/log.ts loads. An unknown value,
 * Object.prototype keys included, means info.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { thresholdOf } from "../src/log.ts";
import { NODE_FLAGS, ROOT } from "./helpers/server.ts";

test("thresholdOf: the four levels, and info for anything else", () => {
  assert.ok(thresholdOf("debug") < thresholdOf("info"));
  assert.ok(thresholdOf("info") < thresholdOf("warn"));
  assert.ok(thresholdOf("warn") < thresholdOf("error"));
  for (const name of [undefined, "", "verbose", "INFO", "constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
    assert.equal(thresholdOf(name), thresholdOf("info"), String(name));
  }
});

/** What a process with this FORKRPC_LOG_LEVEL prints for one line of each level. */
function linesLogged(level: string): string[] {
  const script = `import { log } from "./src/log.ts"; for (const l of ["debug", "info", "warn", "error"]) log[l](l);`;
  const run = spawnSync(process.execPath, [...NODE_FLAGS, "--input-type=module", "-e", script], {
    cwd: ROOT,
    env: { ...process.env, FORKRPC_LOG_LEVEL: level },
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  return run.stderr.split("\n").filter(Boolean).map((line) => line.replace(/^.*\] (\w+): .*$/, "$1"));
}

test("the request logger (ctx.log) reads FORKRPC_LOG_LEVEL the same way: an unknown value is info, not a throw", () => {
  const script = `import { createRequestLogger } from "./src/middleware/logger.ts"; const l = createRequestLogger(); l.debug("d"); l.info("i"); console.log(l.level);`;
  for (const [value, level] of [["verbose", "info"], ["constructor", "info"], ["warn", "warn"]] as const) {
    const run = spawnSync(process.execPath, [...NODE_FLAGS, "--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { ...process.env, FORKRPC_LOG_LEVEL: value },
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), level, value);
  }
});

test("FORKRPC_LOG_LEVEL=constructor logs from info up, not every level (it used to read Object.prototype)", () => {
  assert.deepEqual(linesLogged("constructor"), ["info", "warn", "error"]);
  assert.deepEqual(linesLogged("warn"), ["warn", "error"]);
});
