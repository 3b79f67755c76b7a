/**
 * The activity board (src/server/activity.ts) without a server: the shared
 * call slot the watchdog reads, and the list of requests running. Written for
 * the mutants of `npm run mutate -- server` that no unit test reached.
 */
import { afterEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { Activity, CALL_SLOT_BYTES, SLOT } from "../../src/server/activity.ts";

afterEach(() => mock.restoreAll());

function slot() {
  const shared = new SharedArrayBuffer(CALL_SLOT_BYTES);
  return {
    activity: new Activity(shared),
    i32: new Int32Array(shared, 0, SLOT.ID_TEXT_BYTE / 4),
    number: () => new Float64Array(shared, SLOT.ID_NUMBER_BYTE, 1)[0],
    text: (n: number) => Buffer.from(new Uint8Array(shared, SLOT.ID_TEXT_BYTE, n)).toString("utf8"),
  };
}

// Kills the mutants of tick(), enter() and leave() (lines 55-85): which
// field is written, the id kinds 0, 1 and 2, ACTIVE set and cleared.
test("the shared slot: ticks, the method and id on the stack, and ACTIVE while it runs", () => {
  const { activity, i32, number, text } = slot();
  activity.tick();
  activity.tick();
  assert.equal(i32[SLOT.TICK], 2);
  assert.equal(i32[SLOT.ACTIVE], 0);
  activity.enter(5, 42.5);
  assert.deepEqual([i32[SLOT.ACTIVE], i32[SLOT.METHOD], i32[SLOT.ID_KIND]], [1, 5, 1]);
  assert.equal(number(), 42.5);
  activity.leave();
  assert.equal(i32[SLOT.ACTIVE], 0);
  activity.enter(6, "req-é");
  assert.deepEqual([i32[SLOT.ACTIVE], i32[SLOT.METHOD], i32[SLOT.ID_KIND], i32[SLOT.ID_LENGTH]], [1, 6, 2, 6]);
  assert.equal(text(6), "req-é");
  activity.leave();
  activity.enter(7, undefined);
  assert.deepEqual([i32[SLOT.ACTIVE], i32[SLOT.METHOD], i32[SLOT.ID_KIND]], [1, 7, 0]);
  activity.leave();
  assert.equal(i32[SLOT.TICK], 2, "enter and leave do not tick");
  // Without shared memory (no watchdog) all of it is a no-op.
  const bare = new Activity();
  bare.tick();
  bare.enter(1, 1);
  bare.leave();
  assert.equal(bare.inflight, 0);
});

// Kills the mutants of begin(), end(), inflightByMethod() and oldest()
// (lines 92-125): unlinking the head, a middle and the tail, the count,
// the limit, the ages and the ids as heartbeats show them.
test("requests running: a list oldest first, unlinked from anywhere, counted by method, the oldest with their age", () => {
  let now = 1_000;
  mock.method(performance, "now", () => now);
  const activity = new Activity();
  assert.deepEqual(activity.oldest(5), []);
  const a = activity.begin("m.a", 1);
  now += 10;
  const b = activity.begin("m.b", "x".repeat(100));
  now += 10;
  const c = activity.begin("m.a", undefined);
  now += 10;
  const d = activity.begin("m.c", 4);
  now += 5;
  assert.equal(activity.inflight, 4);
  assert.deepEqual(activity.inflightByMethod(), { "m.a": 2, "m.b": 1, "m.c": 1 });
  assert.deepEqual(activity.oldest(2), [
    { method: "m.a", id: 1, ms: 35 },
    { method: "m.b", id: `${"x".repeat(64)}...`, ms: 25 },
  ]);
  activity.end(b); // a middle one
  assert.deepEqual(
    activity.oldest(10).map((r) => r.method),
    ["m.a", "m.a", "m.c"],
  );
  assert.equal(b.prev, null);
  assert.equal(b.next, null);
  activity.end(a); // the head
  assert.deepEqual(activity.oldest(10), [
    { method: "m.a", id: null, ms: 15 },
    { method: "m.c", id: 4, ms: 5 },
  ]);
  activity.end(d); // the tail
  assert.deepEqual(
    activity.oldest(10).map((r) => r.method),
    ["m.a"],
  );
  const e = activity.begin("m.e", 5); // appended after the new tail
  assert.deepEqual(
    activity.oldest(10).map((r) => r.method),
    ["m.a", "m.e"],
  );
  activity.end(c);
  activity.end(e);
  assert.equal(activity.inflight, 0);
  assert.deepEqual(activity.inflightByMethod(), {});
  assert.deepEqual(activity.oldest(10), []);
  activity.begin("m.f", 6);
  assert.deepEqual(
    activity.oldest(10).map((r) => r.method),
    ["m.f"],
    "an emptied list takes new requests",
  );
});
