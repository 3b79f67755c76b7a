import { test } from "node:test";
import assert from "node:assert/strict";
import { SUPERVISION_DEFAULTS } from "../../src/config.ts";
import type { HeartbeatMessage } from "../../src/cluster/ipc.ts";
import { crashLoop, hungWorkers, recycleReason, requestLimit, respawnDelay } from "../../src/cluster/policy.ts";
import { newRecord } from "../../src/cluster/records.ts";

const S = { ...SUPERVISION_DEFAULTS, minUptimeMs: 10_000, crashLoopLimit: 3 };

function beat(over: Partial<HeartbeatMessage> = {}): HeartbeatMessage {
  return { act: "forkrpc:heartbeat", served: 0, connections: 0, accepted: 0, rejected: 0, acceptFailed: 0, rssBytes: 0, oldest: [], inflight: 0, ...over };
}

test("respawnDelay: none after a healthy death, then doubling from respawnDelayMs up to respawnDelayMaxMs", () => {
  const s = { respawnDelayMs: 100, respawnDelayMaxMs: 1_000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 30].map((n) => respawnDelay(n, s)), [0, 100, 200, 400, 800, 1_000, 1_000]);
});

test("crashLoop: deaths before ready or within minUptimeMs of it add up; the limit is a loop", () => {
  let crashes = 0;
  const seen: boolean[] = [];
  for (const readyAt of [undefined, 95_000, 99_999]) {
    const r = crashLoop(crashes, { readyAt }, 100_000, S);
    crashes = r.crashes;
    seen.push(r.loop);
  }
  assert.equal(crashes, 3);
  assert.deepEqual(seen, [false, false, true]);
});

test("crashLoop: a worker that lived past minUptimeMs resets the counter, so healthy deaths past crashLoopLimit never stop the master", () => {
  let crashes = S.crashLoopLimit - 1;
  // Ten deaths in a row, every one after minUptimeMs of serving.
  for (let i = 0; i < 10; i++) {
    const now = 1_000_000 + i * 60_000;
    const r = crashLoop(crashes, { readyAt: now - S.minUptimeMs }, now, S);
    assert.equal(r.loop, false, `death ${i + 1} was healthy`);
    assert.equal(r.crashes, 0);
    crashes = r.crashes;
  }
  // After the reset it takes crashLoopLimit early deaths again.
  for (let i = 1; i < S.crashLoopLimit; i++) crashes = crashLoop(crashes, { readyAt: undefined }, 0, S).crashes;
  assert.equal(crashLoop(crashes, { readyAt: undefined }, 0, S).loop, true);
});

test("requestLimit: 0 stays 0; otherwise maxRequests plus jitter in [0, maxRequestsJitter]", () => {
  assert.equal(requestLimit({ maxRequests: 0, maxRequestsJitter: 50 }, () => 0.99), 0);
  assert.equal(requestLimit({ maxRequests: 100, maxRequestsJitter: 50 }, () => 0), 100);
  assert.equal(requestLimit({ maxRequests: 100, maxRequestsJitter: 50 }, () => 0.999999), 150);
  assert.equal(requestLimit({ maxRequests: 100, maxRequestsJitter: 0 }, () => 0.999999), 100);
});

