import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeError, encodeResponse, errorCodeOf } from "../../src/protocol/envelope.ts";
import { CallMetrics } from "../../src/metrics/recorder.ts";
import { MetricTotals, countOf, quantile } from "../../src/metrics/totals.ts";
import { renderMetrics } from "../../src/metrics/exposition.ts";
import { DURATION_BOUNDS, MAX_CODES, OTHER_CODE, bucketOf } from "../../src/metrics/shape.ts";
import { parseMetrics, sum } from "../helpers/metrics.ts";

test("errorCodeOf: the code of an encoded error, null for a result (even one with a code field)", () => {
  assert.equal(errorCodeOf(encodeError({ code: "METHOD_NOT_FOUND", message: "x" }, 7)), "METHOD_NOT_FOUND");
  assert.equal(errorCodeOf(encodeError({ code: "MY_OWN", message: "x", data: { a: 1 } }, undefined)), "MY_OWN");
  assert.equal(errorCodeOf(encodeResponse(JSON.stringify("pong"), { code: "OK" }, 1)), null);
});

test("bucketOf: the first bound at or above the value, the last slot past them all", () => {
  assert.equal(bucketOf([1, 2, 5], 0.5), 0);
  assert.equal(bucketOf([1, 2, 5], 2), 1);
  assert.equal(bucketOf([1, 2, 5], 5.01), 3);
});

test("quantile interpolates inside the bucket as histogram_quantile does; NaN when empty", () => {
  assert.ok(Number.isNaN(quantile([1, 2], [0, 0, 0], 0.5)));
  assert.equal(quantile([1, 2], [0, 10, 0], 0.5), 1.5);
  assert.equal(quantile([1, 2], [10, 0, 0], 0.99), 0.99);
  assert.equal(quantile([1, 2], [0, 0, 4], 0.5), 2, "past the last bound: the last bound");
});

test("a worker's deltas add up in the master: counts, sums, codes, sizes; a second take is empty", () => {
  const rec = new CallMetrics(["ping", "slow"]);
  // Read at 100 ms, written at 100.02 ms: 20 us each.
  for (let i = 0; i < 5; i++) rec.record(0, null, 100, 30, 40);
  rec.record(rec.other, "METHOD_NOT_FOUND", 100.01, 20, 80);
  rec.written(100.02);
  rec.record(1, "DEADLINE_EXCEEDED", 0, 10, 90);
  rec.written(1500);
  rec.rejected("PARSE_ERROR");
  const totals = new MetricTotals();
  const first = rec.take({ slow: 2 });
  assert.deepEqual(first.methods, ["ping", "slow"]);
  totals.add(0, first);
  const second = rec.take({});
  assert.equal(second.methods, undefined, "the method list goes once");
  assert.deepEqual([second.calls, second.requestSizes, second.framesRejected], [[], [], {}]);
  totals.add(0, second);
  const ping = totals.calls.get("ping")?.get("OK");
  assert.equal(countOf(ping!), 5);
  assert.ok(Math.abs(ping!.sum - 0.0001) < 1e-9, `sum in seconds: ${ping!.sum}`);
  assert.equal(ping!.buckets[bucketOf(DURATION_BOUNDS, 0.00002)], 5);
  assert.equal(countOf(totals.calls.get("slow")!.get("DEADLINE_EXCEEDED")!), 1);
  assert.equal(countOf(totals.calls.get("slow")!.get("INTERNAL")!), 0, "error series exist at zero");
  assert.equal(countOf(totals.calls.get("_OTHER")!.get("METHOD_NOT_FOUND")!), 1);
  assert.equal(totals.requestSizes.get("ping")!.sum, 150);
  assert.equal(totals.slot(0).framesRejected.get("PARSE_ERROR"), 1);
});

test("calls not yet written when the heartbeat comes are timed up to it; more than 1024 pending grow the buffer", () => {
  const rec = new CallMetrics(["m"]);
  const before = performance.now();
  for (let i = 0; i < 3000; i++) rec.record(0, null, before, 1, 1);
  const [call] = rec.take({}).calls;
  assert.equal(call!.buckets.reduce((a, b) => a + b, 0), 3000);
  assert.ok(call!.sum >= 0);
});

test("handlers' own codes get their label until MAX_CODES, then _OTHER", () => {
  const rec = new CallMetrics(["m"]);
  for (let i = 0; i < MAX_CODES + 5; i++) rec.record(0, `CODE_${i}`, 0, 1, 1);
  const codes = rec.take({}).calls.map((c) => c.code);
  assert.ok(codes.includes("CODE_0"));
  assert.ok(codes.includes(OTHER_CODE));
  assert.ok(codes.length <= MAX_CODES);
});

test("the exposition: HELP and TYPE per family, cumulative buckets, escaped label values, workers and restarts", () => {
  const totals = new MetricTotals();
  totals.declare(['we"ird\\name']);
  const rec = new CallMetrics(["ping"]);
  rec.record(0, null, 10, 1, 1);
  rec.written(10.02);
  rec.record(0, null, 10, 1, 1);
  rec.written(13);
  totals.add(1, rec.take({}));
  totals.restarted("crash");
  const text = renderMetrics({
    totals,
    workers: [{ slot: 1, pid: 9, state: "ready", generation: 0, connections: 3, rssBytes: 1000, loopDelayP50: 0.001, loopDelayP99: 0.002, inflight: { ping: 2 }, beatAt: 0 }],
    states: new Map([["ready", 1]]),
    version: "1.2.3",
    master: { rssBytes: 5, cpuSeconds: 0.5 },
  });
  const s = parseMetrics(text);
  const families = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
  for (const f of families) assert.match(text, new RegExp(`# HELP ${f} `));
  assert.equal(sum(s, "forkrpc_rpc_server_call_duration_seconds_bucket", { rpc_method: "ping", code: "OK", le: "+Inf" }), 2);
  assert.equal(sum(s, "forkrpc_rpc_server_call_duration_seconds_bucket", { rpc_method: "ping", code: "OK", le: "0.001" }), 1);
  assert.equal(sum(s, "forkrpc_rpc_server_call_duration_seconds_count", { rpc_method: 'we"ird\\name' }), 0);
  assert.equal(sum(s, "forkrpc_rpc_server_calls_in_flight", { rpc_method: "ping" }), 2);
  assert.equal(sum(s, "forkrpc_connections_open", { worker: "1" }), 3);
  assert.equal(sum(s, "forkrpc_worker_restarts_total", { reason: "crash" }), 1);
  assert.equal(sum(s, "forkrpc_worker_restarts_total", { reason: "hung" }), 0);
  assert.equal(sum(s, "forkrpc_build_info", { version: "1.2.3" }), 1);
  const refused = s.filter((x) => x.name === "forkrpc_frames_rejected_total" && x.labels.worker === "1").map((x) => x.labels.code);
  assert.deepEqual(refused, ["PARSE_ERROR", "INVALID_REQUEST", "UNAVAILABLE", "FRAME_TOO_LARGE", "BAD_FRAME"], "refusal codes at zero from the start, no others");
  assert.equal(sum(s, "nodejs_eventloop_delay_seconds", { worker: "1", quantile: "0.99" }), 0.002);
});
