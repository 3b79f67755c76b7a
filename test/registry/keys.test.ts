// The registry's key layout and value checks (no etcd), and the static list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { instanceKey, newInstanceId, parseInstance, recordJson, servicePrefix } from "../../src/registry/keys.ts";
import { parseHostPort, StaticDiscovery } from "../../src/registry/static.ts";
import type { InstanceRecord } from "../../src/registry/types.ts";

const RECORD: InstanceRecord = {
  host: "10.0.0.5",
  port: 8080,
  pid: 4242,
  instance: "web1-4242-00beef",
  startedAt: "2026-12-03T06:00:00.000Z",
  registryHash: "0123456789abcdef",
  version: "0.1.0",
  weight: 1,
  state: "serving",
};

test("keys are PREFIX/services/SERVICE/INSTANCE, whatever slashes the prefix ends with", () => {
  assert.equal(instanceKey("/forkrpc", "orders", "a-1-x"), "/forkrpc/services/orders/a-1-x");
  assert.equal(servicePrefix("/forkrpc/", "orders"), "/forkrpc/services/orders/");
});

test("instance ids: host-pid-random, safe as one key segment", () => {
  assert.equal(newInstanceId("web1", 4242, () => 0.5), "web1-4242-800000");
  assert.equal(newInstanceId("a/b c", 1, () => 0), "a_b_c-1-000000");
});

test("a record round-trips, in the documented field order, and extra fields are ignored", () => {
  const json = recordJson({ ...RECORD, extra: 1 } as InstanceRecord);
  assert.equal(json, JSON.stringify(RECORD));
  assert.deepEqual(Object.keys(JSON.parse(json)), ["host", "port", "pid", "instance", "startedAt", "registryHash", "version", "weight", "state"]);
  assert.deepEqual(parseInstance("/forkrpc", "/forkrpc/services/orders/web1-4242-00beef", json), { ...RECORD, service: "orders" });
});

test("bad keys and values are reported, never thrown", () => {
  const key = "/forkrpc/services/orders/i";
  assert.match(parseInstance("/forkrpc", "/other/services/orders/i", recordJson(RECORD)) as string, /not under/);
  assert.match(parseInstance("/forkrpc", "/forkrpc/services/orders/i/j", recordJson(RECORD)) as string, /SERVICE\/INSTANCE/);
  assert.match(parseInstance("/forkrpc", key, "{") as string, /not JSON/);
  assert.match(parseInstance("/forkrpc", key, "[1]") as string, /not a JSON object/);
  assert.match(parseInstance("/forkrpc", key, "null") as string, /not a JSON object/);
  for (const [field, bad] of [["port", 0], ["port", "80"], ["host", ""], ["state", "up"], ["weight", -1], ["pid", 1.5]] as const) {
    assert.equal(parseInstance("/forkrpc", key, JSON.stringify({ ...RECORD, [field]: bad })), `${key}: "${field}" is missing or of the wrong type`);
  }
});

test("static endpoints: HOST:PORT, IPv6 in brackets, bad ones refused by name", async () => {
  assert.deepEqual(parseHostPort("h1:8080"), { host: "h1", port: 8080 });
  assert.deepEqual(parseHostPort("[::1]:9"), { host: "::1", port: 9 });
  for (const bad of ["h1", "h1:0", "h1:70000", "::1:80", ":80"]) assert.equal(typeof parseHostPort(bad), "string", bad);
  assert.throws(() => new StaticDiscovery(["h1:1", "nope"]), { name: "TypeError", message: /"nope" is not HOST:PORT/ });
  const d = new StaticDiscovery(["h1:8080", "[::1]:8081"]);
  const listed = await d.list("orders");
  assert.deepEqual(listed.map((i) => [i.service, i.instance, i.host, i.port, i.state]), [["orders", "h1:8080", "h1", 8080, "serving"], ["orders", "[::1]:8081", "::1", 8081, "serving"]]);
  const seen = await new Promise((resolve) => d.watch("orders", resolve));
  assert.deepEqual(seen, listed);
});
