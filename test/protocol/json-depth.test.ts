import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { exceedsDepth } from "../../src/protocol/json-depth.ts";

/** The true nesting depth of a JSON value: 0 for a scalar, 1 + the deepest child for arrays and objects. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) deepest = Math.max(deepest, depthOf(child));
  return 1 + deepest;
}

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8");

// Strings full of the characters the scanner must understand: brackets,
// quotes and backslashes (JSON.stringify escapes the last two).
const trickyUnit = fc.constantFrom("[", "]", "{", "}", '"', "\\", "a", "é", "😀", "\n");
const jsonValues = fc.oneof(
  fc.jsonValue({ maxDepth: 8 }),
  fc.jsonValue({ maxDepth: 8, stringUnit: trickyUnit }),
  fc.jsonValue({ maxDepth: 6, stringUnit: "binary" }),
);

test("property: exceedsDepth agrees with the true depth of any JSON value, for several limits", () => {
  fc.assert(
    fc.property(jsonValues, (value) => {
      const body = bytes(value);
      const depth = depthOf(value);
      for (const max of [0, 1, 2, 3, 4, 5, 8, 16, 512]) {
        assert.equal(exceedsDepth(body, max), depth > max, `depth ${depth}, limit ${max}: ${JSON.stringify(value)}`);
      }
    }),
    { numRuns: 250 },
  );
});

/** Wraps a value in `levels` arrays or objects, chosen by the bits of `shape`. */
function wrap(value: unknown, levels: number, shape: number[]): unknown {
  let v = value;
  for (let i = 0; i < levels; i++) v = shape[i % shape.length]! % 2 === 0 ? [v] : { k: v };
  return v;
}

test("property: deep values (hundreds of levels) are judged exactly at the limit, one above and one below", () => {
  fc.assert(
    fc.property(
      fc.jsonValue({ maxDepth: 3, stringUnit: trickyUnit }),
      fc.integer({ min: 1, max: 700 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
      (inner, levels, shape) => {
        const value = wrap(inner, levels, shape);
        const body = bytes(value);
        const depth = depthOf(value);
        assert.equal(exceedsDepth(body, depth), false, `depth ${depth} at limit ${depth}`);
        assert.equal(exceedsDepth(body, depth - 1), true, `depth ${depth} at limit ${depth - 1}`);
        assert.equal(exceedsDepth(body, depth + 1), false);
        assert.equal(exceedsDepth(body, 512), depth > 512);
      },
    ),
    { numRuns: 150 },
  );
});

test("scalars have depth 0; [] and {} have depth 1", () => {
  for (const scalar of ["1", '"x"', "null", "true", '"[[[["']) {
    assert.equal(exceedsDepth(Buffer.from(scalar), 0), false, scalar);
  }
  assert.equal(exceedsDepth(Buffer.from("[]"), 0), true);
  assert.equal(exceedsDepth(Buffer.from("{}"), 0), true);
  assert.equal(exceedsDepth(Buffer.from("[]"), 1), false);
  assert.equal(exceedsDepth(Buffer.from("[[]]"), 1), true);
  assert.equal(exceedsDepth(Buffer.from("[{},[],{}]"), 1), true);
  assert.equal(exceedsDepth(Buffer.from("[{},[],{}]"), 2), false);
});

test("siblings do not add up: many shallow containers are not deep", () => {
  const wide = JSON.stringify(Array.from({ length: 2000 }, () => [{}]));
  assert.equal(exceedsDepth(Buffer.from(wide), 3), false);
  assert.equal(exceedsDepth(Buffer.from(wide), 2), true);
});

test("brackets inside strings, next to escaped quotes and backslashes, are not nesting", () => {
  const cases: Array<[string, number]> = [
    [JSON.stringify(["[[[[[[[[[["]), 1],
    [JSON.stringify({ "{{{{{{": "[[[[[[" }), 1],
    [JSON.stringify(['"[[[[[[[[', "\\"]), 1],
    [JSON.stringify(["\\", [[[]]]]), 4],
    [JSON.stringify(["\\\\\\", "\\\"[[[[[[", [[]]]), 3],
  ];
  for (const [text, depth] of cases) {
    const body = Buffer.from(text);
    assert.equal(exceedsDepth(body, depth), false, `${text} at ${depth}`);
    assert.equal(exceedsDepth(body, depth - 1), true, `${text} at ${depth - 1}`);
  }
});
