/** Unit tests of the pieces: which connection a call goes to, reconnect delays, options, meta. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { leastBusy } from "../../src/client/pool.ts";
import { backoffDelay } from "../../src/client/backoff.ts";
import { resolveOptions } from "../../src/client/options.ts";
import { PendingCall } from "../../src/client/call.ts";

const conn = (outstanding: number, usable = true) => ({ outstanding, usable });

test("leastBusy picks the usable connection with the fewest outstanding calls, the first on a tie", () => {
  const a = conn(3);
  const b = conn(1);
  const c = conn(1);
  const d = conn(0, false);
  assert.equal(leastBusy([a, b, c, d]), b);
  assert.equal(leastBusy([null, a, null]), a);
  assert.equal(leastBusy([d, null]), null, "none usable: the call waits");
  assert.equal(leastBusy([]), null);
});

test("leastBusy avoids the connection that refused a call, unless it is the only one usable", () => {
  const a = conn(0);
  const b = conn(9);
  assert.equal(leastBusy([a, b], a), b);
  assert.equal(leastBusy([a, conn(0, false)], a), a);
  assert.equal(leastBusy([conn(0, false)], conn(0, false)), null);
});

test("property: leastBusy's choice is usable and no other usable candidate (but the avoided one) has fewer calls", () => {
  const candidate = fc.option(fc.record({ outstanding: fc.nat(20), usable: fc.boolean() }), { nil: null });
  fc.assert(
    fc.property(fc.array(candidate, { maxLength: 8 }), fc.nat(8), (list, avoidAt) => {
      const avoid = list[avoidAt] ?? null;
      const pick = leastBusy(list, avoid);
      const others = list.filter((c) => c !== null && c.usable && c !== avoid);
      if (others.length > 0) {
        assert.ok(pick !== null && pick !== avoid && pick.usable);
        for (const o of others) assert.ok(pick.outstanding <= o!.outstanding);
      } else {
        assert.equal(pick, avoid !== null && avoid.usable ? avoid : null);
      }
    }),
  );
});

const LIMITS = { reconnectDelayMs: 50, reconnectDelayMaxMs: 5_000 };

test("backoff doubles from the base, stays in the upper half of its ceiling, and is capped", () => {
  assert.equal(backoffDelay(0, LIMITS, () => 0), 25);
  assert.equal(backoffDelay(0, LIMITS, () => 1), 50);
  assert.equal(backoffDelay(1, LIMITS, () => 1), 100);
  assert.equal(backoffDelay(3, LIMITS, () => 0.5), 300);
  assert.equal(backoffDelay(7, LIMITS, () => 1), 5_000, "capped");
  assert.equal(backoffDelay(10_000, LIMITS, () => 1), 5_000, "no overflow");
  assert.equal(backoffDelay(-1, LIMITS, () => 1), 50, "negative counts as none");
  assert.equal(backoffDelay(0, { reconnectDelayMs: 1, reconnectDelayMaxMs: 1 }, () => 0), 1, "never 0");
});

test("property: every delay is within [ceiling/2, ceiling] and never above the cap", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, r) => {
      const d = backoffDelay(failures, LIMITS, () => r);
      const ceiling = Math.min(LIMITS.reconnectDelayMaxMs, LIMITS.reconnectDelayMs * 2 ** failures);
      assert.ok(d >= Math.floor(ceiling / 2) && d <= ceiling, `${failures} failures: ${d}`);
    }),
  );
});

test("options: defaults, and a TypeError naming a bad option", () => {
  const o = resolveOptions({ port: 8080 });
  assert.equal(o.host, "127.0.0.1");
  assert.equal(o.connections, 1);
  assert.equal(o.timeoutMs, 10_000);
  assert.equal(o.maxRetries, 5);
  assert.equal(o.readTimeoutMs, 10_000);
  assert.equal(resolveOptions({ port: 1, readTimeoutMs: 0 }).readTimeoutMs, 0, "0 turns it off");
  assert.throws(() => resolveOptions({ port: 1, readTimeoutMs: -1 }), /options.readTimeoutMs must be an integer from 0/);
  assert.throws(() => resolveOptions({ port: 1, readTimeoutMs: 1.5 }), /options.readTimeoutMs/);
  assert.throws(() => resolveOptions({ port: 0 }), /options.port must be an integer from 1 to 65535/);
  assert.throws(() => resolveOptions({ port: 1, connections: 0 }), /options.connections/);
  assert.throws(() => resolveOptions({ port: 1, timeoutMs: -1 }), /options.timeoutMs/);
  assert.throws(() => resolveOptions({ port: 1, reconnectDelayMs: 100, reconnectDelayMaxMs: 10 }), /reconnectDelayMaxMs/);
  assert.throws(() => resolveOptions({ port: 1, meta: [] as unknown as Record<string, unknown> }), /options.meta must be an object/);
  assert.throws(() => resolveOptions(undefined as never), TypeError);
});

test("options.tls: absent is plaintext; a cert needs its key; unknown keys and bad types are TypeErrors", () => {
  assert.equal(resolveOptions({ port: 1 }).tls, undefined);
  const tls = resolveOptions({ port: 1, tls: { ca: "CA", servername: "localhost" } }).tls;
  assert.deepEqual(tls, { connect: { ca: "CA", servername: "localhost" }, session: undefined });
  assert.throws(() => resolveOptions({ port: 1, tls: { cert: "C" } }), /options.tls: give cert and key together/);
  assert.throws(() => resolveOptions({ port: 1, tls: { key: "K" } }), /options.tls: give cert and key together/);
  assert.throws(() => resolveOptions({ port: 1, tls: { ca: "CA", cafile: "x" } as never }), /options.tls has an unknown key "cafile"/);
  assert.throws(() => resolveOptions({ port: 1, tls: { rejectUnauthorized: "no" } as never }), /rejectUnauthorized must be a boolean/);
  assert.throws(() => resolveOptions({ port: 1, tls: { servername: "" } }), /servername must be a non-empty string/);
  assert.throws(() => resolveOptions({ port: 1, tls: null as never }), /options.tls must be an object/);
});

test("meta sent with a call: the caller's headers plus the time left, ours winning", () => {
  const now = performance.now();
  const plain = new PendingCall("m", "null", undefined, 0, false, false);
  assert.equal(plain.metaToSend(now), undefined, "no limit, no headers: no meta");
  const headers = new PendingCall("m", "null", '{"token":"t"}', 0, false, false);
  assert.equal(headers.metaToSend(now), '{"token":"t"}');
  const timed = new PendingCall("m", "null", undefined, 500, false, false);
  const left = JSON.parse(timed.metaToSend(performance.now())!).timeoutMs;
  assert.ok(left > 490 && left <= 500, String(left));
  const both = new PendingCall("m", "null", '{"token":"t","timeoutMs":99999}', 500, false, false);
  const sent = JSON.parse(both.metaToSend(performance.now())!);
  assert.equal(sent.token, "t");
  assert.ok(sent.timeoutMs <= 500, "the deadline's own timeoutMs wins");
  const late = new PendingCall("m", "null", "{}", 5, false, false);
  assert.equal(late.metaToSend(now + 60_000), '{"timeoutMs":1}', "never 0 or negative");
  for (const c of [plain, headers, timed, both, late]) c.promise.catch(() => {});
});
