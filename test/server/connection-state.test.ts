/**
 * The connection lifecycle without a socket: every event in every state.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mayClose, reads, State, transition, type Event } from "../../src/server/connection-state.ts";

const ALL = [State.Open, State.Departing, State.GoneAway, State.Finishing, State.Closing, State.Closed];
const NAMES = ["Open", "Departing", "GoneAway", "Finishing", "Closing", "Closed"];
const name = (s: State) => NAMES[s];

function table(event: Event): string[] {
  return ALL.map((s) => `${name(s)} -> ${name(transition(s, event))}`);
}

test("leave: an open connection departs, or is sent a goaway if it used ids; later states stay", () => {
  assert.deepEqual(table({ type: "leave", usedIds: false }), ["Open -> Departing", "Departing -> Departing", "GoneAway -> GoneAway", "Finishing -> Finishing", "Closing -> Closing", "Closed -> Closed"]);
  assert.deepEqual(table({ type: "leave", usedIds: true }), ["Open -> GoneAway", "Departing -> Departing", "GoneAway -> GoneAway", "Finishing -> Finishing", "Closing -> Closing", "Closed -> Closed"]);
});

test("first-id: only a departing connection changes (it can be told now)", () => {
  assert.deepEqual(table({ type: "first-id" }), ["Open -> Open", "Departing -> GoneAway", "GoneAway -> GoneAway", "Finishing -> Finishing", "Closing -> Closing", "Closed -> Closed"]);
});

test("linger-over and finish: every reading state stops reading; closing states stay", () => {
  for (const type of ["linger-over", "finish"] as const) {
    assert.deepEqual(table({ type }), ["Open -> Finishing", "Departing -> Finishing", "GoneAway -> Finishing", "Finishing -> Finishing", "Closing -> Closing", "Closed -> Closed"], type);
  }
});

test("idle: a connection that is going away sends its FIN; an open one does not", () => {
  assert.deepEqual(table({ type: "idle" }), ["Open -> Open", "Departing -> Closing", "GoneAway -> Closing", "Finishing -> Closing", "Closing -> Closing", "Closed -> Closed"]);
});

test("closed: from anywhere", () => {
  for (const s of ALL) assert.equal(transition(s, { type: "closed" }), State.Closed);
});

test("reads and mayClose by state", () => {
  assert.deepEqual(ALL.map(reads), [true, true, true, false, false, false]);
  // Departing closes only once quiet; GoneAway waits for its linger (it becomes Finishing).
  assert.deepEqual(ALL.map((s) => mayClose(s, false)), [false, false, false, true, false, false]);
  assert.deepEqual(ALL.map((s) => mayClose(s, true)), [false, true, false, true, false, false]);
});

test("a shutdown of a client without ids that sends an id at the last moment: told, lingered, finished, closed", () => {
  let s = State.Open;
  const path = [name(s)];
  for (const e of [{ type: "leave", usedIds: false }, { type: "first-id" }, { type: "linger-over" }, { type: "idle" }, { type: "closed" }] as Event[]) {
    s = transition(s, e);
    path.push(name(s));
  }
  assert.deepEqual(path, ["Open", "Departing", "GoneAway", "Finishing", "Closing", "Closed"]);
});
