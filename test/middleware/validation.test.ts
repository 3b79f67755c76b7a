/**
 * validate(): Standard Schema validators (zod 4, and a hand-written async
 * one) answer INVALID_PARAMS with { message, path } issues, or replace
 * ctx.request.params with the parsed value. jsonSchemaOf for introspection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { RpcError } from "../../src/errors.ts";
import type { MiddlewareContext } from "../../src/middleware/types.ts";
import { isStandardSchema, jsonSchemaOf, validate, type StandardSchema } from "../../src/middleware/validation.ts";

function fakeContext(params: unknown) {
  return {
    request: { method: "createUser", params, id: 1, meta: {} },
    response: { out: "createUser", result: undefined },
    state: {},
  } as unknown as MiddlewareContext;
}

const User = z.object({
  name: z.string().min(1),
  age: z.coerce.number().int(),
  tags: z.array(z.string()).default([]),
});

async function rejection(run: Promise<unknown>): Promise<RpcError> {
  try {
    await run;
  } catch (error) {
    assert.ok(RpcError.is(error), `not an RpcError: ${String(error)}`);
    return error;
  }
  return assert.fail("expected a rejection");
}

test("bad params: INVALID_PARAMS with every issue's message and path, and next() is not called", async () => {
  let called = false;
  const error = await rejection(validate(User)(fakeContext({ name: "", age: "x", tags: ["a", 1] }), async () => void (called = true)) as Promise<void>);
  assert.equal(called, false);
  assert.equal(error.code, "INVALID_PARAMS");
  assert.match(error.message, /createUser/);
  const issues = (error.data as { issues: Array<{ message: string; path: Array<string | number> }> }).issues;
  assert.deepEqual(issues.map((i) => i.path), [["name"], ["age"], ["tags", 1]]);
  for (const issue of issues) {
    assert.deepEqual(Object.keys(issue).sort(), ["message", "path"]);
    assert.ok(issue.message.length > 0);
  }
  assert.equal(typeof issues[2]?.path[1], "number", "array indexes stay numbers");
});

test("good params: ctx.request.params becomes the parsed value before next()", async () => {
  const ctx = fakeContext({ name: "Ann", age: "42", extra: true });
  let seen: unknown;
  await validate(User)(ctx, async () => {
    seen = ctx.request.params;
  });
  assert.deepEqual(seen, { name: "Ann", age: 42, tags: [] });
});

test("an async validator is awaited, and path segments given as { key } are unwrapped", async () => {
  const schema: StandardSchema<unknown, number> = {
    "~standard": {
      version: 1,
      vendor: "hand-made",
      validate: async (value) =>
        typeof value === "number" ? { value: value * 2 } : { issues: [{ message: "want a number", path: [{ key: "deep" }, 3, Symbol.for("s")] }] },
    },
  };
  const ctx = fakeContext(21);
  await validate(schema)(ctx, async () => {});
  assert.equal(ctx.request.params, 42);
  const error = await rejection(validate(schema)(fakeContext("x"), async () => {}) as Promise<void>);
  assert.deepEqual((error.data as { issues: unknown }).issues, [{ message: "want a number", path: ["deep", 3, "Symbol(s)"] }]);
});

test("an issue without a path has an empty one", async () => {
  const schema: StandardSchema = { "~standard": { version: 1, vendor: "x", validate: () => ({ issues: [{ message: "no" }] }) } };
  const error = await rejection(validate(schema)(fakeContext(null), async () => {}) as Promise<void>);
  assert.deepEqual((error.data as { issues: unknown }).issues, [{ message: "no", path: [] }]);
});

test("isStandardSchema knows zod schemas from other values", () => {
  assert.equal(isStandardSchema(User), true);
  assert.equal(isStandardSchema(null), false);
  assert.equal(isStandardSchema({}), false);
  assert.equal(isStandardSchema({ "~standard": { validate: "no" } }), false);
  // Kills `std !== null` turned `true` (validation.ts:15): reading null's validate would throw.
  assert.equal(isStandardSchema({ "~standard": null }), false);
});

// Kills pathOf's `p !== null` turned `true` (validation.ts:33): a validator
// written by hand may put null in a path; it is shown, not thrown on.
test("a null path segment from a hand-written validator is shown as null", async () => {
  const schema = { "~standard": { version: 1, vendor: "x", validate: () => ({ issues: [{ message: "no", path: [null, "a"] }] }) } } as unknown as StandardSchema;
  const error = await rejection(validate(schema)(fakeContext(null), async () => {}) as Promise<void>);
  assert.deepEqual((error.data as { issues: unknown }).issues, [{ message: "no", path: ["null", "a"] }]);
});

test("jsonSchemaOf: zod's JSON Schema of the input; undefined when there is none", () => {
  const json = jsonSchemaOf(User) as Record<string, any>;
  assert.equal(json.type, "object");
  assert.deepEqual(Object.keys(json.properties).sort(), ["age", "name", "tags"]);
  assert.deepEqual([...json.required].sort(), ["age", "name"], "a defaulted field is optional on input");
  assert.equal(jsonSchemaOf(undefined), undefined);
  const plain: StandardSchema = { "~standard": { version: 1, vendor: "x", validate: (v) => ({ value: v }) } };
  assert.equal(jsonSchemaOf(plain), undefined);
  assert.equal(jsonSchemaOf(z.bigint() as unknown as StandardSchema), undefined, "a type JSON Schema cannot say");
});
