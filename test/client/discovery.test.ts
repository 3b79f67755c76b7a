/** Unit tests of the client's side of discovery: instances -> endpoints, and when a new list replaces the last. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { endpointsOf, replaces } from "../../src/client/discovery.ts";

test("endpointsOf: one endpoint per address, serving if any instance there is, sorted", () => {
  const list = endpointsOf([
    { host: "10.0.0.6", port: 80, state: "serving", instance: "f" },
    { host: "10.0.0.5", port: 80, state: "draining", instance: "old" },
    { host: "10.0.0.5", port: 80, state: "serving", instance: "new" },
    { host: "10.0.0.7", port: 80, state: "draining", instance: "g" },
    { host: "::1", port: 80, state: "serving", instance: "h" },
    { host: "10.0.0.5", port: 80, state: "draining", instance: "a" },
  ]);
  assert.deepEqual(list, [
    { host: "10.0.0.5", port: 80, serving: true, instances: "a new old" },
    { host: "10.0.0.6", port: 80, serving: true, instances: "f" },
    { host: "10.0.0.7", port: 80, serving: false, instances: "g" },
    { host: "::1", port: 80, serving: true, instances: "h" },
  ]);
  assert.deepEqual(endpointsOf([]), []);
});

test("replaces: an empty list never replaces a non-empty one (a wiped etcd, before its servers register again)", () => {
  const one = [{ host: "h", port: 1 }];
  assert.equal(replaces(one, 0), true);
  assert.equal(replaces(one, 3), true);
  assert.equal(replaces([], 0), true, "no servers yet: the client says so (it waits)");
  assert.equal(replaces([], 2), false);
});
