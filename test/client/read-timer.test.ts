/**
 * The client's ReadTimer (src/client/read-timer.ts) on fake time, as
 * test/server/read-timer.test.ts does the server's: setTimeout from
 * node:test's mock timers, performance.now read from the mocked Date. The
 * timeout is 300 ms throughout. test/client/read-timeout.test.ts holds the
 * same rule end to end against a stalling server; these name the mutants of
 * `npm run mutate -- client` each one kills.
 */
import { mock, test } from "node:test";
import assert from "node:assert/strict";
import { useFakeClock } from "../helpers/fake-clock.ts";
import { ReadTimer } from "../../src/client/read-timer.ts";

const TIMEOUT_MS = 300;

useFakeClock();

function timer(): { rt: ReadTimer; expiredAt: number[] } {
  const expiredAt: number[] = [];
  const rt = new ReadTimer(TIMEOUT_MS, () => expiredAt.push(Date.now() - 1_000));
  return { rt, expiredAt };
}

// Kills `left <= 0` turned `left < 0` (line 51): at exactly readTimeoutMs the frame is late.
test("a frame left unfinished expires exactly readTimeoutMs after it began", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  mock.timers.tick(TIMEOUT_MS - 1);
  assert.deepEqual(expiredAt, []);
  mock.timers.tick(1);
  assert.deepEqual(expiredAt, [TIMEOUT_MS]);
});

// Kills `this.#since === 0 || began` turned `true` (line 35): more bytes of
// the same frame do not restart its clock.
test("more bytes of the same frame do not restart its clock", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  mock.timers.tick(200);
  rt.watch(true, false);
  mock.timers.tick(100);
  assert.deepEqual(expiredAt, [TIMEOUT_MS]);
});

// The history the server's survivor 1 of issue 18 was about: a frame that
// begins in the read that completed the one before gets its own clock.
test("a frame that begins in the read that finished the previous one gets a clock of its own", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  mock.timers.tick(250);
  rt.watch(true, true);
  mock.timers.tick(100);
  assert.deepEqual(expiredAt, [], "the second frame is 100 ms old, not 350");
  mock.timers.tick(199);
  assert.deepEqual(expiredAt, []);
  mock.timers.tick(1);
  assert.deepEqual(expiredAt, [250 + TIMEOUT_MS]);
});

// Kills `if (!midFrame)` turned `false` or its block emptied (line 31), and
// the timer's `#since === 0` check turned `false` (line 49): once no frame
// is partly received, the armed timer finds nothing late.
test("a frame finished before the timer fires is not late, and the next one starts afresh", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  mock.timers.tick(200);
  rt.watch(false, false);
  mock.timers.tick(500);
  assert.deepEqual(expiredAt, []);
  rt.watch(true, false);
  mock.timers.tick(TIMEOUT_MS - 1);
  assert.deepEqual(expiredAt, [], "a frame begun after an idle gap has its own readTimeoutMs");
  mock.timers.tick(1);
  assert.deepEqual(expiredAt, [700 + TIMEOUT_MS]);
});

// Kills stop()'s body emptied and its `#timer !== null` turned over (lines
// 39-41): a stopped timer never fires, and can be armed again.
test("stop: nothing fires after it, and the timer can be armed again", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  rt.stop();
  rt.stop();
  mock.timers.tick(TIMEOUT_MS * 3);
  assert.deepEqual(expiredAt, []);
  rt.watch(true, true);
  mock.timers.tick(TIMEOUT_MS);
  assert.deepEqual(expiredAt, [TIMEOUT_MS * 4]);
});
