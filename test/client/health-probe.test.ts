/** Unit tests of the health probe's verdicts, with fake timers and a fake endpoint: no sockets. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HealthProbe, ProbeCall, type Probed } from "../../src/client/health-probe.ts";
import type { PendingCall } from "../../src/client/call.ts";

function fakeTarget(key: string) {
  const sent: PendingCall[] = [];
  const forgotten: PendingCall[] = [];
  const conn = {
    send: (call: PendingCall) => {
      call.holder = conn;
      sent.push(call);
    },
    forget: (call: PendingCall) => void forgotten.push(call),
  };
  const target = { key, answers: 0, pool: { usable: true, pick: () => conn } };
  return { target, sent, forgotten };
}

function verdicts() {
  const seen: string[] = [];
  return { seen, up: (t: Probed) => void seen.push(`up ${t.key}`), down: (t: Probed, why: string) => void seen.push(`down ${t.key}: ${why}`) };
}

test("a probe answered in time: up; one probe in flight per endpoint", (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
  const a = fakeTarget("a");
  const v = verdicts();
  const probe = new HealthProbe({ intervalMs: 1_000, timeoutMs: 1_000 }, () => [a.target], v);
  probe.start();
  t.mock.timers.tick(1_000);
  assert.equal(a.sent.length, 1);
  const call = a.sent[0] as ProbeCall;
  assert.ok(call instanceof ProbeCall && call.method === "rpc.health");
  t.mock.timers.tick(500);
  probe.answered(call);
  assert.deepEqual(v.seen, ["up a"]);
  t.mock.timers.tick(1_000);
  assert.equal(a.sent.length, 2, "the next interval probes again");
  t.mock.timers.tick(200);
  probe.answered(a.sent[1] as ProbeCall);
  assert.deepEqual(v.seen, ["up a", "up a"]);
  probe.stop();
});

test("no answer within the deadline, and no answer to any call: down; answers to calls meanwhile: no verdict", (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
  const silent = fakeTarget("silent");
  const busy = fakeTarget("busy");
  const v = verdicts();
  const probe = new HealthProbe({ intervalMs: 1_000, timeoutMs: 700 }, () => [silent.target, busy.target], v);
  probe.start();
  t.mock.timers.tick(1_000);
  busy.target.answers++; // a call was answered on busy's connection: it is alive, only slow to answer the probe
  t.mock.timers.tick(700);
  assert.deepEqual(v.seen, ["down silent: no answer to rpc.health within 700 ms: the host is taken for gone"]);
  assert.deepEqual(silent.forgotten, [silent.sent[0]], "the expired probe is dropped from its connection");
  assert.deepEqual(busy.forgotten, [busy.sent[0]]);
  probe.stop();
});

test("a probe dropped with its connection gives no verdict; unusable endpoints are not probed", (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
  const a = fakeTarget("a");
  const b = fakeTarget("b");
  b.target.pool.usable = false;
  const v = verdicts();
  const probe = new HealthProbe({ intervalMs: 1_000, timeoutMs: 1_000 }, () => [a.target, b.target], v);
  probe.start();
  t.mock.timers.tick(1_000);
  probe.dropped(a.sent[0] as ProbeCall);
  t.mock.timers.tick(999);
  assert.deepEqual(v.seen, []);
  assert.equal(b.sent.length, 0);
  probe.stop();
  t.mock.timers.tick(5_000);
  assert.deepEqual(v.seen, [], "nothing after stop");
});
