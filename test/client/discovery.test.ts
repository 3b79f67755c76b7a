/** Unit tests of discovery's pure parts: reading an instance's registry value, and the endpoints of a set of instances. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { endpointsOf, instanceOf } from "../../src/client/discovery.ts";

const value = (doc: object) => JSON.stringify({ pid: 1, instance: "i", startedAt: 0, registryHash: "h", version: "0.1.0", weight: 1, ...doc });

test("instanceOf reads host, port and state; anything else is not an instance", () => {
  assert.deepEqual(instanceOf(value({ host: "10.0.0.5", port: 8080, state: "serving" })), { host: "10.0.0.5", port: 8080, serving: true });
  assert.deepEqual(instanceOf(value({ host: "10.0.0.5", port: 8080, state: "draining" })), { host: "10.0.0.5", port: 8080, serving: false });
  assert.deepEqual(instanceOf(JSON.stringify({ host: "::1", port: 1 })), { host: "::1", port: 1, serving: true }, "no state: serving");
  for (const bad of ["", "{", "null", "[]", "42", value({ host: "", port: 1 }), value({ host: "h", port: 0 }), value({ host: "h", port: "80" }), value({ port: 80 })]) {
    assert.equal(instanceOf(bad), null, bad);
  }
});

test("endpointsOf: one endpoint per address, serving if any instance there is, sorted", () => {
  const list = endpointsOf([
    { host: "10.0.0.6", port: 80, serving: true },
    { host: "10.0.0.5", port: 80, serving: false },
    { host: "10.0.0.5", port: 80, serving: true },
    { host: "10.0.0.7", port: 80, serving: false },
  ]);
  assert.deepEqual(list, [
    { host: "10.0.0.5", port: 80, serving: true },
    { host: "10.0.0.6", port: 80, serving: true },
    { host: "10.0.0.7", port: 80, serving: false },
  ]);
  assert.deepEqual(endpointsOf([]), []);
});
