/**
 * Discovery against a real etcd: servers on loopback whose instance records
 * (the documented JSON, written here as a registering master writes them)
 * come and go under PREFIX/services/SERVICE/. The client calls only the
 * serving ones, follows puts and deletes by its watch, keeps calling while
 * etcd is down, and lists again after etcd comes back (same data, wiped). Times from a change in etcd to the client acting on it are
 * printed.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { RpcClient } from "forkrpc/client";
import { EtcdClient } from "../../src/registry/etcd-client.ts";
import { startEtcd, type Etcd } from "../helpers/etcd.ts";
import { runCli, serve, type Served } from "../helpers/server.ts";
import { missingTools } from "../helpers/tools.ts";
import { CONFIG, waitFor } from "./helpers.ts";
import { keepCalling } from "./balance-load.ts";

const skip = missingTools("etcd");
const PREFIX = "/forkrpc-test";
const SERVICE = "orders";
let etcd: Etcd;
let store: EtcdClient;
const servers: Served[] = [];

const key = (s: Served) => `${PREFIX}/services/${SERVICE}/i-${s.pid}`;
const record = (s: Served, state = "serving") =>
  JSON.stringify({ host: s.host, port: s.port, pid: s.pid, instance: `i-${s.pid}`, startedAt: new Date().toISOString(), registryHash: "h", version: "0.1.0", weight: 1, state });
const register = (s: Served, state = "serving") => store.put(key(s), record(s, state));

function newClient(): RpcClient {
  return new RpcClient({ etcd: { endpoints: [etcd.url], prefix: PREFIX }, service: SERVICE, timeoutMs: 10_000 });
}

function sentTo(client: RpcClient, s: Served): number {
  return client.stats().endpoints.find((e) => e.endpoint === `${s.host}:${s.port}`)?.sent ?? 0;
}

/** ms from t0 (taken before the change in etcd) until `check` holds. */
async function timeUntil(t0: number, what: string, check: () => boolean, within = 5_000): Promise<number> {
  await waitFor(what, check, within);
  return Math.round(performance.now() - t0);
}

before(async () => {
  if (skip) return;
  etcd = await startEtcd();
  store = new EtcdClient({ endpoints: [etcd.url] });
  servers.push(...(await Promise.all(["127.0.0.2", "127.0.0.3", "127.0.0.4"].map((host) => serve({ args: ["--config", CONFIG, "--host", host], timeoutMs: 60_000 })))));
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop("SIGKILL")));
  await etcd?.close();
});

test("the client calls the serving instances etcd lists, and follows puts, draining and deletes", { skip }, async (t) => {
  const [a, b, c] = servers as [Served, Served, Served];
  await store.delete(`${PREFIX}/`, { prefix: true });
  await register(a);
  await register(b);
  const client = newClient();
  try {
    const load = keepCalling(client, 8);
    await waitFor("calls to a and b", () => (load.pids.get(a.pid) ?? 0) > 20 && (load.pids.get(b.pid) ?? 0) > 20, 10_000);
    assert.equal(load.pids.get(c.pid) ?? 0, 0, "c is not registered: no call");

    let t0 = performance.now();
    await register(c);
    const added = await timeUntil(t0, "c to get calls", () => (load.pids.get(c.pid) ?? 0) > 0);

    t0 = performance.now();
    await register(a, "draining");
    const drained = await timeUntil(t0, "a to be left out", () => client.stats().endpoints.some((e) => e.endpoint.endsWith(`:${a.port}`) && !e.serving));
    const sentA = sentTo(client, a);
    await delay(300);
    assert.equal(sentTo(client, a), sentA, "a draining instance gets no new call");

    t0 = performance.now();
    await store.delete(key(b));
    const removed = await timeUntil(t0, "b to be dropped", () => !client.stats().endpoints.some((e) => e.endpoint.endsWith(`:${b.port}`)));
    await load.stop();
    t.diagnostic(`etcd -> client: a new instance got calls after ${added} ms, draining seen after ${drained} ms, a delete after ${removed} ms; ${load.calls} calls, ${load.failures.length} failed`);
    assert.deepEqual(load.failures.map((f) => String(f.error)), []);
  } finally {
    client.destroy();
  }
});

test("etcd down, back with its data, back wiped: the client keeps calling and relists", { skip }, async (t) => {
  const [a, b, c] = servers as [Served, Served, Served];
  await store.delete(`${PREFIX}/`, { prefix: true });
  await register(a);
  await register(b);
  const client = newClient();
  try {
    const load = keepCalling(client, 8);
    await waitFor("calls to a and b", () => (load.pids.get(a.pid) ?? 0) > 20 && (load.pids.get(b.pid) ?? 0) > 20, 10_000);

    await etcd.kill();
    const during = load.calls;
    await delay(1_500);
    assert.ok(load.calls > during + 50, "calls go on while etcd is down (the last known list)");
    await etcd.restart();
    let t0 = performance.now();
    await register(c);
    const afterRestart = await timeUntil(t0, "c, registered after etcd came back, to get calls", () => (load.pids.get(c.pid) ?? 0) > 0, 8_000);

    await etcd.restart({ wipe: true });
    const beforeWipe = load.calls;
    await delay(1_000);
    assert.ok(load.calls > beforeWipe + 50, "an empty (wiped) etcd does not empty the client");
    t0 = performance.now();
    await register(a);
    const relisted = await timeUntil(t0, "the client to list only a", () => client.stats().endpoints.length === 1, 8_000);
    await register(b);
    await waitFor("b to be back", () => client.stats().endpoints.length === 2);
    await load.stop();
    t.diagnostic(
      `etcd killed 1.5 s, restarted: an instance put then got calls after ${afterRestart} ms; ` +
        `restarted wiped: the first put was followed after ${relisted} ms; ${load.calls} calls, ${load.failures.length} failed`,
    );
    assert.deepEqual(load.failures.map((f) => String(f.error)), []);
  } finally {
    client.destroy();
  }
});

test("forkrpc call and bench --etcd: the service's serving instances, or a plain message when it has none", { skip }, async () => {
  const [a, b] = servers as [Served, Served];
  await store.delete(`${PREFIX}/`, { prefix: true });
  await register(a);
  await register(b, "draining");
  const flags = ["--etcd", etcd.url, "--service", SERVICE, "--etcd-prefix", PREFIX];
  const called = await runCli(["call", "pid", ...flags]);
  assert.equal(called.code, 0, called.stderr);
  assert.equal(Number(called.stdout.trim()), a.pid, "only the serving instance is called");

  const none = await runCli(["call", "pid", "--etcd", etcd.url, "--service", "nope", "--etcd-prefix", PREFIX]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /lists no instance of service "nope" under \/forkrpc-test\/services\/nope\//);

  await register(b);
  const benched = await runCli(["bench", ...flags, "--duration", "1", "--connections", "4", "--pipeline", "4", "--json"]);
  assert.equal(benched.code, 0, benched.stderr);
  assert.match(benched.stderr, /bench: 2 instance\(s\) of "orders": 127\.0\.0\.2:\d+, 127\.0\.0\.3:\d+/);
  assert.ok((JSON.parse(benched.stdout) as { requests: number }).requests > 0);

  const usage = await runCli(["call", "pid", "--etcd", etcd.url, "--port", "1"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--etcd finds the servers: give no --host or --port with it/);
});
