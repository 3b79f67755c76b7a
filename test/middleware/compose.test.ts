/**
 * compose(): the onion, next() twice, a chain that stops early; @Use's
 * order; and the chain each method gets (none at all when nothing applies,
 * so such a method keeps the fast path).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { container } from "tsyringe";
import { resolveConfig, type ForkrpcConfig } from "../../src/config.ts";
import { Use, useOf } from "../../src/decorators/use.ts";
import type { RpcMethodMeta } from "../../src/decorators/rpc.ts";
import { compose } from "../../src/middleware/compose.ts";
import type { MiddlewareContext, MiddlewareFn, Next } from "../../src/middleware/types.ts";
import { buildChain, chainParts } from "../../src/plugins/chain.ts";
import type { MiddlewareDefinition } from "../../src/plugins/load.ts";
import type { RequestContext } from "../../src/request/request-context.ts";

/** The parts of a context compose() and the chain's terminal touch. */
function fakeContext(params: unknown = null, meta: Record<string, unknown> = {}, warnings: string[] = []) {
  const state: Record<string, unknown> = {};
  return {
    log: { warn: (message: string) => warnings.push(message) },
    request: { method: "m", params, id: 1, meta },
    response: { out: "m", result: undefined as unknown },
    state,
    peer: { address: "127.0.0.1", port: 1 },
    signal: new AbortController().signal,
    handler: { name: "m", out: "m" },
    // the chain's deadline step is passed over for a request without a deadline
    deadlineMs: Infinity,
  } as unknown as RequestContext;
}

function tracer(trail: string[], name: string): MiddlewareFn {
  return async (_ctx, next) => {
    trail.push(`${name}>`);
    await next();
    trail.push(`<${name}`);
  };
}

test("middleware run in onion order around the terminal, whose value becomes ctx.response.result", async () => {
  const trail: string[] = [];
  const chain = compose([tracer(trail, "a"), tracer(trail, "b"), tracer(trail, "c")], () => {
    trail.push("handler");
    return 42;
  });
  const ctx = fakeContext();
  await chain(ctx);
  assert.deepEqual(trail, ["a>", "b>", "c>", "handler", "<c", "<b", "<a"]);
  assert.equal(ctx.response.result, 42);
});

test("an async terminal is awaited before the way out", async () => {
  const trail: string[] = [];
  const chain = compose([tracer(trail, "a")], async () => {
    await new Promise((resolve) => setImmediate(resolve));
    trail.push("handler");
    return "late";
  });
  const ctx = fakeContext();
  await chain(ctx);
  assert.deepEqual(trail, ["a>", "handler", "<a"]);
  assert.equal(ctx.response.result, "late");
});

test("no middleware: the terminal alone", async () => {
  const ctx = fakeContext();
  await compose([], () => "only")(ctx);
  assert.equal(ctx.response.result, "only");
});

test("next() called twice rejects, and the terminal runs once", async () => {
  let runs = 0;
  const twice: MiddlewareFn = async (_ctx, next) => {
    await next();
    await next();
  };
  const chain = compose([twice], () => ++runs);
  await assert.rejects(chain(fakeContext()), /next\(\) called twice/);
  assert.equal(runs, 1);
});

test("next() called twice without awaiting also rejects", async () => {
  let runs = 0;
  const eager: MiddlewareFn = async (_ctx, next) => {
    await Promise.all([next(), next()]);
  };
  await assert.rejects(compose([eager], () => ++runs)(fakeContext()), /next\(\) called twice/);
  assert.equal(runs, 1);
});

test("a middleware that does not call next() ends the chain with its ctx.response", async () => {
  let ran = false;
  const trail: string[] = [];
  const early: MiddlewareFn = async (ctx) => {
    ctx.response.out = "cached";
    ctx.response.result = { cached: true };
  };
  const ctx = fakeContext();
  await compose([tracer(trail, "outer"), early, tracer(trail, "inner")], () => (ran = true))(ctx);
  assert.equal(ran, false);
  assert.deepEqual(trail, ["outer>", "<outer"]);
  assert.deepEqual(ctx.response, { out: "cached", result: { cached: true } });
});

test("code after next() sees the error, and can rethrow or swallow it", async () => {
  const seen: unknown[] = [];
  const watch: MiddlewareFn = async (_ctx, next) => {
    try {
      await next();
    } catch (error) {
      seen.push((error as Error).message);
      throw error;
    }
  };
  const boom = () => {
    throw new Error("boom");
  };
  await assert.rejects(compose([watch], boom)(fakeContext()), /boom/);
  assert.deepEqual(seen, ["boom"]);

  const swallow: MiddlewareFn = async (ctx, next) => {
    try {
      await next();
    } catch {
      ctx.response.result = "recovered";
    }
  };
  const ctx = fakeContext();
  await compose([swallow], boom)(ctx);
  assert.equal(ctx.response.result, "recovered");
});

test("one composed chain serves many requests, each with its own next() count", async () => {
  const chain = compose([async (_ctx, next) => next()], (ctx) => ctx.request.params);
  const contexts = [fakeContext(1), fakeContext(2), fakeContext(3)];
  await Promise.all(contexts.map((c) => chain(c)));
  assert.deepEqual(contexts.map((c) => c.response.result), [1, 2, 3]);
});

