/**
 * ReadTimer on fake time: setTimeout from node:test's mock timers, and
 * performance.now read from the mocked Date so that both move together.
 * The timeout is 300 ms throughout.
 */
import { mock, test } from "node:test";
import assert from "node:assert/strict";
import { useFakeClock } from "../helpers/fake-clock.ts";
import { ReadTimer } from "../../src/server/read-timer.ts";

const TIMEOUT_MS = 300;

useFakeClock();

/** A timer whose expiries are recorded as fake times. */
function timer(): { rt: ReadTimer; expiredAt: number[] } {
  const expiredAt: number[] = [];
  const rt = new ReadTimer(TIMEOUT_MS, () => expiredAt.push(Date.now() - 1_000));
  return { rt, expiredAt };
}

test("a frame left unfinished expires readTimeoutMs after it began, not before", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  mock.timers.tick(TIMEOUT_MS - 1);
  assert.deepEqual(expiredAt, []);
  mock.timers.tick(1);
  assert.deepEqual(expiredAt, [TIMEOUT_MS]);
});

test("more bytes of the same frame do not restart its clock", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  mock.timers.tick(200);
  rt.watch(true, false);
  mock.timers.tick(100);
  assert.deepEqual(expiredAt, [TIMEOUT_MS]);
});

// Mutant this kills (issue 18, survivor 1): `this.start(this.#since === 0 || fresh)`
// changed to `this.start(this.#since === 0)`. Then frame B, begun in the read
// that finished frame A, kept A's start time and expired at 300 ms although
// no frame had taken 300 ms.
test("a frame that begins in the read that finished the previous one is timed from that read", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true); // t=0: A begins
  mock.timers.tick(200);
  rt.watch(true, true); // t=200: A ends, B begins in the same read
  mock.timers.tick(150);
  assert.deepEqual(expiredAt, [], "B is 150 ms old at t=350");
  rt.watch(true, true); // t=350: B ends, C begins
  mock.timers.tick(200);
  rt.watch(false, true); // t=550: C ends, nothing partial
  mock.timers.tick(2_000);
  assert.deepEqual(expiredAt, [], "no frame took 300 ms");
});

test("a frame begun mid-read that then stalls expires 300 ms after that read", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true); // t=0: A begins
  mock.timers.tick(200);
  rt.watch(true, true); // t=200: A ends, B begins and stalls
  mock.timers.tick(299);
  assert.deepEqual(expiredAt, []);
  mock.timers.tick(1);
  assert.deepEqual(expiredAt, [200 + TIMEOUT_MS]);
});

test("no partial frame: the timer that fires finds nothing to time", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  mock.timers.tick(100);
  rt.watch(false, true);
  mock.timers.tick(5_000);
  assert.deepEqual(expiredAt, []);
});

test("stopped while the server does not read: a restart counts from the resume", () => {
  const { rt, expiredAt } = timer();
  rt.watch(true, true);
  mock.timers.tick(200);
  rt.stop();
  mock.timers.tick(1_000);
  assert.deepEqual(expiredAt, [], "not while stopped");
  rt.start(true); // t=1200: resumed mid-frame
  mock.timers.tick(TIMEOUT_MS - 1);
  assert.deepEqual(expiredAt, []);
  mock.timers.tick(1);
  assert.deepEqual(expiredAt, [1_200 + TIMEOUT_MS]);
});
