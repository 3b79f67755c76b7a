/**
 * The master's state machine, driven event by event with a fake shell and a
 * fake clock: no fork, no signal, no real timer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HeartbeatMessage } from "../../src/cluster/ipc.ts";
import { serviceManagerObserver } from "../../src/cluster/notify.ts";
import type { WorkerState } from "../../src/cluster/records.ts";
import { fakeMaster, INFO, serving, settle } from "./fake-master.ts";

const SUP = { respawnDelayMs: 100, respawnDelayMaxMs: 1_000, minUptimeMs: 10_000, crashLoopLimit: 3 };

function beat(served: number, rssBytes = 0): HeartbeatMessage {
  return { act: "forkrpc:heartbeat", served, connections: 0, accepted: 0, rejected: 0, acceptFailed: 0, rssBytes, oldest: [], inflight: 0 };
}

test("start: forks the target, announces once every worker is ready, with the ready count", () => {
  const { master, forked, announced } = fakeMaster({ workers: 3 });
  master.start();
  assert.equal(forked.length, 3);
  assert.equal(master.phase, "starting");
  master.workerReady(forked[0]!, INFO);
  master.workerReady(forked[1]!, INFO);
  assert.equal(announced.length, 0);
  master.workerReady(forked[2]!, INFO);
  master.workerReady(forked[2]!, INFO);
  assert.deepEqual(announced, [{ ...INFO, workers: 3 }]);
  assert.equal(master.phase, "serving");
});

test("a boot failure before the ready line stops the master with 1, the hint said once", () => {
  const { master, forked, actions, finished, logs } = fakeMaster({ workers: 2 });
  master.start();
  const [a, b] = forked as [NonNullable<(typeof forked)[0]>, NonNullable<(typeof forked)[0]>];
  master.workerBootFailed(a, "ADDRESS_IN_USE: 127.0.0.1:4000");
  master.workerBootFailed(b, "ADDRESS_IN_USE: 127.0.0.1:4000");
  assert.equal(master.phase, "stopping");
  assert.deepEqual(actions, [`kill ${a.pid}`, `kill ${b.pid}`], "booting workers are killed on a failed start");
  assert.equal(logs.filter((l) => l.includes("hint: another server has the port")).length, 1);
  master.workerExited(a, 1, null);
  assert.deepEqual(finished, []);
  master.workerExited(b, null, "SIGKILL");
  assert.deepEqual(finished, [1]);
  assert.equal(master.phase, "stopped");
});

test("respawn: no delay after a healthy death, backoff after early ones, a crash loop stops the master", () => {
  const { master, clock, forked, finished, logs } = serving({ workers: 1, supervision: SUP });
  clock.advance(60_000);
  master.workerExited(forked[0]!, 1, null);
  assert.equal(forked.length, 1, "the respawn waits for its timer");
  clock.advance(0);
  assert.equal(forked.length, 2, "respawned at once after a worker that lived");
  // Two early deaths: respawned after 100 then 200 ms.
  for (const delay of [100, 200]) {
    master.workerExited(forked.at(-1)!, 1, null);
    clock.advance(delay - 1);
    const before: number = forked.length;
    clock.advance(1);
    assert.equal(forked.length, before + 1, `respawned after ${delay} ms`);
  }
  master.workerExited(forked.at(-1)!, 1, null);
  assert.equal(master.crashes, 3);
  assert.match(logs.join("\n"), /crash loop: 3 workers died within minUptimeMs of booting/);
  assert.equal(master.phase, "stopped", "no worker was left to wait for");
  assert.equal(master.workers().length, 0);
  assert.deepEqual(finished, [1]);
});

test("healthy deaths past crashLoopLimit never stop the master: the counter resets after a worker that lived past minUptimeMs", () => {
  const { master, clock, forked } = serving({ workers: 1, supervision: SUP });
  for (let i = 0; i < SUP.crashLoopLimit * 3; i++) {
    const current = forked.at(-1)!;
    // One early death first, so the count is not 0 when the healthy one comes.
    if (i % 2 === 0) {
      master.workerExited(current, 1, null);
      clock.advance(1_000);
      const next = forked.at(-1)!;
      master.workerReady(next, INFO);
      clock.advance(SUP.minUptimeMs);
      master.workerExited(next, 1, null);
    } else {
      clock.advance(SUP.minUptimeMs);
      master.workerExited(current, null, "SIGKILL");
    }
    assert.equal(master.crashes, 0);
    clock.advance(0);
    master.workerReady(forked.at(-1)!, INFO);
  }
  assert.equal(master.phase, "serving");
  assert.equal(master.workers().length, 1);
});

test("recycling: past maxRequests the worker serves on as 'recycling' until its replacement is ready, then retires", () => {
  const { master, forked, actions } = serving({ workers: 1, supervision: { maxRequests: 10 } });
  const old = forked[0]!;
  master.workerHeartbeat(old, beat(9));
  assert.equal(forked.length, 1);
  master.workerHeartbeat(old, beat(10));
  assert.equal(old.state, "recycling");
  assert.equal(forked.length, 2);
  master.workerHeartbeat(old, beat(11));
  assert.equal(forked.length, 2, "one replacement, not one per heartbeat");
  const fresh = forked[1]!;
  assert.equal(fresh.replaces, old);
  master.workerReady(fresh, INFO);
  assert.equal(old.state, "retiring");
  assert.deepEqual(actions, [`drain ${old.pid} replaced`]);
  master.workerExited(old, 0, null);
  assert.deepEqual(master.workers(), [fresh]);
});

test("recycling: a replacement that cannot boot leaves the old worker serving, and no retry for respawnDelayMaxMs", () => {
  const { master, clock, forked } = serving({ workers: 1, supervision: { ...SUP, maxRequests: 10 } });
  const old = forked[0]!;
  master.workerHeartbeat(old, beat(10));
  master.workerBootFailed(forked[1]!, "PLUGIN_LOAD_FAILED: broken.ts");
  master.workerExited(forked[1]!, 1, null);
  assert.equal(old.state, "ready");
  assert.equal(master.crashes, 0, "not counted as a crash");
  master.workerHeartbeat(old, beat(12));
  assert.equal(forked.length, 2);
  clock.advance(SUP.respawnDelayMaxMs);
  master.workerHeartbeat(old, beat(13));
  assert.equal(forked.length, 3);
});

test("the hang check kills a worker with no heartbeat for workerTimeoutMs, and its exit is respawned", () => {
  const { master, clock, forked, actions, logs } = serving({ workers: 2, supervision: { workerTimeoutMs: 3_000 } });
  clock.advance(2_000);
  master.workerHeartbeat(forked[1]!, beat(1));
  clock.advance(1_500);
  master.checkHangs();
  assert.equal(forked[0]!.state, "killed");
  assert.equal(forked[1]!.state, "ready");
  assert.deepEqual(actions, [`kill ${forked[0]!.pid}`]);
  assert.match(logs.join("\n"), /killing worker \d+: hung: no heartbeat for 3500 ms/);
  master.workerExited(forked[0]!, null, "SIGKILL");
  // It had served for less than minUptimeMs: an early death, respawned after respawnDelayMs.
  clock.advance(99);
  assert.equal(forked.length, 2);
  clock.advance(1);
  assert.equal(forked.length, 3);
});

test("a worker still booting after bootTimeoutMs before the ready line: killed, and the master stops with 1", () => {
  const { master, clock, forked, finished } = fakeMaster({ workers: 1, supervision: { bootTimeoutMs: 5_000 } });
  master.start();
  clock.advance(5_001);
  master.checkHangs();
  assert.equal(forked[0]!.state, "killed");
  assert.match(forked[0]!.endReason ?? "", /not ready after 5000 ms/);
  master.workerExited(forked[0]!, null, "SIGKILL");
  assert.deepEqual(finished, [1]);
});

test("reload: the new generation boots beside the old one, which retires only once all of it is ready", async () => {
  const { master, forked, actions, logs } = serving({ workers: 2 });
  master.signal("SIGHUP");
  await settle();
  assert.equal(forked.length, 4);
  assert.match(logs.join("\n"), /reload \(SIGHUP\): booting generation 2 with 2 workers/);
  master.workerReady(forked[2]!, INFO);
  assert.deepEqual(actions, []);
  master.workerReady(forked[3]!, INFO);
  assert.deepEqual(actions, [`drain ${forked[0]!.pid} reload`, `drain ${forked[1]!.pid} reload`]);
  assert.equal(master.reloads.serving, 2);
});

test("an abandoned reload: booting workers killed, ready ones retired, their exits expected, and the next reload gets a new generation", async () => {
  const { master, clock, forked, actions, logs } = serving({ workers: 2, supervision: SUP });
  master.signal("SIGHUP");
  await settle();
  const [, , ok, bad] = forked;
  master.workerReady(ok!, INFO);
  master.workerBootFailed(bad!, "PLUGIN_LOAD_FAILED: broken.ts");
  assert.match(logs.join("\n"), /reload abandoned, old workers keep serving/);
  assert.deepEqual(actions, [`drain ${ok!.pid} reload abandoned`, `kill ${bad!.pid}`]);
  // A SIGHUP right after the abandon, before those exits arrive.
  master.signal("SIGHUP");
  await settle();
  assert.match(logs.join("\n"), /booting generation 3/);
  master.workerExited(bad!, null, "SIGKILL");
  master.workerExited(ok!, 0, null);
  assert.notEqual(master.reloads.active, null, "the exits of generation 2 do not abandon generation 3");
  assert.equal(master.crashes, 0);
  for (const r of forked.slice(4)) master.workerReady(r, INFO);
  assert.equal(master.reloads.serving, 3);
  clock.advance(0);
  assert.equal(forked.length, 6, "nothing respawned for the abandoned workers");
});

test("a reload whose config fails to load changes nothing", async () => {
  const fake = serving({ workers: 1 });
  fake.reloadWith = new Error("syntax error");
  fake.master.signal("SIGHUP");
  await settle();
  assert.equal(fake.forked.length, 1);
  assert.match(fake.logs.join("\n"), /reload abandoned, old workers keep serving: config: .*syntax error/);
  assert.equal(fake.master.reloads.active, null);
});

test("SIGTTIN forks one more; SIGTTOU retires the oldest, never the last", () => {
  const { master, clock, forked, actions, logs } = serving({ workers: 1 });
  master.signal("SIGTTIN");
  clock.advance(0);
  assert.equal(forked.length, 2);
  master.workerReady(forked[1]!, INFO);
  master.signal("SIGTTOU");
  assert.deepEqual(actions, [`drain ${forked[0]!.pid} scaled down`]);
  master.workerExited(forked[0]!, 0, null);
  master.signal("SIGTTOU");
  assert.match(logs.at(-1) ?? "", /SIGTTOU ignored: at least one worker stays/);
  assert.equal(master.target, 1);
});

test("SIGTERM drains every worker and finishes with 0 once all are gone; a second SIGTERM kills", () => {
  const { master, clock, forked, actions, finished } = serving({ workers: 2, shutdown: { graceMs: 1_000 } });
  master.signal("SIGTERM");
  assert.deepEqual(actions, [`drain ${forked[0]!.pid} SIGTERM`, `drain ${forked[1]!.pid} SIGTERM`]);
  master.workerExited(forked[0]!, 0, null);
  master.signal("SIGTERM");
  assert.deepEqual(actions.slice(2), [`kill ${forked[1]!.pid}`]);
  clock.advance(60_000);
  master.workerExited(forked[1]!, null, "SIGKILL");
  assert.deepEqual(finished, [0]);
});

test("observers see every state change in order; one that throws is logged and the master goes on", () => {
  const { master, forked, logs } = fakeMaster({ workers: 1, supervision: { maxRequests: 1 } });
  const seen: string[] = [];
  master.observe({
    worker: (r, from: WorkerState | null) => seen.push(`${r.pid}: ${from ?? "forked"} -> ${r.state}`),
    phase: (p) => seen.push(`master: ${p}`),
  });
  master.observe({
    heartbeat: () => {
      throw new Error("metrics are down");
    },
  });
  master.start();
  const a = forked[0]!;
  master.workerReady(a, INFO);
  master.workerHeartbeat(a, beat(1));
  const b = forked[1]!;
  master.workerReady(b, INFO);
  master.workerExited(a, 0, null);
  assert.deepEqual(seen, [
    `${a.pid}: forked -> booting`,
    `${a.pid}: booting -> ready`,
    "master: serving",
    `${a.pid}: ready -> recycling`,
    `${b.pid}: forked -> booting`,
    `${b.pid}: booting -> ready`,
    `${a.pid}: recycling -> retiring`,
    `${a.pid}: retiring -> exited`,
  ]);
  assert.match(logs.join("\n"), /master observer failed: (Error: )?metrics are down/);
});

test("systemd hears the master through its observer: RELOADING=1, READY=1 after a reload or its abandon, STOPPING=1", async () => {
  const { master, forked } = serving({ workers: 1 });
  const sent: string[] = [];
  master.observe(serviceManagerObserver({ notify: async (...fields: string[]) => void sent.push(fields.join(" ")) }));
  master.signal("SIGHUP");
  await settle();
  master.workerReady(forked[1]!, INFO);
  master.signal("SIGHUP");
  await settle();
  master.workerBootFailed(forked[2]!, "PLUGIN_LOAD_FAILED: broken.ts");
  master.signal("SIGTERM");
  assert.deepEqual(sent, [
    "RELOADING=1 STATUS=reloading (SIGHUP)",
    "READY=1 STATUS=serving, generation 2",
    "RELOADING=1 STATUS=reloading (SIGHUP)",
    `READY=1 STATUS=serving; reload abandoned: worker ${forked[2]!.pid} of generation 3 failed to boot: PLUGIN_LOAD_FAILED: broken.ts`,
    "STOPPING=1 STATUS=stopping (SIGTERM)",
  ]);
});

test("a recycling worker that dies before its replacement is ready gets no drain (no signal to a dead pid)", () => {
  const { master, clock, forked, actions } = serving({ workers: 1, supervision: { maxRequests: 1 } });
  const old = forked[0]!;
  master.workerHeartbeat(old, beat(1));
  clock.advance(60_000);
  master.workerExited(old, null, "SIGKILL");
  master.workerReady(forked[1]!, INFO);
  assert.deepEqual(actions, []);
  assert.deepEqual(master.workers(), [forked[1]]);
});
