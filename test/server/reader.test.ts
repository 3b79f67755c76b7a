/**
 * The reader's set of reasons not to read, against a socket stand-in that
 * records pause() and resume(): no socket, no timers that fire.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { Pause, Reader } from "../../src/server/reader.ts";
import type { Fault } from "../../src/protocol/codes.ts";

function frames(...bodies: string[]): Buffer {
  return Buffer.concat(
    bodies.map((b) => {
      const p = Buffer.alloc(4);
      p.writeUInt32LE(Buffer.byteLength(b));
      return Buffer.concat([p, Buffer.from(b)]);
    }),
  );
}

function setup(stopAfter = Infinity) {
  const calls: string[] = [];
  const socket = { pause: () => calls.push("pause"), resume: () => calls.push("resume") } as unknown as Socket;
  const got: string[] = [];
  const faults: Fault[] = [];
  let room = stopAfter;
  const reader = new Reader(
    socket,
    1024,
    60_000,
    (buf, start, end) => {
      got.push(buf.toString("utf8", start, end));
      return --room > 0;
    },
    (f) => faults.push(f),
    () => assert.fail("no read timeout in these tests"),
  );
  return { reader, calls, got, faults, setRoom: (n: number) => (room = n) };
}

test("reasons add up: the socket pauses on the first and resumes only when the last is gone", () => {
  const { reader, calls } = setup();
  reader.set(Pause.Output, true);
  reader.set(Pause.Owed, true);
  reader.set(Pause.Output, false);
  assert.equal(reader.paused, true);
  assert.deepEqual(calls, ["pause"]);
  reader.set(Pause.Owed, false);
  assert.equal(reader.paused, false);
  assert.deepEqual(calls, ["pause", "resume"]);
  // Setting what is already set changes nothing.
  reader.set(Pause.Owed, false);
  assert.deepEqual(calls, ["pause", "resume"]);
  reader.stop();
});

test("a sink that runs out of room holds the rest of the chunk, pauses, and reads it in order once the hold is lifted", () => {
  const { reader, calls, got, setRoom } = setup(2);
  reader.push(frames("a", "b", "c", "d"));
  assert.deepEqual(got, ["a", "b"]);
  assert.ok(reader.has(Pause.Held));
  assert.deepEqual(calls, ["pause"]);
  // A chunk that still arrives waits behind the held rest.
  reader.push(frames("e"));
  assert.deepEqual(got, ["a", "b"]);
  setRoom(Infinity);
  reader.set(Pause.Held, false);
  assert.deepEqual(got, ["a", "b", "c", "d", "e"]);
  assert.deepEqual(calls, ["pause", "resume"]);
  reader.stop();
});

test("lifting the hold while another reason stands reads nothing", () => {
  const { reader, got } = setup(1);
  reader.push(frames("a", "b"));
  reader.set(Pause.Output, true);
  reader.set(Pause.Held, false);
  assert.deepEqual(got, ["a"]);
  reader.set(Pause.Output, false);
  assert.deepEqual(got, ["a", "b"]);
  reader.stop();
});

test("once ended, chunks are dropped; discard() keeps the socket flowing so the peer's FIN is seen", () => {
  const { reader, calls, got } = setup();
  reader.set(Pause.Ended, true);
  reader.push(frames("late"));
  assert.deepEqual(got, []);
  reader.discard();
  assert.deepEqual(calls, ["pause", "resume"]);
  reader.set(Pause.Output, false);
  assert.equal(reader.paused, true);
  reader.stop();
});

test("a framing fault is reported and nothing after it is delivered", () => {
  const { reader, got, faults } = setup();
  const bad = Buffer.alloc(4);
  bad.writeUInt32LE(0);
  reader.push(Buffer.concat([frames("ok"), bad, frames("after")]));
  assert.deepEqual(got, ["ok"]);
  assert.equal(faults[0]?.code, "BAD_FRAME");
  reader.stop();
});