test("@Use keeps the order written, in one decorator or stacked ones", () => {
  const a: MiddlewareFn = async (_c, n) => n();
  const b: MiddlewareFn = async (_c, n) => n();
  class One {}
  Use(a, b)(One);
  assert.deepEqual(useOf(One), [a, b]);
  class Stacked {}
  // @Use(a) above @Use(b): decorators apply bottom-up.
  Use(b)(Stacked);
  Use(a)(Stacked);
  assert.deepEqual(useOf(Stacked), [a, b]);
  class Sub extends One {}
  assert.deepEqual(useOf(Sub), [], "not inherited");
});

// --- the chain each method gets -------------------------------------------

const META: RpcMethodMeta = { name: "m", out: "m" };
const handler = { handle: (params: unknown, ctx: { state: Record<string, unknown> }) => ({ params, trail: ctx.state.trail ?? null }) };

function config(file: ForkrpcConfig = {}) {
  return resolveConfig(file, {}, undefined, "/tmp");
}

test("a method with nothing configured gets no chain at all (the fast path)", () => {
  const parts = chainParts(config(), [], container.createChildContainer());
  class Plain {}
  assert.equal(buildChain(parts, META, Plain, handler, "plain.ts"), null);
  assert.equal(buildChain(parts, { ...META, timeoutMs: 100, public: true }, Plain, handler, "plain.ts"), null, "a deadline is not middleware");
});

test("any one source of middleware gives the method a chain", () => {
  const mw: MiddlewareFn = async (_c, n) => n();
  const schema = { "~standard": { version: 1 as const, vendor: "t", validate: (v: unknown) => ({ value: v }) } };
  class Plain {}
  class Used {}
  Use(mw)(Used);
  const none = chainParts(config(), [], container.createChildContainer());
  assert.notEqual(buildChain(none, META, Used, handler, "x.ts"), null, "@Use");
  assert.notEqual(buildChain(none, { ...META, params: schema }, Plain, handler, "x.ts"), null, "params schema");
  assert.notEqual(buildChain(chainParts(config({ middleware: [mw] }), [], container.createChildContainer()), META, Plain, handler, "x.ts"), null, "config middleware");
  assert.notEqual(buildChain(chainParts(config({ accessLog: true }), [], container.createChildContainer()), META, Plain, handler, "x.ts"), null, "access log");
  const authed = chainParts(config({ auth: { tokens: ["t"] } }), [], container.createChildContainer());
  assert.notEqual(buildChain(authed, META, Plain, handler, "x.ts"), null, "auth");
  assert.equal(buildChain(authed, { ...META, public: true }, Plain, handler, "x.ts"), null, "auth skips public methods");
});

test("plugin middleware classes run by order, then file, then class name, after config middleware and before @Use", async () => {
  const trail: string[] = [];
  const classTracer = (name: string) =>
    class {
      async use(_ctx: MiddlewareContext, next: Next) {
        trail.push(`${name}>`);
        await next();
        trail.push(`<${name}`);
      }
    };
  const named = (name: string) => {
    const cls = classTracer(name);
    Object.defineProperty(cls, "name", { value: name });
    return cls;
  };
  const plugins: MiddlewareDefinition[] = [
    { cls: named("Zed"), order: 5, file: "/app/plugins/a.ts" },
    { cls: named("Beta"), order: 5, file: "/app/plugins/b.ts" },
    { cls: named("Alpha"), order: 5, file: "/app/plugins/b.ts" },
    { cls: named("Late"), order: 9, file: "/app/plugins/a.ts" },
    { cls: named("Early"), order: -1, file: "/app/plugins/z.ts" },
  ];
  const parts = chainParts(config({ middleware: [tracer(trail, "g1"), tracer(trail, "g2")] }), plugins, container.createChildContainer());
  class Handler {}
  Use(tracer(trail, "use"))(Handler);
  const chain = buildChain(parts, META, Handler, { handle: () => trail.push("handler") }, "h.ts");
  assert.ok(chain !== null);
  await chain(fakeContext());
  assert.deepEqual(trail, [
    "g1>", "g2>", "Early>", "Zed>", "Alpha>", "Beta>", "Late>", "use>", "handler",
    "<use", "<Late", "<Beta", "<Alpha", "<Zed", "<Early", "<g2", "<g1",
  ]);
});

test("the terminal hands the (validated) params and the same ctx to handle()", async () => {
  const schema = { "~standard": { version: 1 as const, vendor: "t", validate: (v: unknown) => ({ value: { wrapped: v } }) } };
  const parts = chainParts(config({ middleware: [async (ctx, next) => { ctx.state.trail = ["seen"]; await next(); }] }), [], container.createChildContainer());
  class Plain {}
  const chain = buildChain(parts, { ...META, params: schema }, Plain, handler, "x.ts");
  const ctx = fakeContext(7);
  await chain!(ctx);
  assert.deepEqual(ctx.response.result, { params: { wrapped: 7 }, trail: ["seen"] });
});
