/**
 * The reader's read timeout and its pauses, on fake time (setTimeout and
 * Date from node:test's mock timers, performance.now read from the mocked
 * Date), against a socket stand-in: when the clock of a frame runs, restarts
 * and stops. The timeout is 300 ms throughout. Written for the survivors of
 * `npm run mutate -- server` (unit files only); each test names the mutants
 * of src/server/reader.ts it kills.
 */
import { mock, test } from "node:test";
import assert from "node:assert/strict";
import { useFakeClock } from "../helpers/fake-clock.ts";
import { frame } from "../helpers/wire.ts";
import type { Socket } from "node:net";
import { Pause, Reader } from "../../src/server/reader.ts";

const TIMEOUT_MS = 300;

useFakeClock();


function setup(room = Infinity) {
  const calls: string[] = [];
  const socket = { pause: () => calls.push("pause"), resume: () => calls.push("resume") } as unknown as Socket;
  const got: string[] = [];
  const timedOutAt: number[] = [];
  let left = room;
  const reader = new Reader(
    socket,
    1024,
    TIMEOUT_MS,
    (buf, start, end) => {
      got.push(buf.toString("utf8", start, end));
      return --left > 0;
    },
    (f) => assert.fail(`no fault expected: ${f.code}`),
    () => timedOutAt.push(Date.now() - 1_000),
  );
  return { reader, calls, got, timedOutAt, setRoom: (n: number) => (left = n) };
}

// Kills at reader.ts:112 (`#after`): `this.#reasons === 0` turned `false`
// (no read ever arms the timer) and `this.#frames !== framesBefore` turned
// `===` (a frame that begins in the read that finished the previous one
// keeps the previous one's start time).
test("a frame that begins in the read that finished the previous one gets its own readTimeoutMs", () => {
  const { reader, got, timedOutAt } = setup();
  const a = frame("aaaa");
  const b = frame("bbbb");
  reader.push(a.subarray(0, 6));
  mock.timers.tick(200);
  reader.push(Buffer.concat([a.subarray(6), b.subarray(0, 6)]));
  assert.deepEqual(got, ["aaaa"]);
  mock.timers.tick(299);
  assert.deepEqual(timedOutAt, [], "b began 299 ms ago");
  mock.timers.tick(1);
  assert.deepEqual(timedOutAt, [500]);
  reader.stop();
});

// Kills reader.ts:112 `this.#frames !== framesBefore` turned `true`: more
// bytes of the same frame would restart its clock, and a client trickling a
// frame a byte at a time would never be timed out. Also read-timer.ts:26
// `this.#since === 0 || fresh` turned `false || fresh`: a frame begun by a
// read that finished none never started its clock.
test("more bytes of the same frame do not restart its clock", () => {
  const { reader, timedOutAt } = setup();
  const f = frame("abcdefgh");
  reader.push(f.subarray(0, 5));
  mock.timers.tick(200);
  reader.push(f.subarray(5, 6));
  mock.timers.tick(100);
  assert.deepEqual(timedOutAt, [300]);
  reader.stop();
});

// Kills reader.ts:84 `if (this.#decoder.midFrame) this.#timer.start(true)`
// turned `false`: a client stalled mid-frame after a pause of ours was
// never timed out. And reader.ts:95, stop()'s body emptied (the timer then
// fires after stop).
test("time paused is not the client's: the clock restarts on resume mid-frame, and stop() ends it", () => {
  const { reader, timedOutAt } = setup();
  reader.push(frame("abcdef").subarray(0, 5));
  mock.timers.tick(100);
  reader.set(Pause.Output, true);
  mock.timers.tick(1_000);
  assert.deepEqual(timedOutAt, [], "paused: no timeout");
  reader.set(Pause.Output, false);
  mock.timers.tick(299);
  assert.deepEqual(timedOutAt, []);
  mock.timers.tick(1);
  assert.deepEqual(timedOutAt, [1_400], "readTimeoutMs after the resume");

  const other = setup();
  other.reader.push(frame("abcdef").subarray(0, 5));
  other.reader.stop();
  mock.timers.tick(1_000);
  assert.deepEqual(other.timedOutAt, [], "stopped");
});

// Kills reader.ts:101 `#catchUp`'s `this.#reasons === 0` turned `true`
// (reading on after the sink ran out of room again) and reader.ts:106
// `return this.#reasons === 0` turned `true` (the socket resumed while held).
test("catching up stops, and the socket stays paused, when the sink runs out of room again", () => {
  const { reader, calls, got, setRoom } = setup(1);
  reader.push(Buffer.concat([frame("a"), frame("b"), frame("c")]));
  assert.deepEqual(got, ["a"]);
  setRoom(1);
  reader.set(Pause.Held, false);
  assert.deepEqual(got, ["a", "b"]);
  assert.equal(reader.has(Pause.Held), true);
  assert.deepEqual(calls, ["pause", "pause"], "paused again, never resumed");
  setRoom(Infinity);
  reader.set(Pause.Held, false);
  assert.deepEqual(got, ["a", "b", "c"]);
  assert.deepEqual(calls, ["pause", "pause", "resume"]);
  reader.stop();
});

// Kills reader.ts:90 `this.#reasons |= Pause.Ended` turned `&=`: discard()
// on a reader with no reason set must still end reading; and reader.ts:55,
// has()'s `!== 0` turned `true`.
test("discard() ends reading even when nothing paused it", () => {
  const { reader, calls, got } = setup();
  reader.discard();
  reader.push(frame("late"));
  assert.deepEqual(got, []);
  assert.equal(reader.has(Pause.Ended), true);
  assert.equal(reader.has(Pause.Output), false);
  assert.deepEqual(calls, ["resume"]);
  reader.stop();
});
