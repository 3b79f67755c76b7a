/**
 * compose() and a middleware that does not await next(): the level waits for
 * the next() it called, the downstream error is the answer (and a warning is
 * logged), and no rejection is left unhandled, which would end a worker
 * (issue 10, item 4). Also: next() after the middleware returned, and the
 * one kind of step allowed to settle first (the deadline's).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { abandonsNext, compose } from "../../src/middleware/compose.ts";
import type { MiddlewareContext, MiddlewareFn } from "../../src/middleware/types.ts";

const unhandled: unknown[] = [];
const record = (reason: unknown) => unhandled.push(reason);
before(() => process.on("unhandledRejection", record));
after(() => process.off("unhandledRejection", record));

function fakeContext(warnings: string[] = []) {
  return {
    request: { method: "m", params: null, id: 1, meta: {} },
    response: { out: "m", result: undefined as unknown },
    state: {},
    handler: { name: "m", out: "m" },
    log: { warn: (message: string) => warnings.push(message) },
  } as unknown as MiddlewareContext;
}

class Coded extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** A handler that settles after `ms`, recording when. */
function slowHandler(ms: number, outcome: "resolve" | "reject", events: string[]) {
  return async () => {
    await sleep(ms);
    events.push("handler settled");
    if (outcome === "reject") throw new Coded("NOT_FOUND");
    return "value";
  };
}

/** Lets every pending rejection be seen by Node (it reports unhandled ones after the microtask queue). */
async function settleRejections(): Promise<void> {
  await sleep(20);
  await new Promise((resolve) => setImmediate(resolve));
}

const forgetful: MiddlewareFn = async (_ctx, next) => {
  void next();
};

test("a middleware that calls next() without awaiting it: the chain rejects with the handler's error, after the handler settled", async () => {
  const events: string[] = [];
  const warnings: string[] = [];
  const chain = compose([forgetful], slowHandler(50, "reject", events));
  await assert.rejects(
    chain(fakeContext(warnings)).finally(() => events.push("chain settled")),
    (error: unknown) => (error as Coded).code === "NOT_FOUND",
  );
  assert.deepEqual(events, ["handler settled", "chain settled"]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] as string, /middleware 0 returned before the next\(\) it called settled/);
  await settleRejections();
  assert.deepEqual(unhandled, []);
});

test("the same middleware with a handler that succeeds: the chain resolves after it, with its value", async () => {
  const events: string[] = [];
  const ctx = fakeContext();
  await compose([forgetful], slowHandler(50, "resolve", events))(ctx).then(() => events.push("chain settled"));
  assert.deepEqual(events, ["handler settled", "chain settled"]);
  assert.equal(ctx.response.result, "value");
});

test("a plain (non-async) function that calls next() and returns nothing is waited for too", async () => {
  const events: string[] = [];
  // What plain JS can pass, though the type asks for a promise.
  const plain = ((_ctx: MiddlewareContext, next: () => Promise<void>) => {
    void next();
  }) as unknown as MiddlewareFn;
  await assert.rejects(compose([plain], slowHandler(30, "reject", events))(fakeContext()), /NOT_FOUND/);
  assert.deepEqual(events, ["handler settled"]);
  await settleRejections();
  assert.deepEqual(unhandled, []);
});

test("middleware outside a forgetful one see the true outcome after their await next()", async () => {
  const seen: string[] = [];
  const outer: MiddlewareFn = async (_ctx, next) => {
    try {
      await next();
      seen.push("ok");
    } catch (error) {
      seen.push(`caught ${(error as Coded).code}`);
      throw error;
    }
  };
  const events: string[] = [];
  await assert.rejects(compose([outer, forgetful, forgetful], slowHandler(30, "reject", events))(fakeContext()), /NOT_FOUND/);
  assert.deepEqual(seen, ["caught NOT_FOUND"]);
  assert.deepEqual(events, ["handler settled"]);
});

test("a forgetful middleware that fails itself answers its own error, once the handler settled", async () => {
  const events: string[] = [];
  const failing: MiddlewareFn = async (_ctx, next) => {
    void next();
    throw new Coded("PERMISSION_DENIED");
  };
  await assert.rejects(
    compose([failing], slowHandler(30, "reject", events))(fakeContext()).finally(() => events.push("chain settled")),
    /PERMISSION_DENIED/,
  );
  assert.deepEqual(events, ["handler settled", "chain settled"]);
  await settleRejections();
  assert.deepEqual(unhandled, []);
});

test("a handler that throws at once under a forgetful middleware is answered, not left unhandled", async () => {
  const boom = () => {
    throw new Coded("INTERNAL_BOOM");
  };
  await assert.rejects(compose([forgetful], boom)(fakeContext()), /INTERNAL_BOOM/);
  const asyncBoom = async () => {
    throw new Coded("ASYNC_BOOM");
  };
  await assert.rejects(compose([forgetful], asyncBoom)(fakeContext()), /ASYNC_BOOM/);
  await settleRejections();
  assert.deepEqual(unhandled, []);
});

test("a middleware that resolves although its next() failed, writing no answer, is answered with the error", async () => {
  const warnings: string[] = [];
  // Fails before the middleware above returns: timing alone cannot tell this from a caught error.
  const quick: MiddlewareFn = async () => {
    throw new Coded("UNAUTHENTICATED");
  };
  await assert.rejects(compose([forgetful, quick], () => "never")(fakeContext(warnings)), /UNAUTHENTICATED/);
  assert.match(warnings.join("\n"), /middleware 0 resolved although the next\(\) it called failed/);
  const swallow: MiddlewareFn = async (_ctx, next) => {
    await next().catch(() => {});
  };
  await assert.rejects(compose([swallow], slowHandler(5, "reject", []))(fakeContext()), /NOT_FOUND/);
  await settleRejections();
  assert.deepEqual(unhandled, []);
});

test("a middleware that awaits next() and catches the error keeps its answer (no false late warning)", async () => {
  const warnings: string[] = [];
  const recover: MiddlewareFn = async (ctx, next) => {
    try {
      await next();
    } catch {
      ctx.response.result = "recovered";
    }
  };
  const ctx = fakeContext(warnings);
  await compose([recover], slowHandler(10, "reject", []))(ctx);
  assert.equal(ctx.response.result, "recovered");
  assert.deepEqual(warnings, []);
});

test("next() called after the middleware returned is refused and runs nothing", async () => {
  let runs = 0;
  let refused: unknown;
  const warnings: string[] = [];
  const deferred: MiddlewareFn = async (_ctx, next) => {
    setTimeout(() => next().catch((error: unknown) => (refused = error)), 5);
  };
  await compose([deferred], () => ++runs)(fakeContext(warnings));
  await sleep(30);
  assert.equal(runs, 0);
  assert.match(String(refused), /after it returned/);
  assert.match(warnings.join("\n"), /after it returned/);
  await settleRejections();
  assert.deepEqual(unhandled, []);
});

test("a step marked abandonsNext may settle first (the deadline), and the late rejection below it stays handled", async () => {
  const events: string[] = [];
  const cut = abandonsNext(async (_ctx, next) => {
    await Promise.race([next(), sleep(10)]);
    throw new Coded("DEADLINE_EXCEEDED");
  });
  await assert.rejects(compose([cut], slowHandler(60, "reject", events))(fakeContext()).finally(() => events.push("chain settled")), /DEADLINE/);
  assert.deepEqual(events, ["chain settled"]);
  await sleep(80);
  assert.deepEqual(events, ["chain settled", "handler settled"]);
  await settleRejections();
  assert.deepEqual(unhandled, []);
});
