/**
 * dispatch() on its own (src/server/dispatch.ts): a MethodEntry and a
 * RequestContext made by hand, a stand-in for the activity board, and the
 * log read from process.stderr. Written for the survivors and uncovered
 * mutants of `npm run mutate -- server`; each test names the ones it kills.
 */
import { afterEach, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { RpcError } from "../../src/errors.ts";
import { dispatch, methodNotFound } from "../../src/server/dispatch.ts";
import { RequestContext, type ContextOwner } from "../../src/request/request-context.ts";
import type { MethodEntry } from "../../src/plugins/registry.ts";
import type { Activity } from "../../src/server/activity.ts";
import type { RequestEnvelope } from "../../src/protocol/envelope.ts";

let logged: string[] = [];
beforeEach(() => {
  logged = [];
  mock.method(process.stderr, "write", (chunk: string) => {
    logged.push(String(chunk));
    return true;
  });
});
afterEach(() => mock.restoreAll());

function entry(handle: (params: unknown, ctx: unknown) => unknown, chain: MethodEntry["chain"] = null): MethodEntry {
  const meta = { name: "math.add", out: "sum" };
  return { name: "math.add", meta, chain, container: {} as MethodEntry["container"], defaultTimeoutMs: 0, index: 3, outJson: JSON.stringify("sum"), handler: { handle }, file: "x.ts" } as MethodEntry;
}

function request(e: MethodEntry, clientGone = false): RequestContext {
  const req = { method: e.name, params: [1, 2], id: 7, meta: {} } as RequestEnvelope;
  const owner = { peer: {}, clientGone, requestLog: {}, watch() {}, unwatch() {} } as unknown as ContextOwner;
  return new RequestContext(req, owner, e, Infinity);
}

function board() {
  const calls: string[] = [];
  const activity = { enter: (index: number, id: unknown) => calls.push(`enter ${index} ${String(id)}`), leave: () => calls.push("leave") } as unknown as Activity;
  return { activity, calls };
}

const errors = () => logged.filter((l) => l.includes(" error: "));

// Kills methodNotFound's `length > SHOWN_NAME_CHARS` turned `>=`, the cut
// name's template and the message's template emptied (dispatch.ts:56-57).
test("methodNotFound: names past 100 characters are cut, with ...", () => {
  const exact = "m".repeat(100);
  assert.deepEqual(JSON.parse(methodNotFound({ method: exact, id: 1 } as RequestEnvelope)).result, {
    code: "METHOD_NOT_FOUND",
    message: `no method named "${exact}"`,
  });
  const long = "m".repeat(101);
  assert.equal(JSON.parse(methodNotFound({ method: long, id: 1 } as RequestEnvelope)).result.message, `no method named "${"m".repeat(100)}..."`);
});

// Kills, in failed(): `wire.code === "INTERNAL"` turned `true`, `false`,
// `!==`, its string emptied or its block emptied (71), the log template
// emptied (74); and `finally { activity.leave() }` emptied (31).
test("a handler that throws: INTERNAL and an error log; an RpcError goes out as it is, unlogged; the activity is left either way", () => {
  const { activity, calls } = board();
  const bug = entry(() => {
    throw new TypeError("oops");
  });
  const answer = JSON.parse(dispatch(bug, request(bug), activity) as string);
  assert.equal(answer.result.code, "INTERNAL");
  assert.equal(answer.id, 7);
  assert.equal(errors().length, 1);
  assert.match(errors()[0]!, /math\.add threw TypeError: oops/);
  assert.deepEqual(calls, ["enter 3 7", "leave"]);

  const refused = entry(() => {
    throw new RpcError("NOPE", "not today");
  });
  const answer2 = JSON.parse(dispatch(refused, request(refused), activity) as string);
  assert.deepEqual(answer2.result, { code: "NOPE", message: "not today" });
  assert.equal(errors().length, 1, "a coded refusal is not a bug");
  assert.deepEqual(calls, ["enter 3 7", "leave", "enter 3 7", "leave"]);
});

// Kills, in failed(): `ctx.signal.aborted && isAbortError(thrown)` turned
// `true`, `false` or `||` (73); and isAbortError's checks (79-83, no
// coverage before): only an AbortError thrown after the client left is
// kept out of the error log.
test("a handler stopped by its client leaving is not an error; other throws after it, and AbortErrors before it, are", async () => {
  const { activity } = board();
  const abortError = () => Object.assign(new Error("stopped"), { name: "AbortError" });
  const stopped = entry((_p, ctx) => {
    assert.equal((ctx as RequestContext).signal.aborted, true);
    throw abortError();
  });
  JSON.parse(dispatch(stopped, request(stopped, true), activity) as string);
  assert.deepEqual(errors(), [], "the client left: it did what it was asked");

  const other = entry((_p, ctx) => {
    void (ctx as RequestContext).signal;
    throw new TypeError("broken");
  });
  dispatch(other, request(other, true), activity);
  assert.equal(errors().length, 1, "another error, although the client left");

  const early = entry(() => {
    throw abortError();
  });
  dispatch(early, request(early, false), activity);
  assert.equal(errors().length, 2, "an AbortError while the client is still there");

  const hostile = entry((_p, ctx) => {
    void (ctx as RequestContext).signal;
    throw Object.defineProperty({}, "name", {
      get() {
        throw new Error("no name for you");
      },
    });
  });
  dispatch(hostile, request(hostile, true), activity);
  assert.equal(errors().length, 3, "a thrown value whose name getter throws is an error, not a crash");

  const nothing = entry((_p, ctx) => {
    void (ctx as RequestContext).signal;
    throw null;
  });
  dispatch(nothing, request(nothing, true), activity);
  const named = entry((_p, ctx) => {
    void (ctx as RequestContext).signal;
    throw "AbortError";
  });
  dispatch(named, request(named, true), activity);
  assert.equal(errors().length, 5, "null and a string are errors");
});

// Kills, in succeeded(): the log template and the error message emptied (64-65).
test("a result that cannot be encoded as JSON: INTERNAL, and the log says why", () => {
  const { activity } = board();
  const big = entry(() => 10n);
  assert.deepEqual(JSON.parse(dispatch(big, request(big), activity) as string).result, { code: "INTERNAL", message: "result could not be encoded" });
  assert.match(errors()[0]!, /math\.add: result could not be encoded as JSON: /);
});

// Kills, with a chain: `chain === null` turned `true` (28), the chain's
// `.then` callbacks turned `() => undefined` and the block emptied (34-37),
// and answered()'s `out === entry.meta.out` turned `true`, `false` or `!==`
// and its block emptied (50-52, no coverage before).
test("a method with a chain is answered from ctx.response, with the reply type middleware set", async () => {
  const { activity, calls } = board();
  const same = entry(
    () => assert.fail("the chain runs, not the handler"),
    async (ctx) => {
      ctx.response.result = 42;
    },
  );
  assert.deepEqual(JSON.parse(await dispatch(same, request(same), activity)), { out: "sum", result: 42, id: 7 });
  const changed = entry(
    () => assert.fail("the chain runs, not the handler"),
    async (ctx) => {
      ctx.response.out = "cached";
      ctx.response.result = [1];
    },
  );
  assert.deepEqual(JSON.parse(await dispatch(changed, request(changed), activity)), { out: "cached", result: [1], id: 7 });
  const refused = entry(
    () => assert.fail("the chain runs, not the handler"),
    async () => {
      throw new RpcError("DENIED", "no");
    },
  );
  assert.deepEqual(JSON.parse(await dispatch(refused, request(refused), activity)).result, { code: "DENIED", message: "no" });
  assert.deepEqual(calls, ["enter 3 7", "leave", "enter 3 7", "leave", "enter 3 7", "leave"]);
});
