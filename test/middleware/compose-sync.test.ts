/**
 * compose()'s bookkeeping (src/middleware/compose.ts) where the other
 * compose files do not look: synchronous middleware and terminals (no
 * promise at all), a chain without middleware, a level's "settled" flag that
 * keeps a correct middleware from being warned about, recovery from a
 * failed next(), skipped steps, and what counts as a thenable. Written for
 * the survivors of `npm run mutate -- middleware`; each test names the
 * mutants it kills.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compose, isThenable, skippedWhen } from "../../src/middleware/compose.ts";
import { deadlineStep } from "../../src/middleware/deadline.ts";
import type { MiddlewareContext, Next } from "../../src/middleware/types.ts";

function context(deadlineMs = Infinity) {
  const warnings: string[] = [];
  const ctx = {
    log: { warn: (message: string) => warnings.push(message) },
    request: { method: "m", params: null, id: 1, meta: {} },
    response: { out: "m", result: undefined as unknown },
    state: {},
    handler: { name: "m", out: "m" },
    deadlineMs,
    expire() {},
  } as unknown as MiddlewareContext;
  return { ctx, warnings };
}

type Step = (ctx: MiddlewareContext, next: Next) => Promise<void>;
/** A middleware that returns nothing: compose() must not need a promise from it. */
const sync = (fn: (ctx: MiddlewareContext, next: Next) => void) => fn as unknown as Step;
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

// Kills the synchronous fast path (compose.ts:93) turned `false`, each of its
// conditions turned over (`twice !== null`, `level.failed`, the `||`s made
// `&&`), and `level.closed = true` there turned `false`: a next() kept by a
// synchronous middleware is refused from the moment it returned.
test("a synchronous middleware that keeps next() and calls it after returning: refused at once", async () => {
  const { ctx, warnings } = context();
  let kept: Next | null = null;
  let ran = 0;
  const chain = compose([sync((_c, next) => void (kept = next))], () => ran++);
  const done = chain(ctx);
  // Called before any promise job runs: only the synchronous path has closed the level by now.
  const late = (kept as unknown as Next)();
  await done;
  await assert.rejects(late, /next\(\) called in middleware 0 after it returned/);
  assert.equal(ran, 0);
  assert.equal(warnings.length, 1);
});

// Kills `level.closed = true` turned `false` once an async middleware
// resolved (106) or rejected (109).
test("an async middleware that keeps next() and calls it after it resolved: refused", async () => {
  const { ctx } = context();
  let kept: Next | null = null;
  let ran = 0;
  await compose([async (_c, next) => void (kept = next)], () => ran++)(ctx);
  await assert.rejects((kept as unknown as Next)(), /after it returned/);
  // The same after it rejected (the second `level.closed = true`, 109).
  await assert.rejects(
    compose([
      async (_c, next) => {
        kept = next;
        throw new Error("refused");
      },
    ], () => ran++)(ctx),
    /refused/,
  );
  await assert.rejects((kept as unknown as Next)(), /after it returned/);
  assert.equal(ran, 0);
});

// Kills, in the synchronous fast path (93), `twice === null` turned `true`
// and `!level.failed` turned `level.failed` or `true`: a synchronous
// middleware that called next() twice, or whose next() threw, is not done.
test("a synchronous middleware that calls next() twice, or whose next() threw: the chain rejects", async () => {
  const twice = context();
  await assert.rejects(
    compose([
      sync((_c, next) => {
        void next();
        void next();
      }),
    ], () => 1)(twice.ctx),
    /next\(\) called twice in middleware 0/,
  );
  const failing = context();
  const broke = new Error("terminal threw");
  await assert.rejects(
    compose([sync((_c, next) => void next())], () => {
      throw broke;
    })(failing.ctx),
    (e) => e === broke,
  );
  assert.match(failing.warnings[0]!, /resolved although the next\(\) it called failed/);
});

// Kills finish()'s `level.twice !== null` turned `false` (150): an async
// middleware that called next() twice and did not fail itself still fails.
test("an async middleware that calls next() a second time without awaiting it: the chain rejects", async () => {
  const { ctx } = context();
  await assert.rejects(
    compose([
      async (_c, next) => {
        await next();
        void next();
      },
    ], () => 1)(ctx),
    /called twice/,
  );
});

// Kills the synchronous terminal's `!isThenable(result)` turned `false` or
// emptied (128) and its `parent.settled = true` turned `false` (130), and the
// fast path's `parent.settled = true` (95): a synchronous chain that does not
// return next() is correct, and is not warned about.
test("synchronous middleware around a synchronous terminal: answered, nothing warned", async () => {
  const { ctx, warnings } = context();
  const trail: string[] = [];
  const chain = compose(
    [
      sync((_c, next) => {
        trail.push("a>");
        void next();
        trail.push("<a");
      }),
      sync((_c, next) => {
        trail.push("b>");
        void next();
        trail.push("<b");
      }),
    ],
    () => {
      trail.push("handler");
      return 7;
    },
  );
  await chain(ctx);
  assert.deepEqual(trail, ["a>", "b>", "handler", "<b", "<a"]);
  assert.equal(ctx.response.result, 7);
  assert.deepEqual(warnings, []);
});

// Kills the fast path turned `true` (93): an async middleware's own work
// after next() is part of the request.
test("an async middleware that works after next(): the chain settles after that work", async () => {
  const { ctx } = context();
  const chain = compose([
    async (c, next) => {
      await next();
      await tick(5);
      c.response.result = `${String(c.response.result)} checked`;
    },
  ], () => "value");
  await chain(ctx);
  assert.equal(ctx.response.result, "value checked");
});

