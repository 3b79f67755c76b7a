import { test } from "node:test";
import assert from "node:assert/strict";
import { admits, TaskQueue } from "../../src/threads/queue.ts";

test("TaskQueue: first in first out; remove takes a call out from anywhere, once", () => {
  const q = new TaskQueue<string>();
  for (const x of ["a", "b", "c"]) q.push(x);
  assert.equal(q.remove("b"), true);
  assert.equal(q.remove("b"), false);
  assert.equal(q.length, 2);
  assert.equal(q.shift(), "a");
  q.push("d");
  assert.deepEqual(q.drain(), ["c", "d"]);
  assert.equal(q.length, 0);
  assert.equal(q.shift(), undefined);
});

test("admits: maxQueue waiting calls, plus one for each thread being started", () => {
  assert.equal(admits(1, 2, 0), true);
  assert.equal(admits(2, 2, 0), false);
  assert.equal(admits(0, 0, 0), false);
  // After an idle stop, maxQueue 0 still lets a call wait for the thread started for it.
  assert.equal(admits(0, 0, 1), true);
  assert.equal(admits(1, 0, 1), false);
});