test("recycleReason: served past its limit, or RSS over maxRssMb; only ready workers past recycleAfter", () => {
  const r = { ...newRecord(1, 0, 10), state: "ready" as const, beat: beat({ served: 10 }) };
  assert.equal(recycleReason(r, 0, { maxRssMb: 0 }), "served 10 requests");
  assert.equal(recycleReason({ ...r, beat: beat({ served: 9 }) }, 0, { maxRssMb: 0 }), undefined);
  assert.equal(recycleReason({ ...r, maxRequests: 0 }, 0, { maxRssMb: 0 }), undefined, "0 means never");
  const fat = { ...r, maxRequests: 0, beat: beat({ rssBytes: 300 * 1048576 }) };
  assert.equal(recycleReason(fat, 0, { maxRssMb: 256 }), "RSS 300 MB is over maxRssMb 256");
  assert.equal(recycleReason(fat, 0, { maxRssMb: 0 }), undefined);
  assert.equal(recycleReason({ ...r, state: "recycling" }, 0, { maxRssMb: 0 }), undefined, "already being replaced");
  assert.equal(recycleReason({ ...r, state: "booting" }, 0, { maxRssMb: 0 }), undefined);
  assert.equal(recycleReason({ ...r, beat: undefined }, 0, { maxRssMb: 0 }), undefined, "no heartbeat yet");
  assert.equal(recycleReason({ ...r, recycleAfter: 5 }, 4, { maxRssMb: 0 }), undefined, "its last replacement failed");
  assert.equal(recycleReason({ ...r, recycleAfter: 5 }, 5, { maxRssMb: 0 }), "served 10 requests");
});

// Kills, in recycleReason's RSS rule (src/cluster/policy.ts), the mutants
// `rssBytes > limit` to `true` and to `>=`, and `maxRssMb * 1024 * 1024` to
// `* 1024 / 1024` or `/ 1024 * 1024` (a limit in bytes or KiB, not MiB): each
// recycles a worker whose RSS is at or under maxRssMb.
test("recycleReason: maxRssMb is in MiB, and an RSS exactly at it is not over it", () => {
  const at = (rssBytes: number) => ({ ...newRecord(1, 0, 0), state: "ready" as const, beat: beat({ rssBytes }) });
  assert.equal(recycleReason(at(256 * 1048576), 0, { maxRssMb: 256 }), undefined, "exactly 256 MiB");
  assert.equal(recycleReason(at(200 * 1048576), 0, { maxRssMb: 256 }), undefined, "under the limit");
  assert.equal(recycleReason(at(256 * 1048576 + 1), 0, { maxRssMb: 256 }), "RSS 256 MB is over maxRssMb 256", "one byte over");
});

test("hungWorkers: booting past bootTimeoutMs; ready, recycling or retiring with no heartbeat for workerTimeoutMs", () => {
  const s = { workerTimeoutMs: 3_000, bootTimeoutMs: 5_000 };
  const booting = newRecord(1, 0, 0);
  const bootingYoung = newRecord(1, 1_000, 0);
  const quiet = { ...newRecord(1, 0, 0), state: "ready" as const, lastBeatAt: 2_999 };
  const fine = { ...newRecord(1, 0, 0), state: "ready" as const, lastBeatAt: 3_000 };
  const recycling = { ...quiet, state: "recycling" as const };
  const retiring = { ...quiet, state: "retiring" as const };
  const killed = { ...quiet, state: "killed" as const };
  const out = hungWorkers([booting, bootingYoung, quiet, fine, recycling, retiring, killed], 6_000, s);
  assert.deepEqual(
    out.map((o) => [o.record, o.booting]),
    [[booting, true], [quiet, false], [recycling, false], [retiring, false]],
  );
  assert.equal(out[0]?.why, "not ready after 5000 ms (supervision.bootTimeoutMs)");
  assert.match(out[1]?.why ?? "", /^hung: no heartbeat for 3001 ms; nothing was in flight at its last heartbeat$/);
});

test("hungWorkers names what was running: the watchdog's call and the oldest requests aged to now", () => {
  const r = {
    ...newRecord(1, 0, 0),
    state: "ready" as const,
    lastBeatAt: 1_000,
    beat: beat({ oldest: [{ method: "slow.sleep", id: 7, ms: 500 }], inflight: 2 }),
    lastStall: { act: "forkrpc:stall" as const, blockedMs: 4_000, call: { method: "slow.sleep", id: 7 } },
  };
  const [hung] = hungWorkers([r], 10_000, { workerTimeoutMs: 3_000, bootTimeoutMs: 60_000 });
  assert.equal(hung?.why, "hung: no heartbeat for 9000 ms; blocked in slow.sleep (id 7) for at least 4000 ms; in flight: slow.sleep (id 7) 9500 ms, ...");
});
