/**
 * What a client has not taken, and the write timeout, against a socket
 * stand-in whose buffer the test controls.
 */
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { Output } from "../../src/server/output.ts";

function fakeSocket() {
  const state = { writableLength: 0, writableNeedDrain: false, destroyed: false, writable: true, written: [] as Buffer[], ended: [] as (Buffer | undefined)[] };
  const socket = {
    get writableLength() {
      return state.writableLength;
    },
    get writableNeedDrain() {
      return state.writableNeedDrain;
    },
    get destroyed() {
      return state.destroyed;
    },
    get writable() {
      return state.writable;
    },
    write(b: Buffer) {
      state.written.push(b);
      state.writableLength += b.length;
      state.writableNeedDrain = state.writableLength >= 16 * 1024;
      return !state.writableNeedDrain;
    },
    end(b?: Buffer) {
      state.ended.push(b);
    },
  } as unknown as Socket;
  return { socket, state };
}

test("room in a read: what the socket holds plus the answers produced, against maxWriteBufferBytes", () => {
  const { socket, state } = fakeSocket();
  const out = new Output(socket, { maxWriteBufferBytes: 1000, writeTimeoutMs: 0 }, () => assert.fail("stalled"), () => {});
  state.writableLength = 600;
  out.startRead();
  out.answers.now("x".repeat(300), true);
  assert.equal(out.roomLeft, true);
  out.answers.now("x".repeat(100), true);
  assert.equal(out.roomLeft, false, "600 held by the socket + 400 ready reach the limit");
  assert.equal(out.full, true);
});

test("answers waiting behind a slow no-id request count as held", () => {
  const { socket } = fakeSocket();
  const out = new Output(socket, { maxWriteBufferBytes: 1000, writeTimeoutMs: 0 }, () => {}, () => {});
  out.startRead();
  const slot = out.answers.expect(false);
  out.answers.now("y".repeat(999), false);
  assert.equal(out.answers.hasBatch, false, "it waits behind the slow one");
  assert.equal(out.answers.heldChars, 999);
  assert.equal(out.roomLeft, true);
  out.answers.now("z", false);
  assert.equal(out.roomLeft, false);
  out.answers.fill(slot, "slow");
  assert.equal(out.write(), true);
  assert.equal(out.answers.heldChars, 0);
});

test("writeTimeoutMs: a client that takes nothing is stalled; one that takes a little is not", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { socket, state } = fakeSocket();
    let stalled = 0;
    const out = new Output(socket, { maxWriteBufferBytes: 1 << 20, writeTimeoutMs: 1000 }, () => stalled++, () => {});
    out.answers.now("a".repeat(20_000), true);
    assert.equal(out.write(), true);
    assert.equal(state.writableNeedDrain, true);
    mock.timers.tick(999);
    assert.equal(stalled, 0);
    // The client took some bytes: progress, so another period.
    state.writableLength -= 100;
    mock.timers.tick(1);
    assert.equal(stalled, 0);
    mock.timers.tick(1000);
    assert.equal(stalled, 1, "no progress for a whole period");
    // A drain ends the watch.
    out.answers.now("b".repeat(20_000), true);
    out.write();
    out.drained();
    mock.timers.tick(5000);
    assert.equal(stalled, 1);
  } finally {
    mock.timers.reset();
  }
});

test("a later answer: small ones wait for the turn's end, a write's worth (16 KB) leaves at the end of this event", async () => {
  const order: string[] = [];
  const { socket } = fakeSocket();
  const out = new Output(socket, { maxWriteBufferBytes: 1 << 20, writeTimeoutMs: 0 }, () => {}, () => {
    order.push(`flush ${out.answers.readyChars}`);
    out.write();
  });
  /** One later answer, soon() called twice, and the order of flush, this event's ticks and the turn's end. */
  const answer = async (text: string): Promise<string[]> => {
    order.length = 0;
    out.answers.fill(out.answers.expect(true), text);
    out.soon();
    out.soon();
    process.nextTick(() => order.push("tick"));
    setImmediate(() => order.push("immediate"));
    await new Promise<void>((resolve) => setImmediate(resolve));
    return [...order];
  };
  assert.deepEqual(await answer("small"), ["tick", "flush 5", "immediate"], "one flush, after this event's ticks: answers of other reads of the turn join it");
  // Kept until the turn's end, a 16 KB answer per connection survived scavenges (0.65x requests/s at 512 connections).
  assert.deepEqual(await answer("x".repeat(16 * 1024)), ["flush 16384", "tick", "immediate"], "one flush, before the turn's end");
  // And again for the next one: the flag is cleared by the flush (kills
  // `#flushNowQueued = false` turned `true` in #flushNow).
  assert.deepEqual(await answer("y".repeat(16 * 1024)), ["flush 16384", "tick", "immediate"], "the second 16 KB answer leaves before the turn's end too");
});

