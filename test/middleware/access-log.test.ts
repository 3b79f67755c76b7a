/**
 * The access log, the in-flight limits and the request logger on their own
 * (src/middleware/access-log.ts, limits.ts, logger.ts): a context made by
 * hand whose ctx.log records its calls. test/integration/middleware.test.ts
 * checks the same over a real server; these run in the test process so that
 * `npm run mutate -- middleware` can kill their mutants without a server.
 */
import { afterEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { accessLog } from "../../src/middleware/access-log.ts";
import { overLimit } from "../../src/middleware/limits.ts";
import { createRequestLogger } from "../../src/middleware/logger.ts";
import { RpcError } from "../../src/errors.ts";
import type { MiddlewareContext } from "../../src/middleware/types.ts";
import { pino } from "pino";

afterEach(() => mock.restoreAll());

interface Logged {
  level: string;
  line: Record<string, unknown>;
  message: string;
}

function context(params: unknown = ["secret"]) {
  const logged: Logged[] = [];
  const at = (level: string) => (line: Record<string, unknown>, message: string) => logged.push({ level, line, message });
  const log = { info: at("info"), warn: at("warn"), debug: at("debug"), error: at("error") };
  const ctx = {
    peer: { address: "127.0.0.9", port: 4242 },
    request: { params },
    response: { out: "pong", result: undefined },
    log,
  } as unknown as MiddlewareContext;
  return { ctx, logged };
}

// Kills the default level ("info") and sample rate (1) replaced, the line's
// peer template, `line.out` not set, `ms` not set, not in ms (`* 1000`,
// `/ 1000` without the rounding, `now + start`) or not rounded to 3 decimals.
test("one line per request at info: peer, out and the duration in ms", async () => {
  const { ctx, logged } = context();
  // The clock read before and after next(): 20.1234567 ms apart.
  const clock = [1_000, 1_020.1234567];
  mock.method(performance, "now", () => clock.shift()!);
  await accessLog()(ctx, async () => {});
  assert.equal(logged.length, 1);
  const [{ level, line, message }] = logged as [Logged];
  assert.equal(level, "info");
  assert.equal(message, "rpc");
  assert.equal(line.peer, "127.0.0.9:4242");
  assert.equal(line.out, "pong");
  assert.equal(line.ms, 20.123, "in ms, to three decimals");
  assert.equal("params" in line, false, "params are not logged unless asked");
  assert.equal("code" in line, false);
});

// Kills `options.params === true` turned `true`/`false`, and `level` ignored.
test("params only when asked; the level asked for", async () => {
  const { ctx, logged } = context(["a", 1]);
  await accessLog({ params: true, level: "warn" })(ctx, async () => {});
  assert.deepEqual(logged[0]!.line.params, ["a", 1]);
  assert.equal(logged[0]!.level, "warn");
});

// Kills the catch's code not recorded, the rethrow dropped, the `INTERNAL`
// test turned `true`/`false` or its string emptied, and the finally emptied.
test("a failure: its wire code logged, the error passed on; INTERNAL at error, a coded refusal at the usual level", async () => {
  const refused = context();
  const denied = new RpcError("PERMISSION_DENIED", "no");
  await assert.rejects(
    accessLog()(refused.ctx, async () => {
      throw denied;
    }),
    (e) => e === denied,
  );
  assert.equal(refused.logged.length, 1);
  assert.equal(refused.logged[0]!.level, "info");
  assert.equal(refused.logged[0]!.line.code, "PERMISSION_DENIED");
  assert.equal("out" in refused.logged[0]!.line, false);

  const bug = context();
  await assert.rejects(
    accessLog({ level: "debug" })(bug.ctx, async () => {
      throw new TypeError("oops");
    }),
    TypeError,
  );
  assert.equal(bug.logged[0]!.level, "error");
  assert.equal(bug.logged[0]!.line.code, "INTERNAL");
});

// Kills `rate < 1` turned `true`/`false`/`<=`, `Math.random() >= rate` turned
// `>` or `<`, and the early `return next()` dropped (the request would not
// run, or run without being passed on).
test("sampling: a request is logged when the draw is below the rate, and runs either way", async () => {
  const draws = [0.25, 0.5, 0.75];
  mock.method(Math, "random", () => draws.shift()!);
  const { ctx, logged } = context();
  let ran = 0;
  const mw = accessLog({ sampleRate: 0.5 });
  for (let i = 0; i < 3; i++) await mw(ctx, async () => void ran++);
  assert.equal(ran, 3);
  assert.equal(logged.length, 1, "0.25 is logged; 0.5 and 0.75 are not");

  // A rate of 1 logs everything and draws nothing.
  const drawn = mock.method(Math, "random", () => 0.99);
  const all = context();
  await accessLog({ sampleRate: 1 })(all.ctx, async () => {});
  assert.equal(all.logged.length, 1);
  assert.equal(drawn.mock.callCount(), 0);
});

// Kills overLimit's `> 0` turned `>= 0` (0 means no limit) and `>=` turned
// `>` at either limit, the two faults swapped, and either code emptied.
test("overLimit: 0 is no limit; at the limit is over; the connection's limit is named first", () => {
  assert.equal(overLimit({ maxInflightPerConnection: 0, maxInflightPerWorker: 0 }, 10_000, 10_000), null);
  const limits = { maxInflightPerConnection: 2, maxInflightPerWorker: 5 };
  assert.equal(overLimit(limits, 1, 4), null);
  assert.equal(overLimit(limits, 2, 0)?.message, "too many requests in flight on this connection");
  assert.equal(overLimit(limits, 0, 5)?.message, "too many requests in flight in this worker");
  assert.equal(overLimit(limits, 2, 5)?.message, "too many requests in flight on this connection");
  assert.equal(overLimit(limits, 2, 5)?.code, "RESOURCE_EXHAUSTED");
  assert.equal(overLimit(limits, 0, 5)?.code, "RESOURCE_EXHAUSTED");
});

// Kills the level taken from elsewhere than FORKRPC_LOG_LEVEL and the pid
// binding dropped.
test("the request logger: FORKRPC_LOG_LEVEL's level, lines bound to the pid", (t) => {
  const saved = process.env.FORKRPC_LOG_LEVEL;
  t.after(() => {
    if (saved === undefined) delete process.env.FORKRPC_LOG_LEVEL;
    else process.env.FORKRPC_LOG_LEVEL = saved;
  });
  process.env.FORKRPC_LOG_LEVEL = "warn";
  const logger = createRequestLogger();
  assert.equal(logger.level, "warn");
  // pino keeps `base` as the JSON text every line starts with.
  const bound = (logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym];
  assert.equal(bound, `,"pid":${process.pid}`);
  process.env.FORKRPC_LOG_LEVEL = "debug";
  assert.equal(createRequestLogger().level, "debug");
});
