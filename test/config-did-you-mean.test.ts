/**
 * A misspelt config key is answered with the known key it most likely
 * means, within 2 edits, at any depth; a key far from every known one gets
 * no guess.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { editDistance, validateConfig } from "../src/config-schema.ts";

test("an unknown key within 2 edits of a known one: did you mean", () => {
  assert.throws(() => validateConfig({ worker: 2 }, "rpc.config.ts"), /^BootError: rpc\.config\.ts: unknown config key "worker" \(did you mean "workers"\?\)$/);
  assert.throws(() => validateConfig({ prot: 1 }, "c"), /unknown config key "prot" \(did you mean "port"\?\)/);
  assert.throws(() => validateConfig({ pidfile: "x" }, "c"), /unknown config key "pidfile" \(did you mean "pidFile"\?\)/);
  assert.throws(() => validateConfig({ supervision: { maxRequest: 5 } }, "c"), /unknown config key "supervision.maxRequest" \(did you mean "supervision.maxRequests"\?\)/);
  assert.throws(() => validateConfig({ limits: { maxFrameByte: 5 } }, "c"), /\(did you mean "limits.maxFrameBytes"\?\)/);
});

test("an unknown key far from every known one gets no guess", () => {
  assert.throws(() => validateConfig({ database: "pg://" }, "c"), (e: Error) => {
    assert.equal(e.message, 'c: unknown config key "database"');
    return true;
  });
  assert.throws(() => validateConfig({ wrks: 2 }, "c"), (e: Error) => !e.message.includes("did you mean"), "3 edits from workers: no guess");
});

test("editDistance counts insertions, deletions and substitutions, and stops at the limit", () => {
  assert.equal(editDistance("worker", "workers"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("same", "same"), 0);
  assert.equal(editDistance("abcdef", "uvwxyz", 3), 3);
});
