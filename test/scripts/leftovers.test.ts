/**
 * scripts/mutate/leftovers.cjs, which `npm run mutate` and its coverage
 * bridge use to kill what a test file Stryker cut short left running: it
 * must find a marked process and the child it started in its own process
 * group, and nothing that does not carry the marker's value.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { setTimeout as delay } from "node:timers/promises";

const { processesWith, killMarked } = createRequire(import.meta.url)("../../scripts/mutate/leftovers.cjs") as {
  processesWith(name: string, value: string): number[];
  killMarked(name: string, value: string): number;
};

const skip = existsSync("/proc/self/environ") ? undefined : "no /proc: leftovers.cjs finds nothing there";
/** Alive and not a zombie (an orphan's exit may wait for a reaper). */
const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

test("the processes carrying the marker, detached children included, are killed; others are left", { skip }, async () => {
  const value = `leftovers-test-${process.pid}`;
  // A "server" that starts a "worker" in a process group of its own and prints its pid.
  const script = `const c = require("node:child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" }); console.log(c.pid); setInterval(() => {}, 1000)`;
  const marked = spawn(process.execPath, ["-e", script], { env: { ...process.env, FORKRPC_TEST_MARK: value }, stdio: ["ignore", "pipe", "ignore"] });
  const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { env: { ...process.env, FORKRPC_TEST_MARK: `${value}-not` }, stdio: "ignore" });
  try {
    const worker = await new Promise<number>((resolve, reject) => {
      marked.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
      marked.once("exit", () => reject(new Error("the marked process exited before starting its child")));
    });
    assert.deepEqual(processesWith("FORKRPC_TEST_MARK", value).sort(), [marked.pid, worker].sort());
    assert.equal(killMarked("FORKRPC_TEST_MARK", value), 2);
    for (let i = 0; i < 100 && (running(marked.pid!) || running(worker)); i++) await delay(50);
    assert.equal(running(marked.pid!), false, "the marked process");
    assert.equal(running(worker), false, "its child in another process group");
    assert.equal(running(other.pid!), true, "a process whose value only starts the same");
    assert.deepEqual(processesWith("FORKRPC_TEST_MARK", value), []);
  } finally {
    // After a failed assertion the detached child would outlive the test.
    killMarked("FORKRPC_TEST_MARK", value);
    marked.kill("SIGKILL");
    other.kill("SIGKILL");
  }
});