// Kills the async terminal's `parent.settled = true` (136) and finish()'s
// (156) turned `false` or `parent === null`: middleware that await next()
// are not warned about.
test("async middleware that await next() around an async terminal: nothing warned", async () => {
  const { ctx, warnings } = context();
  const chain = compose([async (_c, next) => void (await next()), async (_c, next) => void (await next())], async () => {
    await tick();
    return "late";
  });
  await chain(ctx);
  assert.equal(ctx.response.result, "late");
  assert.deepEqual(warnings, []);
});

// Kills `if (parent !== null)` turned `true` before failedBelow in the
// terminal's catch (125) and in its rejection (139), the `parent.settled`
// mutants of a chain with no middleware (136 `true`), and the fast path's
// catch emptied (89).
test("a chain without middleware: its terminal's value, throw or rejection is the chain's", async () => {
  const { ctx } = context();
  await compose([], async () => "v")(ctx);
  assert.equal(ctx.response.result, "v");
  const thrown = new Error("thrown");
  await assert.rejects(
    compose([], () => {
      throw thrown;
    })(ctx),
    (e) => e === thrown,
  );
  const rejected = new Error("rejected");
  await assert.rejects(
    compose([], async () => {
      throw rejected;
    })(ctx),
    (e) => e === rejected,
  );
  const bad = new Error("middleware threw");
  await assert.rejects(
    compose([
      sync(() => {
        throw bad;
      }),
    ], () => 1)(ctx),
    (e) => e === bad,
  );
});

// Kills finish()'s `failed || level.twice !== null` turned `false` (150): a
// middleware's own rejection is the chain's.
test("an async middleware that rejects after next(): the chain rejects with its error", async () => {
  const { ctx } = context();
  const own = new Error("after next");
  await assert.rejects(
    compose([
      async (_c, next) => {
        await next();
        throw own;
      },
    ], () => 1)(ctx),
    (e) => e === own,
  );
});

// Kills unanswered() turned `true` and its `out` test turned `true` (167): a
// middleware that catches a failed next() and writes an answer has recovered.
test("a middleware that catches a failed next() and writes ctx.response recovers the request", async () => {
  const { ctx, warnings } = context();
  await compose([
    async (c, next) => {
      try {
        await next();
      } catch {
        c.response.result = "fallback";
      }
    },
  ], () => {
    throw new Error("handler failed");
  })(ctx);
  assert.equal(ctx.response.result, "fallback");
  assert.deepEqual(warnings, []);

  // Changing only the reply type is an answer too (unanswered()'s `out` test).
  const retyped = context();
  await compose([
    async (c, next) => {
      await next().catch(() => {});
      c.response.out = "fallback";
    },
  ], () => {
    throw new Error("handler failed");
  })(retyped.ctx);
  assert.equal(retyped.ctx.response.out, "fallback");
});

// Kills late()'s finish callback replaced (174): the level that forgot to
// await next() tells its parent when next() settled, so only it is warned about.
test("one middleware forgets to await next(): it alone is warned about, and the chain waits for the terminal", async () => {
  const { ctx, warnings } = context();
  await compose([async (_c, next) => void (await next()), async (_c, next) => void next()], async () => {
    await tick(5);
    return "done";
  })(ctx);
  assert.equal(ctx.response.result, "done");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /middleware 1 returned before the next\(\) it called settled/);
});

// Kills the SKIPS lookup replaced by `() => undefined` (64) and the skip test
// turned `false` (76).
test("a step marked skippedWhen is not run for a request its predicate holds for", async () => {
  let ran = 0;
  const counted = skippedWhen(async (_c: MiddlewareContext, next: Next) => {
    ran++;
    await next();
  }, (c: MiddlewareContext) => (c.state as { skip?: boolean }).skip === true);
  const chain = compose([counted], () => "ok");
  const skipped = context();
  (skipped.ctx.state as { skip?: boolean }).skip = true;
  await chain(skipped.ctx);
  assert.equal(ran, 0);
  assert.equal(skipped.ctx.response.result, "ok");
  await chain(context().ctx);
  assert.equal(ran, 1);
});

// Kills deadline.ts's deadlineStep: its step replaced (41), its predicate
// turned `true` or `!==` (42).
test("the deadline step: a request with a deadline gets DEADLINE_EXCEEDED on time; one without runs its handler to the end", async () => {
  const slow = async () => {
    await tick(60);
    return "slow";
  };
  const chain = compose([deadlineStep as unknown as Step], slow);
  const hurried = context(10);
  await assert.rejects(chain(hurried.ctx), (e: { code?: string }) => e.code === "DEADLINE_EXCEEDED");
  const patient = context();
  await chain(patient.ctx);
  assert.equal(patient.ctx.response.result, "slow");
});

// Kills isThenable's `value !== null` and `typeof value === "function"`
// turned `true` (null and undefined must not be read), and the "function"
// test turned `false` or emptied (a thenable function is one).
test("isThenable: null, undefined and plain values are not; a function or object with then() is", async () => {
  for (const value of [null, undefined, 0, "then", {}, { then: 1 }]) assert.equal(isThenable(value), false, String(value));
  const fn = Object.assign(() => {}, { then: (resolve: (v: unknown) => void) => resolve(5) });
  assert.equal(isThenable(fn), true);
  assert.equal(isThenable({ then() {} }), true);
  const { ctx } = context();
  await compose([], () => fn)(ctx);
  assert.equal(ctx.response.result, 5);
  await compose([], () => null)(ctx);
  assert.equal(ctx.response.result, null);
});
