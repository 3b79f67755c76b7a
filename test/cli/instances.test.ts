// forkrpc instances: the table's cells (pure), and the command against a real etcd.
import { test } from "node:test";
import assert from "node:assert/strict";
import { age, instanceTable } from "../../src/cli/instances.ts";
import { EtcdClient } from "../../src/registry/etcd-client.ts";
import type { Instance } from "../../src/registry/types.ts";
import { freePort, startEtcd } from "../helpers/etcd.ts";
import { runCli } from "../helpers/server.ts";
import { missingTools } from "../helpers/tools.ts";

const T0 = Date.parse("2026-12-03T06:00:00Z");
const ONE: Instance = {
  service: "orders",
  host: "10.0.0.5",
  port: 8080,
  pid: 7,
  instance: "web1-7-00beef",
  startedAt: new Date(T0).toISOString(),
  registryHash: "0123456789abcdef",
  version: "0.1.0",
  weight: 1,
  state: "serving",
};

test("age: seconds, then minutes, hours, days; '-' when unknown", () => {
  assert.equal(age(T0, T0 + 42_000), "42s");
  assert.equal(age(T0, T0 + 5 * 60_000), "5m");
  assert.equal(age(T0, T0 + 3 * 3_600_000), "3h");
  assert.equal(age(T0, T0 + 50 * 3_600_000), "2d");
  assert.equal(age(NaN, T0), "-");
  assert.equal(age(T0 + 5_000, T0), "0s", "a clock behind the server's is not a negative age");
});

test("the table: sorted by service and address, IPv6 in brackets, hostile text escaped", () => {
  const table = instanceTable(
    [
      { ...ONE, service: "users", instance: "u\u001b[31m", host: "::1", port: 9000, state: "draining", registryHash: "" },
      ONE,
    ],
    T0 + 90_000,
  );
  const lines = table.split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^SERVICE +INSTANCE +ADDRESS +STATE +AGE +REGISTRY HASH$/);
  assert.match(lines[1]!, /^orders +web1-7-00beef +10\.0\.0\.5:8080 +serving +90s +0123456789abcdef$/);
  assert.match(lines[2]!, /^users +u\\x1b\[31m +\[::1\]:9000 +draining +90s +-$/);
  assert.equal(instanceTable([], 0), "no instances");
});

test("forkrpc instances against a real etcd", { skip: missingTools("etcd") }, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const kv = new EtcdClient({ endpoints: [etcd.url] });
  const record = Object.fromEntries(Object.entries(ONE).filter(([k]) => k !== "service"));
  await kv.put("/forkrpc/services/orders/web1-7-00beef", JSON.stringify(record));
  await kv.put("/forkrpc/services/users/web2-8-000001", JSON.stringify({ ...record, instance: "web2-8-000001", host: "10.0.0.6" }));
  await kv.put("/forkrpc/services/users/bad", "not json");
  await kv.put("/other/services/orders/x", JSON.stringify(record));

  const all = await runCli(["instances", "--etcd", etcd.url]);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(all.stdout.trim().split("\n").slice(1).map((l) => l.split(/ +/).slice(0, 4)), [
    ["orders", "web1-7-00beef", "10.0.0.5:8080", "serving"],
    ["users", "web2-8-000001", "10.0.0.6:8080", "serving"],
  ]);
  assert.match(all.stderr, /skipped \/forkrpc\/services\/users\/bad: the value is not JSON/);

  const json = await runCli(["instances", "--etcd", etcd.url, "--service", "orders", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), { instances: [ONE], skipped: [] });

  const other = await runCli(["instances", "--etcd", etcd.url, "--prefix", "/other", "--json"]);
  assert.equal(JSON.parse(other.stdout).instances.length, 1);

  const down = await runCli(["instances", "--etcd", `http://127.0.0.1:${await freePort()}`, "--timeout", "500"]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^forkrpc: REGISTRY_UNAVAILABLE: etcd: no endpoint answered/);

  const usage = await runCli(["instances"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--etcd URL is required/);
  const bad = await runCli(["instances", "--etcd", "localhost:2379"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--etcd must be an http:\/\/ or https:\/\/ URL/);
});
