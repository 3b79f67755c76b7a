import { test } from "node:test";
import assert from "node:assert/strict";
import { missingWorkers, oldestServing, reloadTakeover, servingWorkers } from "../../src/cluster/generations.ts";
import { newRecord, type WorkerRecord, type WorkerState } from "../../src/cluster/records.ts";

function w(generation: number, state: WorkerState, forkedAt = 0): WorkerRecord {
  return { ...newRecord(generation, forkedAt, 0), state };
}

test("servingWorkers and missingWorkers count booting and ready workers of one generation only", () => {
  const table = [w(1, "ready"), w(1, "booting"), w(1, "recycling"), w(1, "retiring"), w(1, "killed"), w(2, "ready")];
  assert.equal(servingWorkers(table, 1).length, 2);
  assert.equal(missingWorkers(table, 1, 4), 2);
  assert.equal(missingWorkers(table, 1, 1), 0, "never negative");
  assert.equal(missingWorkers(table, 2, 2), 1);
});

test("reloadTakeover: not while any of the new generation boots or it is short of the target", () => {
  const old = [w(1, "ready"), w(1, "ready")];
  assert.equal(reloadTakeover([...old, w(2, "ready"), w(2, "booting")], 2, 2), null);
  assert.equal(reloadTakeover([...old, w(2, "ready")], 2, 2), null);
  // A target lowered during the reload: still waits for the one booting.
  assert.equal(reloadTakeover([...old, w(2, "ready"), w(2, "booting")], 2, 1), null);
});

test("reloadTakeover: once the new generation is all ready, every older worker and the surplus over the target go", () => {
  const old = [w(1, "ready"), w(1, "recycling"), w(1, "booting")];
  const fresh = [w(2, "ready"), w(2, "ready"), w(2, "ready")];
  const t = reloadTakeover([...old, ...fresh], 2, 2);
  assert.ok(t !== null);
  assert.deepEqual(t.old, old);
  assert.deepEqual(t.surplus, [fresh[2]]);
});

test("oldestServing: the first forked of the serving generation, never one already going", () => {
  const a = w(1, "retiring", 1);
  const b = w(1, "ready", 5);
  const c = w(1, "booting", 3);
  assert.equal(oldestServing([a, b, c, w(2, "ready", 0)], 1), c);
  assert.equal(oldestServing([a], 1), undefined);
});
