// EtcdRegistration and EtcdDiscovery against a real etcd, through restarts:
// the server side keeps its key, the client side keeps its list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EtcdClient } from "../../src/registry/etcd-client.ts";
import { EtcdDiscovery } from "../../src/registry/etcd-discovery.ts";
import { EtcdRegistration } from "../../src/registry/etcd-registration.ts";
import type { Instance, InstanceRecord } from "../../src/registry/types.ts";
import { startEtcd } from "../helpers/etcd.ts";
import { missingTools } from "../helpers/tools.ts";

const skip = missingTools("etcd");
const TTL = 2;

const RECORD: InstanceRecord = {
  host: "127.0.0.1",
  port: 9000,
  pid: process.pid,
  instance: "test-1-000001",
  startedAt: new Date().toISOString(),
  registryHash: "h1",
  version: "0.1.0",
  weight: 1,
  state: "serving",
};

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  while (!(await ok())) {
    if (Date.now() - started > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

test("registration and discovery through etcd restarts", { skip }, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const client = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 500 });
  const logs: string[] = [];
  const reg = new EtcdRegistration(client, { prefix: "/t", service: "orders", leaseTtlS: TTL, log: (level, m) => logs.push(`${level}: ${m}`) });
  const discovery = new EtcdDiscovery(new EtcdClient({ endpoints: [etcd.url], timeoutMs: 500 }), { prefix: "/t", retryMs: 50, retryMaxMs: 200 });
  let seen: Instance[] = [];
  const errors: Error[] = [];
  const watch = discovery.watch("orders", (list) => (seen = list), (e) => errors.push(e));
  t.after(() => watch.close());
  const stored = async () => (await client.range("/t/services/orders/test-1-000001")).kvs[0]?.value;

  reg.register(RECORD);
  const registeredMs = await until("registered", async () => (await stored()) !== undefined, 2_000);
  assert.deepEqual(JSON.parse((await stored())!), RECORD);
  await until("discovery sees it", () => seen.length === 1, 2_000);
  assert.deepEqual(seen[0], { ...RECORD, service: "orders" });
  assert.deepEqual((await discovery.list("orders")).map((i) => i.instance), ["test-1-000001"]);
  assert.deepEqual(await discovery.list("order"), [], "a service name is not a prefix of another");

  reg.update({ ...RECORD, registryHash: "h2" });
  await until("update seen", () => seen[0]?.registryHash === "h2", 2_000);

  // Kept alive past its TTL.
  await new Promise((r) => setTimeout(r, TTL * 1000 + 500));
  assert.equal(seen.length, 1);
  assert.equal(reg.status.failures, 0);

  await etcd.restart({ wipe: true });
  const reregisteredMs = await until("registered again after a wiped etcd", async () => (await stored()) !== undefined, TTL * 1000);
  await until("discovery re-listed", () => seen.length === 1 && seen[0]?.registryHash === "h2", 3_000);

  // Down for longer than the TTL: the old lease is gone for sure.
  const logsBefore = logs.length;
  const errorsBefore = errors.length;
  await etcd.stop();
  await new Promise((r) => setTimeout(r, TTL * 1000 + 500));
  assert.equal(seen.length, 1, "discovery keeps its last list while etcd is away");
  const restartedAt = Date.now();
  await etcd.restart();
  const backMs = await until("registered after a long outage", async () => (await stored()) !== undefined && reg.status.failures === 0, TTL * 1000);
  const failing = logs.slice(logsBefore).filter((l) => l.includes("cannot"));
  assert.equal(failing.length, 1, `one warning for the outage, not one per attempt:\n${logs.join("\n")}`);
  assert.ok(logs.some((l) => /reachable again after/.test(l)), logs.join("\n"));
  assert.equal(errors.length - errorsBefore, 1, `discovery errors, once per outage: ${errors.map((e) => e.message).join("; ")}`);

  const deregStarted = Date.now();
  await reg.deregister(2_000);
  const deregMs = Date.now() - deregStarted;
  assert.equal(await stored(), undefined);
  await until("discovery sees it leave", () => seen.length === 0, 2_000);
  t.diagnostic(
    `registration times: registered in ${registeredMs} ms; again after a wiped etcd in ${reregisteredMs} ms; ` +
      `after ${TTL + 0.5} s down in ${backMs} ms (${Date.now() - restartedAt} ms incl. etcd start); deregistered in ${deregMs} ms`,
  );
});

test("deregister with etcd away returns by its deadline", { skip }, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const client = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 300 });
  const reg = new EtcdRegistration(client, { prefix: "/t", service: "s", leaseTtlS: TTL });
  reg.register(RECORD);
  await until("registered", () => reg.status.registered, 2_000);
  await etcd.kill();
  await new Promise((r) => setTimeout(r, 900)); // a keepalive fails meanwhile
  const started = Date.now();
  await reg.deregister(1_000);
  assert.ok(Date.now() - started < 1_200, `took ${Date.now() - started} ms`);
});
