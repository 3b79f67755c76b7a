/**
 * What a client has not taken, and the write timeout, against a socket
 * stand-in whose buffer the test controls.
 */
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { Output } from "../../src/server/output.ts";

function fakeSocket() {
  const state = { writableLength: 0, writableNeedDrain: false, destroyed: false, writable: true, written: [] as Buffer[] };
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
  out.answers.fill(out.answers.expect(true), "small");
  out.soon();
  out.soon();
  process.nextTick(() => order.push("tick"));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ["tick", "flush 5"], "one flush, after this event's ticks: answers of other reads of the turn join it");

  order.length = 0;
  setImmediate(() => order.push("immediate"));
  out.answers.fill(out.answers.expect(true), "x".repeat(16 * 1024));
  out.soon();
  out.soon();
  await new Promise<void>((resolve) => setImmediate(resolve));
  // Kept until the turn's end, a 16 KB answer per connection survived scavenges (0.65x requests/s at 512 connections).
  assert.deepEqual(order, ["flush 16384", "immediate"], "one flush, before the turn's end");
});
