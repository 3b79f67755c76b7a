/**
 * Requests on its own (src/server/requests.ts): a real Activity and
 * AnswerQueue, methods made by hand, a metrics recorder that lists its calls
 * and an owner that records what it is told. No socket, no server. Written
 * for the survivors of `npm run mutate -- server --mutate
 * src/server/requests.ts`; each test names the mutants it kills.
 */
import { afterEach, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { Requests, type RequestsOwner } from "../../src/server/requests.ts";
import { Activity } from "../../src/server/activity.ts";
import { AnswerQueue } from "../../src/server/answers.ts";
import type { CallMetrics } from "../../src/metrics/recorder.ts";
import type { MethodEntry } from "../../src/plugins/registry.ts";
import { later, method, registry } from "../helpers/in-process.ts";
import type { RequestEnvelope } from "../../src/protocol/envelope.ts";

// A handler that throws logs an error line; keep the test output clean.
beforeEach(() => mock.method(process.stderr, "write", () => true));
afterEach(() => mock.restoreAll());

interface Call {
  method: number;
  code: string | null;
  readAt: number;
  bytes: number;
  answerChars: number;
}

function recorder() {
  const calls: Call[] = [];
  const rejected: string[] = [];
  const written: number[] = [];
  const metrics = {
    other: 99,
    record: (method: number, code: string | null, readAt: number, bytes: number, answerChars: number) => calls.push({ method, code, readAt, bytes, answerChars }),
    rejected: (code: string) => rejected.push(code),
    written: (now: number) => written.push(now),
  } as unknown as CallMetrics;
  return { metrics, calls, rejected, written };
}

function setup(methods: MethodEntry[], limits = { maxInflightPerConnection: 0, maxInflightPerWorker: 0 }, withMetrics = true) {
  const activity = new Activity();
  const rec = recorder();
  if (withMetrics) activity.metrics = rec.metrics;
  const answers = new AnswerQueue();
  const events: string[] = [];
  const lost: unknown[] = [];
  const owner = {
    peer: {},
    clientGone: false,
    requestLog: {},
    watch: () => events.push("watch"),
    unwatch: () => events.push("unwatch"),
    answered: () => events.push("answered"),
    lost: (error: unknown) => lost.push(error),
    readAt: 1234.5,
  } as unknown as RequestsOwner;
  const requests = new Requests(registry(...methods), limits, activity, answers, owner);
  /** The answers written so far, parsed. */
  const sent = () => answers.take().map((t) => JSON.parse(t));
  return { activity, answers, requests, events, lost, sent, ...rec };
}

function req(name: string, id?: number, meta: Record<string, unknown> = {}): RequestEnvelope {
  return { method: name, params: [], id, meta } as RequestEnvelope;
}

const tick = () => new Promise((r) => setImmediate(r));

// Kills the over-limit path's record() removed, `metrics !== null` turned
// false there, the path's `return` dropped (the request would also run), and
// the recorded method index (`entry === undefined ? other : index`).
test("over the connection's limit: RESOURCE_EXHAUSTED at once, recorded under the method, the handler not run, not counted as served", async () => {
  const gate = later<string>();
  let runs = 0;
  const slow = method(
    "slow",
    () => {
      runs++;
      return gate.promise;
    },
    4,
  );
  const s = setup([slow], { maxInflightPerConnection: 1, maxInflightPerWorker: 0 });
  s.requests.run(req("slow", 1), true, 10);
  s.requests.run(req("slow", 2), true, 11);
  assert.equal(runs, 1, "the second request must not reach its handler");
  const [refused] = s.sent();
  assert.equal(refused.id, 2);
  assert.deepEqual(refused.result, { code: "RESOURCE_EXHAUSTED", message: "too many requests in flight on this connection" });
  assert.equal(s.activity.served, 0, "a refusal is not served");
  assert.deepEqual(s.calls, [{ method: 4, code: "RESOURCE_EXHAUSTED", readAt: 1234.5, bytes: 11, answerChars: JSON.stringify(refused).length }]);
  assert.equal(s.answers.owed, 1, "the first request still owes its answer");

  // The slot is freed when the handler settles: the next request runs.
  gate.resolve("done");
  await tick();
  assert.deepEqual(s.sent().map((a) => [a.id, a.result]), [[1, "done"]]);
  s.requests.run(req("slow", 3), true, 12);
  assert.equal(runs, 2, "the settled request gave its slot back");
});

// Kills `entry?.unlimited !== true` turned `true` or `false`, or `?.` made `.`
// (an unknown method over the limit would throw).
test("over the limit: an unlimited method still runs; an unknown one is refused with RESOURCE_EXHAUSTED under `other`", async () => {
  const gate = later<string>();
  const slow = method("slow", () => gate.promise, 0);
  const health = method("health", () => "ok", 1, { unlimited: true });
  const s = setup([slow, health], { maxInflightPerConnection: 1, maxInflightPerWorker: 0 });
  s.requests.run(req("slow", 1), true, 1);
  s.requests.run(req("health", 2), true, 1);
  s.requests.run(req("nope", 3), true, 1);
  const answers = s.sent();
  assert.deepEqual(answers.map((a) => [a.id, typeof a.result === "string" ? a.result : a.result.code]), [
    [2, "ok"],
    [3, "RESOURCE_EXHAUSTED"],
  ]);
  assert.deepEqual(
    s.calls.map((c) => [c.method, c.code]),
    [
      [1, null],
      [99, "RESOURCE_EXHAUSTED"],
    ],
  );
  gate.resolve("x");
  await tick();
});

// Kills the worker limit's argument (`activity.inflight`) replaced: other
// connections' requests count against maxInflightPerWorker.
test("over the worker's limit: requests running on another connection count", async () => {
  const gate = later<string>();
  const slow = method("slow", () => gate.promise, 0);
  const s = setup([slow], { maxInflightPerConnection: 0, maxInflightPerWorker: 1 });
  const other = new Requests(registry(slow), { maxInflightPerConnection: 0, maxInflightPerWorker: 1 }, s.activity, new AnswerQueue(), {
    answered() {},
    lost() {},
    readAt: 0,
  } as unknown as RequestsOwner);
  other.run(req("slow", 1), true, 1);
  s.requests.run(req("slow", 2), true, 1);
  assert.deepEqual(s.sent()[0].result, { code: "RESOURCE_EXHAUSTED", message: "too many requests in flight in this worker" });
  gate.resolve("x");
  await tick();
  assert.equal(s.activity.inflight, 0);
});

// Kills the unknown-method path's `served++` removed, its record() removed or
// its guard turned false, and `return` dropped there.
test("an unknown method: METHOD_NOT_FOUND, served, recorded under `other` with the request's size", () => {
  const s = setup([]);
  s.requests.run(req("missing", 5), true, 42);
  const [answer] = s.sent();
  assert.equal(answer.result.code, "METHOD_NOT_FOUND");
  assert.equal(s.activity.served, 1);
  assert.deepEqual(s.calls, [{ method: 99, code: "METHOD_NOT_FOUND", readAt: 1234.5, bytes: 42, answerChars: JSON.stringify(answer).length }]);
});

// Kills the synchronous path's ctx.done() removed (a handler that looked at
// its signal stays watched), `served++` removed, record() removed, and the
// answer's hasId passed as a constant.
test("a synchronous answer: ready at once, served, recorded, and the context stops being watched", () => {
  // A handler that reads ctx.signal asks its owner to watch the request.
  const looks = method("looks", (_params, ctx) => (ctx.signal.aborted ? "aborted" : "seen"), 2);
  const s = setup([looks]);
  s.requests.run(req("looks"), false, 3);
  assert.deepEqual(s.events, ["watch", "unwatch"]);
  assert.equal(s.activity.served, 1);
  assert.equal(s.activity.inflight, 0, "a synchronous answer takes no in-flight slot");
  assert.deepEqual(s.calls, [{ method: 2, code: null, readAt: 1234.5, bytes: 3, answerChars: '{"out":"looks","result":"seen"}'.length }]);
  assert.deepEqual(s.sent(), [{ out: "looks", result: "seen" }]);
  assert.equal(s.answers.owed, 0);
});

// Kills, in the asynchronous path: the slot taken with a constant hasId
// (no-id answers must keep their order), `served++` removed, record()
// removed or its guard turned false, fill() removed, owner.answered()
// removed, and the in-flight bookkeeping (begin/end, #occupied).
test("asynchronous answers without ids leave in request order; each is served, recorded and announced; the slots are freed", async () => {
  const first = later<string>();
  const second = later<string>();
  const a = method("a", () => first.promise, 0);
  const b = method("b", () => second.promise, 1);
  const s = setup([a, b], { maxInflightPerConnection: 2, maxInflightPerWorker: 0 });
  s.requests.run(req("a"), false, 1);
  s.requests.run(req("b"), false, 2);
  assert.equal(s.activity.inflight, 2);
  assert.equal(s.answers.owed, 2);

  second.resolve("B");
  await tick();
  assert.deepEqual(s.sent(), [], "b waits behind a, which came first");
  assert.deepEqual(s.events, ["answered"]);
  first.resolve("A");
  await tick();
  assert.deepEqual(
    s.sent().map((x) => x.result),
    ["A", "B"],
  );
  assert.deepEqual(s.events, ["answered", "answered"]);
  assert.equal(s.activity.served, 2);
  assert.equal(s.activity.inflight, 0);
  assert.deepEqual(
    s.calls.map((c) => [c.method, c.bytes]),
    [
      [1, 2],
      [0, 1],
    ],
  );
  // Both slots of maxInflightPerConnection 2 are free again.
  const c1 = later<string>();
  const c2 = later<string>();
  let n = 0;
  const c = method("c", () => (n++ === 0 ? c1.promise : c2.promise), 2);
  const s2 = setup([c], { maxInflightPerConnection: 2, maxInflightPerWorker: 0 });
  s2.requests.run(req("c", 1), true, 1);
  c1.resolve("x");
  await tick();
  s2.requests.run(req("c", 2), true, 1);
  s2.requests.run(req("c", 3), true, 1);
  assert.deepEqual(
    s2.sent().map((x) => (typeof x.result === "string" ? x.result : x.result.code)),
    ["x"],
    "with one settled, two more fit in a limit of two",
  );
  c2.resolve("y");
  await tick();
});

// Kills #release's `outliving === null` turned `true`/`false`, and the
// deadline taken from somewhere else than the request's meta.
test("a request cut short by its deadline is answered at once but holds its in-flight slot until its handler settles", async () => {
  const gate = later<string>();
  const slow = method("slow", () => gate.promise, 0);
  const s = setup([slow], { maxInflightPerConnection: 1, maxInflightPerWorker: 0 });
  s.requests.run(req("slow", 1, { timeoutMs: 5 }), true, 1);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(s.sent()[0].result.code, "DEADLINE_EXCEEDED");
  assert.equal(s.activity.inflight, 1, "the handler is still running");
  s.requests.run(req("slow", 2), true, 1);
  assert.equal(s.sent()[0].result.code, "RESOURCE_EXHAUSTED", "its slot is still taken");
  gate.resolve("late");
  await tick();
  assert.equal(s.activity.inflight, 0);
  assert.deepEqual(s.sent(), [], "the late result is not sent");
});

// Kills the try/catch around the settled answer's bookkeeping emptied or its
// catch not calling owner.lost: a throw there must not be an unhandled
// rejection (that ends the worker).
test("a throw while placing a later answer reaches owner.lost, not the process", async () => {
  const m = method("m", async () => "v", 0);
  const s = setup([m]);
  const boom = new Error("recorder broke");
  (s.metrics as { record: unknown }).record = () => {
    throw boom;
  };
  s.requests.run(req("m", 1), true, 1);
  await tick();
  assert.deepEqual(s.lost, [boom]);
});

// Kills the three `metrics !== null` guards turned `true` (with no admin
// server, metrics is null and nothing may touch it), and `?.` made `.` in
// refuse/written/faulted.
test("without metrics, every path still answers", async () => {
  const sync = method("sync", () => 1, 0);
  const async_ = method("async", async () => 2, 1);
  const s = setup([sync, async_], { maxInflightPerConnection: 0, maxInflightPerWorker: 0 }, false);
  s.requests.run(req("sync", 1), true, 1);
  s.requests.run(req("nope", 2), true, 1);
  s.requests.run(req("async", 3), true, 1);
  s.requests.refuse({ code: "BAD_REQUEST", message: "no" }, 4, true);
  s.requests.written(1);
  s.requests.faulted("FRAME_TOO_LARGE");
  await tick();
  assert.deepEqual(s.lost, []);
  assert.deepEqual(
    s.sent().map((a) => [a.id, typeof a.result === "object" ? a.result.code : a.result]),
    [
      [1, 1],
      [2, "METHOD_NOT_FOUND"],
      [4, "BAD_REQUEST"],
      [3, 2],
    ],
  );
  const full = setup([], { maxInflightPerConnection: 0, maxInflightPerWorker: 1 }, false);
  full.activity.begin("elsewhere", 1);
  full.requests.run(req("x", 9), true, 1);
  assert.equal(full.sent()[0].result.code, "RESOURCE_EXHAUSTED");
});

// Kills refuse()'s rejected() call removed, the answer not placed, or its id
// or hasId dropped; written()'s and faulted()'s bodies emptied.
test("refuse, written and faulted reach the metrics; a refusal is answered with the request's id", () => {
  const s = setup([]);
  s.requests.refuse({ code: "BAD_REQUEST", message: "params must be an array" }, 8, true);
  s.requests.refuse({ code: "GOING_AWAY", message: "bye" }, undefined, false);
  s.requests.written(77.5);
  s.requests.faulted("FRAME_TOO_LARGE");
  assert.deepEqual(s.rejected, ["BAD_REQUEST", "GOING_AWAY", "FRAME_TOO_LARGE"]);
  assert.deepEqual(s.written, [77.5]);
  const sent = s.sent();
  assert.deepEqual(sent[0], { out: "error", result: { code: "BAD_REQUEST", message: "params must be an array" }, id: 8 });
  assert.equal(sent[1].result.code, "GOING_AWAY");
  assert.equal("id" in sent[1], false);
  assert.equal(s.answers.owed, 0);
});
