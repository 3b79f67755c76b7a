/**
 * deadlineOf: the smallest of handler, meta and config wins (a bad
 * meta.timeoutMs is refused by parseRequest: test/protocol/envelope.test.ts).
 * withDeadline: settles like the work,
 * or rejects DEADLINE_EXCEEDED after calling `expired` first.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { RpcError } from "../../src/errors.ts";
import { MAX_TIMER_MS, deadlineOf, withDeadline } from "../../src/middleware/deadline.ts";

test("no deadline anywhere: Infinity", () => {
  assert.equal(deadlineOf({}, undefined, 0), Infinity);
});

test("each source alone applies", () => {
  assert.equal(deadlineOf({}, undefined, 500), 500);
  assert.equal(deadlineOf({}, 300, 0), 300);
  assert.equal(deadlineOf({ timeoutMs: 200 }, undefined, 0), 200);
});

test("the smallest of handler, meta and config wins", () => {
  assert.equal(deadlineOf({ timeoutMs: 200 }, 300, 500), 200);
  assert.equal(deadlineOf({ timeoutMs: 900 }, 300, 500), 300);
  assert.equal(deadlineOf({ timeoutMs: 900 }, 800, 500), 500);
  assert.equal(deadlineOf({ timeoutMs: 900 }, undefined, 500), 500);
  assert.equal(deadlineOf({ timeoutMs: 0.5 }, 300, 500), 0.5);
});

test("a handler timeoutMs of 0 or less is no deadline", () => {
  assert.equal(deadlineOf({}, 0, 0), Infinity);
  assert.equal(deadlineOf({}, -5, 400), 400);
});

test("withDeadline with no deadline returns the work itself", () => {
  const work = Promise.resolve(1);
  assert.equal(withDeadline(work, Infinity, { expire: () => assert.fail("expired") }), work);
});

test("work that ends in time settles as it does, and expired is not called", async () => {
  let expired = 0;
  assert.equal(await withDeadline(Promise.resolve("ok"), 1_000, { expire: () => expired++ }), "ok");
  await assert.rejects(withDeadline(Promise.reject(new Error("own")), 1_000, { expire: () => expired++ }), /own/);
  assert.equal(expired, 0);
});

test("work that outruns it rejects DEADLINE_EXCEEDED, telling the context first (the same error, and the work still running)", async () => {
  const order: string[] = [];
  let reason: unknown;
  let outliving: unknown;
  const work = new Promise<string>((resolve) => setTimeout(() => resolve("late"), 2_000).unref());
  const raced = withDeadline(work, 20, {
    expire: (r, w) => {
      reason = r;
      outliving = w;
      order.push("expired");
    },
  }).catch((error: unknown) => {
    order.push("rejected");
    return error;
  });
  const error = await raced;
  assert.deepEqual(order, ["expired", "rejected"]);
  assert.ok(RpcError.is(error));
  assert.equal((error as RpcError).code, "DEADLINE_EXCEEDED");
  assert.equal((error as RpcError).message, "deadline of 20 ms exceeded");
  assert.equal(reason, error);
  assert.equal(outliving, work, "the context is handed the work that outlives the answer");
});

test("a deadline beyond setTimeout's range (2^31-1 ms) does not fire at once", async () => {
  // deadlineOf accepts any positive meta.timeoutMs, e.g. 3e9 (about 35 days);
  // Node's setTimeout turns a delay above 2^31-1 into 1 ms (TimeoutOverflowWarning).
  const ms = deadlineOf({ timeoutMs: 3e9 }, undefined, 0);
  let expired = false;
  const work = sleep(60).then(() => "done");
  const result = await withDeadline(work, ms, { expire: () => (expired = true) }).catch((error: unknown) => error);
  assert.equal(expired, false, "expired was called");
  assert.equal(result, "done");
});

// Survivors of npm run mutate (middleware): the timer limit's edges, a
// handler timeoutMs of 0, and the refusal's message.
test("deadlineOf: exactly MAX_TIMER_MS is kept, one more is no deadline; a handler timeoutMs of 0 sets none", () => {
  assert.equal(deadlineOf({ timeoutMs: MAX_TIMER_MS }, undefined, 0), MAX_TIMER_MS);
  // setTimeout would run 2^31 ms after 1 ms: such a deadline must be none.
  assert.equal(deadlineOf({ timeoutMs: 2 ** 31 }, undefined, 0), Infinity);
  assert.equal(deadlineOf({}, 0, 0), Infinity);
  assert.equal(deadlineOf({}, 0, 500), 500);
});
