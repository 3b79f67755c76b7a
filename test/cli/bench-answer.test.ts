/**
 * How the load generator reads answers without parsing them: the quick
 * byte checks agree with JSON.parse on every answer forkrpc writes, and
 * anything else takes the slow path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ERROR, GOAWAY, inspect, OK, quickId, quickKind } from "../../src/cli/bench/answer.ts";
import { ID_BASE } from "../../src/cli/bench/messages.ts";
import { encodeError, encodeGoaway, encodeResponse } from "../../src/protocol/envelope.ts";

const body = (text: string) => Buffer.from(`xx${text}yy`); // a frame in the middle of a read
const kind = (text: string) => quickKind(body(text), 2, 2 + Buffer.byteLength(text));
const id = (text: string) => quickId(body(text), 2, 2 + Buffer.byteLength(text));

test("forkrpc's own answers: the quick kind and id agree with the parsed answer", () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.jsonValue(), fc.integer({ min: 0, max: 4095 }), fc.boolean(), (out, result, slot, withId) => {
      const text = encodeResponse(JSON.stringify(out), result, withId ? ID_BASE + slot : undefined);
      const parsed = inspect(Buffer.from(text), 0, Buffer.byteLength(text));
      const quick = kind(text);
      assert.equal(quick, parsed.kind === OK ? OK : parsed.kind);
      assert.equal(id(text), withId ? ID_BASE + slot : -1);
    }),
  );
});

test("errors and goaways", () => {
  const error = encodeError({ code: "METHOD_NOT_FOUND", message: "no" }, ID_BASE + 7);
  assert.equal(kind(error), ERROR);
  assert.equal(id(error), ID_BASE + 7);
  assert.deepEqual(inspect(Buffer.from(error), 0, error.length), { kind: ERROR, code: "METHOD_NOT_FOUND", id: ID_BASE + 7 });
  const goaway = encodeGoaway("shutting down");
  assert.equal(kind(goaway), GOAWAY);
  assert.equal(inspect(Buffer.from(goaway), 0, goaway.length).kind, GOAWAY);
});

test("answers written otherwise take the slow path; non-answers are BAD_RESPONSE", () => {
  assert.equal(kind('{ "out": "pong", "result": 1 }'), -1);
  assert.equal(id('{"out":"pong","result":1,"id":12}'), -1, "not one of our ids");
  assert.equal(id('{"out":"pong","id":1000001,"result":1}'), -1, "id not last");
  const spaced = '{ "out": "error", "result": { "code": "X", "message": "m" }, "id": 1000003 }';
  assert.deepEqual(inspect(Buffer.from(spaced), 0, spaced.length), { kind: ERROR, code: "X", id: 1_000_003 });
  for (const bad of ["nope", "[1]", '{"result":1}', '{"out":"error","result":1}']) {
    assert.equal(inspect(Buffer.from(bad), 0, bad.length).code, "BAD_RESPONSE", bad);
  }
});
