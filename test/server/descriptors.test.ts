/** The default connection cap, from the descriptor limit. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectionsFor, descriptorLimit } from "../../src/descriptor-limit.ts";
import { shownId } from "../../src/log.ts";

test("connectionsFor keeps a twentieth of the limit (at least 64) for the worker's own files; unknown: no cap", () => {
  assert.equal(connectionsFor(200), 136);
  assert.equal(connectionsFor(1024), 960);
  assert.equal(connectionsFor(65_536), 65_536 - 3_277);
  assert.equal(connectionsFor(50), 1);
  assert.equal(connectionsFor(undefined), 0);
});

test("descriptorLimit reads this process's soft limit on Linux", () => {
  const limit = descriptorLimit();
  if (process.platform !== "linux") return assert.equal(limit, undefined);
  assert.ok(limit !== undefined && limit > 0, String(limit));
});

test("shownId cuts string ids past 64 characters, leaves the rest", () => {
  assert.equal(shownId("x".repeat(64)), "x".repeat(64));
  assert.equal(shownId("x".repeat(10_000)), `${"x".repeat(64)}...`);
  assert.equal(shownId(12), 12);
  assert.equal(shownId(undefined), undefined);
});