/** The frame bodies in a written buffer (4-byte little-endian length prefix). */
function bodies(buf: Buffer | undefined): string[] {
  const out: string[] = [];
  for (let at = 0; buf !== undefined && at < buf.length; ) {
    const n = buf.readUInt32LE(at);
    out.push(buf.toString("utf8", at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

// Kills, in output.ts: `full`'s whole condition turned `true` (line 56);
// write()'s "nothing to write" check turned `false` (62); `extra` not
// appended (64 turned `false`); the closed-socket check turned `false` or
// `destroyed && !writable` (65); and end() with no coverage before.
test("write() sends the ready answers and `extra` in one go, nothing when there is nothing, and not on a closed socket; end() sends the rest", () => {
  const { socket, state } = fakeSocket();
  const out = new Output(socket, { maxWriteBufferBytes: 1000, writeTimeoutMs: 0 }, () => assert.fail("stalled"), () => {});
  assert.equal(out.full, false, "an empty socket and no answers");
  assert.equal(out.write(), false);
  assert.equal(state.written.length, 0);
  assert.equal(out.write("goaway"), true);
  assert.deepEqual(bodies(state.written[0]), ["goaway"]);
  out.answers.now("a", true);
  out.answers.now("b", true);
  assert.equal(out.write("notice"), true);
  assert.deepEqual(bodies(state.written[1]), ["a", "b", "notice"]);
  state.writable = false;
  out.answers.now("c", true);
  assert.equal(out.write(), false, "not writable");
  assert.equal(out.answers.owed, 0, "the answers are dropped all the same");
  state.writable = true;
  state.destroyed = true;
  out.answers.now("d", true);
  assert.equal(out.write(), false, "destroyed");
  assert.equal(state.written.length, 2);
  state.destroyed = false;
  out.answers.now("e", true);
  out.end("bye");
  assert.deepEqual(bodies(state.ended[0]), ["e", "bye"]);
  out.end(null);
  assert.deepEqual(state.ended[1], undefined, "nothing left: a bare end()");
  assert.equal(state.ended.length, 2);
});

// Kills, in output.ts: `#handed += bytes.length` turned `-=` (67) and
// `#taken()`'s `handed - writableLength` turned `+` (100): both count our
// own later writes as the client's progress. And #check's
// `writableLength === 0` return turned `false` (105): a socket that emptied
// without a 'drain' reaching us is then taken for a stalled client.
test("writeTimeoutMs: our own later writes are not the client's progress; an emptied socket is not a stall", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { socket } = fakeSocket();
    let stalled = 0;
    const out = new Output(socket, { maxWriteBufferBytes: 1 << 20, writeTimeoutMs: 1000 }, () => stalled++, () => {});
    writeTwiceHalfAPeriodApart(out);
    mock.timers.tick(500);
    assert.equal(stalled, 1, "the client took nothing for writeTimeoutMs");

    const other = fakeSocket();
    let otherStalled = 0;
    const out2 = new Output(other.socket, { maxWriteBufferBytes: 1 << 20, writeTimeoutMs: 1000 }, () => otherStalled++, () => {});
    out2.answers.now("a".repeat(20_000), true);
    out2.write();
    other.state.writableLength = 0;
    // One tick per period: a timer set while tick() runs fires on a later tick.
    for (let i = 0; i < 5; i++) mock.timers.tick(1000);
    assert.equal(otherStalled, 0);
  } finally {
    mock.timers.reset();
  }
});

// Kills, in #watchProgress (output.ts:94): the `#timer !== null` guard
// turned `false` (a second watch for the same stall, so stalled() twice),
// and `writeTimeoutMs <= 0` turned `< 0`, `false` or joined with `&&` (0
// means no write timeout).
test("writeTimeoutMs: one watch at a time, and 0 means none", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { socket } = fakeSocket();
    let stalled = 0;
    const out = new Output(socket, { maxWriteBufferBytes: 1 << 20, writeTimeoutMs: 1000 }, () => stalled++, () => {});
    writeTwiceHalfAPeriodApart(out);
    for (let i = 0; i < 5; i++) mock.timers.tick(1000);
    assert.equal(stalled, 1, "stalled once");

    const other = fakeSocket();
    const out2 = new Output(other.socket, { maxWriteBufferBytes: 1 << 20, writeTimeoutMs: 0 }, () => assert.fail("no write timeout"), () => {});
    out2.answers.now("a".repeat(20_000), true);
    out2.write();
    for (let i = 0; i < 5; i++) mock.timers.tick(1000);
  } finally {
    mock.timers.reset();
  }
});

/** Two 20 KB answers written 500 ms apart (mock timers), the socket taking neither. */
function writeTwiceHalfAPeriodApart(out: Output): void {
  out.answers.now("a".repeat(20_000), true);
  out.write();
  mock.timers.tick(500);
  out.answers.now("b".repeat(20_000), true);
  out.write();
}
