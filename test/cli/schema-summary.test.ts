/** The one-line params summary `forkrpc list` prints from a JSON Schema. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { schemaSummary } from "../../src/cli/schema-summary.ts";

const fromZod = (schema: z.ZodType) => schemaSummary(z.toJSONSchema(schema, { io: "input" }));

test("the example plugins' schemas", () => {
  const greet = z.object({ name: z.string().min(1).max(100), language: z.enum(["en", "fr", "zh"]).default("en") });
  assert.equal(fromZod(greet), '{name: string, language?: "en"|"fr"|"zh"}');
  assert.equal(fromZod(z.array(z.number().finite()).max(10_000)), "number[]");
});

test("unions, nullables, literals, tuples, records, nesting", () => {
  assert.equal(fromZod(z.union([z.string(), z.number()])), "string|number");
  assert.equal(fromZod(z.string().nullable()), "string|null");
  assert.equal(fromZod(z.literal("on")), '"on"');
  assert.equal(fromZod(z.array(z.union([z.string(), z.boolean()]))), "(string|boolean)[]");
  assert.equal(fromZod(z.tuple([z.string(), z.int()])), "[string, integer]");
  assert.equal(fromZod(z.record(z.string(), z.number())), "Record<string, number>");
  assert.equal(fromZod(z.object({ "a-b": z.string(), c: z.object({ d: z.object({ e: z.object({ f: z.string() }) }) }) })), '{"a-b": string, c: {d: {e: {...}}}}');
  assert.equal(fromZod(z.array(z.object({ x: z.number() }).nullable())), "({x: number}|null)[]");
});

test("schemas it cannot read are any, never an exception", () => {
  for (const schema of [undefined, true, {}, { type: "weird" }, null, 42, [], { anyOf: "x" }]) {
    assert.equal(typeof schemaSummary(schema), "string");
  }
  assert.equal(schemaSummary(true), "any");
  assert.equal(schemaSummary({ $ref: "#/$defs/User" }), "User");
});
