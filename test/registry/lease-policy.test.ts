// The registration timeline as pure functions: no etcd, no timers.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as p from "../../src/registry/lease-policy.ts";

const TTL = 10;
const half = () => 0; // the lower end of each jittered delay

test("first grant, then put, then keepalive every ttl/3", () => {
  let s = p.INITIAL;
  assert.equal(p.nextStep(s, 0), "grant");
  assert.equal(p.delayMs(s, TTL, 0), 0);
  s = p.granted(s, "42", TTL, 1_000);
  assert.equal(p.nextStep(s, 1_000), "put");
  assert.equal(p.delayMs(s, TTL, 1_000), 0);
  s = p.put(s);
  assert.equal(p.nextStep(s, 1_000), "keepalive");
  assert.equal(p.delayMs(s, TTL, 1_000), 3_333);
  s = p.keptAlive(s, 4_333);
  assert.equal(p.nextStep(s, 4_333), "keepalive");
});

test("a changed record is put again under the same lease", () => {
  const s = p.changed(p.put(p.granted(p.INITIAL, "42", TTL, 0)));
  assert.equal(p.nextStep(s, 10), "put");
  assert.equal(s.lease, "42");
  assert.equal(p.delayMs(s, TTL, 10), 0);
});

test("etcd away: retries back off from 50-100 ms to at most ttl/4, and the lease is kept while it may live", () => {
  let s = p.put(p.granted(p.INITIAL, "42", TTL, 0));
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    s = p.failed(s, false);
    delays.push(p.delayMs(s, TTL, 1_000, half));
  }
  assert.deepEqual(delays, [50, 100, 200, 400, 800, 1_250, 1_250, 1_250]);
  assert.equal(p.delayMs(s, TTL, 1_000, () => 1), 2_500);
  assert.equal(s.lease, "42");
  assert.equal(p.nextStep(s, 9_999), "keepalive");
  // Past the TTL since the last keepalive the lease is surely gone: grant anew.
  assert.equal(p.nextStep(s, 10_000), "grant");
});

test("a lost lease is granted again at once, then put", () => {
  let s = p.put(p.granted(p.INITIAL, "42", TTL, 0));
  s = p.failed(s, true);
  assert.equal(s.lease, null);
  assert.equal(p.nextStep(s, 100), "grant");
  assert.equal(p.delayMs(s, TTL, 100), 0);
  // Lost again right away (a confused etcd): now it backs off.
  s = p.failed(s, true);
  assert.ok(p.delayMs(s, TTL, 100, half) > 0);
  s = p.granted(s, "43", TTL, 200);
  assert.equal(p.nextStep(s, 200), "put");
  assert.equal(s.failures, 0);
});

test("the retry cap follows the ttl: short leases retry fast, long ones no slower than 5 s", () => {
  assert.equal(p.retryMaxMs(2), 500);
  assert.equal(p.retryMaxMs(10), 2_500);
  assert.equal(p.retryMaxMs(3_600), 5_000);
  assert.equal(p.keepAliveEveryMs(3), 1_000);
  assert.equal(p.keepAliveEveryMs(1), 333);
});

test("logs once per outage: failing on the first failure, recovered on the first success after", () => {
  const ok = p.put(p.granted(p.INITIAL, "42", TTL, 0));
  const f1 = p.failed(ok, false);
  const f2 = p.failed(f1, false);
  assert.equal(p.logTransition(ok, f1), "failing");
  assert.equal(p.logTransition(f1, f2), null);
  assert.equal(p.logTransition(f2, p.keptAlive(f2, 5)), "recovered");
  assert.equal(p.logTransition(ok, p.keptAlive(ok, 5)), null);
});
