/** Unit tests of the balancing policy: power of two choices, endpoint parsing, the endpoints options. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { endpointKey, pickOfTwo } from "../../src/client/balancer.ts";
import { resolveOptions } from "../../src/client/options.ts";

/** mulberry32: a seeded random, so a run can be repeated exactly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const at = (outstanding: number) => ({ outstanding });

test("pickOfTwo: none, one, and the less loaded of the two drawn", () => {
  assert.equal(pickOfTwo([], 0, Math.random), null);
  const only = at(7);
  assert.equal(pickOfTwo([only, at(0)], 1, Math.random), only, "only the first `count` entries are candidates");
  const a = at(5);
  const b = at(1);
  // random() = 0 draws i = 0, then j from the others: 0 -> 1.
  assert.equal(pickOfTwo([a, b], 2, () => 0), b);
  assert.equal(pickOfTwo([b, a], 2, () => 0), b);
  // A tie keeps the first drawn.
  const c = at(1);
  assert.equal(pickOfTwo([b, c], 2, () => 0), b);
  assert.equal(pickOfTwo([b, c], 2, () => 0.99), c);
});

test("pickOfTwo: the pick is one of the candidates and never more loaded than the second most loaded", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(50), { minLength: 2, maxLength: 9 }), fc.integer(), (loads, seed) => {
      const list = loads.map(at);
      const pick = pickOfTwo(list, list.length, seeded(seed));
      assert.ok(pick !== null && list.includes(pick));
      // Two distinct entries are compared: the pick is at most the second largest load.
      const sorted = [...loads].sort((x, y) => x - y);
      assert.ok(pick.outstanding <= (sorted[sorted.length - 2] as number));
    }),
  );
});

test("pickOfTwo with a seeded random: loads track a simulated cluster, each endpoint gets a fair share", () => {
  const random = seeded(42);
  const endpoints = Array.from({ length: 4 }, () => ({ outstanding: 0, sent: 0 }));
  // 8 000 calls; each pick adds one outstanding, and the oldest call of a random endpoint ends.
  for (let i = 0; i < 8_000; i++) {
    const e = pickOfTwo(endpoints, endpoints.length, random)!;
    e.outstanding++;
    e.sent++;
    const done = endpoints[Math.floor(random() * endpoints.length)]!;
    if (done.outstanding > 0) done.outstanding--;
  }
  for (const e of endpoints) assert.ok(e.sent > 1_500 && e.sent < 2_500, `a fair share: ${endpoints.map((x) => x.sent).join(", ")}`);
  // One slow endpoint (its calls never end) soon gets almost nothing new.
  const slow = { outstanding: 100, sent: 0 };
  const fast = [slow, { outstanding: 0, sent: 0 }, { outstanding: 0, sent: 0 }];
  for (let i = 0; i < 3_000; i++) {
    const e = pickOfTwo(fast, fast.length, random)!;
    e.sent++;
    if (e !== slow) e.outstanding = 0;
  }
  assert.equal(slow.sent, 0, "the loaded endpoint loses every comparison");
});

test("endpointKey: host:port, IPv6 hosts in brackets", () => {
  assert.equal(endpointKey("::1", 80), "[::1]:80");
  assert.equal(endpointKey("10.0.0.5", 80), "10.0.0.5:80");
});

test("resolveOptions: endpoints replace host and port; health defaults and limits", () => {
  const r = resolveOptions({ endpoints: ["127.0.0.1:1", "[::1]:2"] });
  assert.deepEqual(r.endpoints, ["127.0.0.1:1", "[::1]:2"]);
  assert.deepEqual(r.health, { intervalMs: 1_000, timeoutMs: 1_000 });
  assert.equal(resolveOptions({ port: 1 }).endpoints, null);
  assert.equal(resolveOptions({ endpoints: ["a:1"], health: false }).health, null);
  assert.deepEqual(resolveOptions({ endpoints: ["a:1"], health: { intervalMs: 200 } }).health, { intervalMs: 200, timeoutMs: 1_000 });
  assert.throws(() => resolveOptions({ endpoints: ["a:1"], port: 1 }), /replaces host and port/);
  assert.throws(() => resolveOptions({ endpoints: [] }), /non-empty array/);
  assert.throws(() => resolveOptions({ endpoints: ["a:1", "a:1"] }), /twice/);
  assert.throws(() => resolveOptions({ endpoints: ["a"] }), /options.endpoints: "a" is not HOST:PORT/);
  assert.throws(() => resolveOptions({ endpoints: ["a:0"] }), /is not HOST:PORT/);
  assert.throws(() => resolveOptions({ endpoints: [8080 as unknown as string] }), /number is not a "host:port" string/);
  assert.throws(() => resolveOptions({ endpoints: ["a:1", "[::1]:1"], service: "x" }), /options.service needs options.etcd/);
  assert.throws(() => resolveOptions({ etcd: { endpoints: ["localhost:2379"] } }), /options.etcd.endpoints must be/);
  assert.throws(() => resolveOptions({ etcd: { endpoints: ["http://e:2379"] }, service: "a/b" }), /options.service must be/);
  assert.throws(() => resolveOptions({ etcd: { endpoints: ["http://e:2379"] }, port: 1 }), /give no endpoints, host or port/);
  assert.deepEqual(resolveOptions({ etcd: { endpoints: ["http://e:2379"] } }).discovery, {
    etcd: ["http://e:2379"],
    prefix: "/forkrpc",
    service: "default",
    timeoutMs: 2_000,
  });
  assert.throws(() => resolveOptions({ endpoints: ["a:1"], health: { timeoutMs: 0 } }), /health.timeoutMs/);
  assert.throws(() => resolveOptions({}), /options.port/);
});
