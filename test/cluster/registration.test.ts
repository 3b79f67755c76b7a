// The master's registration without etcd or a fork: what it registers, when
// it updates, and that a SIGTERM withdraws before the supervisor drains.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NetworkInterfaceInfo } from "node:os";
import { resolveConfig } from "../../src/config.ts";
import { newRecord } from "../../src/cluster/records.ts";
import { masterRegistration } from "../../src/cluster/registration.ts";
import { advertisedAddress } from "../../src/cluster/registration-record.ts";
import type { InstanceRecord, Registration } from "../../src/registry/types.ts";

const nic = (address: string, family: "IPv4" | "IPv6", internal = false) => ({ address, family, internal }) as NetworkInterfaceInfo;
const NICS = { lo: [nic("127.0.0.1", "IPv4", true)], eth0: [nic("fe80::1", "IPv6"), nic("10.0.0.5", "IPv4")] };

test("advertised address: advertise wins, else the listen address, else (wildcard) the first external one", () => {
  assert.deepEqual(advertisedAddress({ host: "0.0.0.0", port: 80 }, { host: "h", port: 81 }, NICS), { host: "h", port: 81 });
  assert.deepEqual(advertisedAddress({ host: "127.0.0.1", port: 80 }, undefined, NICS), { host: "127.0.0.1", port: 80 });
  assert.deepEqual(advertisedAddress({ host: "0.0.0.0", port: 80 }, undefined, NICS), { host: "10.0.0.5", port: 80 });
  assert.deepEqual(advertisedAddress({ host: "::", port: 80 }, undefined, { eth0: [nic("2001:db8::5", "IPv6")] }), { host: "2001:db8::5", port: 80 });
  assert.deepEqual(advertisedAddress({ host: "::", port: 80 }, undefined, { lo: [nic("::1", "IPv6", true)] }), { host: "::1", port: 80 });
});

class Recorder implements Registration {
  readonly calls: Array<[string, InstanceRecord | number]> = [];
  release: () => void = () => {};
  register(r: InstanceRecord) {
    this.calls.push(["register", r]);
  }
  update(r: InstanceRecord) {
    this.calls.push(["update", r]);
  }
  deregister(deadlineMs: number) {
    this.calls.push(["deregister", deadlineMs]);
    return new Promise<void>((resolve) => (this.release = resolve));
  }
}

function config(registry: object) {
  return resolveConfig({ registry }, {}, undefined, "/");
}

test("no etcd endpoints: no registration", () => {
  assert.equal(masterRegistration(config({})), null);
});

test("ready registers once; a reload that changes the hash updates it; SIGTERM withdraws first, then drains", async () => {
  const rec = new Recorder();
  const m = masterRegistration(config({ etcd: { endpoints: ["http://127.0.0.1:1"] }, service: "orders", weight: 2 }), rec)!;
  const worker = (generation: number, hash: string) => ({ ...newRecord(generation, 0, 0), state: "ready" as const, registryHash: hash });
  m.observer.worker!(worker(1, "aaa"), "booting", undefined);
  m.ready({ host: "127.0.0.1", port: 9000, workers: 1, methods: 1, registryHash: "aaa" });
  m.ready({ host: "127.0.0.1", port: 9000, workers: 1, methods: 1, registryHash: "aaa" });
  assert.equal(rec.calls.length, 1);
  const [what, first] = rec.calls[0] as [string, InstanceRecord];
  assert.equal(what, "register");
  assert.equal(first.host, "127.0.0.1");
  assert.equal(first.port, 9000);
  assert.equal(first.pid, process.pid);
  assert.equal(first.weight, 2);
  assert.equal(first.state, "serving");
  assert.equal(first.registryHash, "aaa");
  assert.match(first.version, /^\d+\.\d+\.\d+/);

  m.observer.worker!(worker(2, "bbb"), "booting", undefined);
  m.observer.reload!(2, "abandoned", "x");
  assert.equal(rec.calls.length, 1, "an abandoned reload changes nothing");
  m.observer.reload!(2, "complete", "");
  assert.deepEqual(rec.calls[1], ["update", { ...first, registryHash: "bbb" }]);
  m.observer.worker!(worker(3, "bbb"), "booting", undefined);
  m.observer.reload!(3, "complete", "");
  assert.equal(rec.calls.length, 2, "same code, same hash: no write");

  let drained = 0;
  const stopping = () => drained > 0;
  m.leaveThen(() => drained++, stopping);
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, 0, "the workers are not drained before the registry hears of it");
  assert.equal(rec.calls[2]?.[0], "deregister");
  rec.release();
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, 1);
  m.leaveThen(() => drained++, stopping);
  assert.equal(drained, 2, "a second signal goes straight to the supervisor");
  m.ready({ host: "127.0.0.1", port: 9000, workers: 1, methods: 1 });
  assert.equal(rec.calls.length, 3, "nothing is registered once withdrawn");
});

test("a second SIGTERM while withdrawing drains at once, and only once", async () => {
  const rec = new Recorder();
  const m = masterRegistration(config({ etcd: { endpoints: ["http://127.0.0.1:1"] } }), rec)!;
  m.ready({ host: "127.0.0.1", port: 9000, workers: 1, methods: 1 });
  let drained = 0;
  const stopping = () => drained > 0;
  m.leaveThen(() => drained++, stopping);
  m.leaveThen(() => drained++, stopping);
  assert.equal(drained, 1);
  rec.release();
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, 1);
});
