import { test } from "node:test";
import assert from "node:assert/strict";
import { recycleKind, restartReason } from "../../src/cluster/restart-reason.ts";

test("recycleKind: from the reasons recycleReason gives", () => {
  assert.equal(recycleKind("served 1000 requests"), "max_requests");
  assert.equal(recycleKind("RSS 300 MB is over maxRssMb 256"), "max_rss");
  assert.equal(recycleKind("something else"), undefined);
});

test("restartReason: crash, hung, recycle kinds, reload and scale; nothing while stopping or for an abandoned reload", () => {
  assert.equal(restartReason("ready", undefined, undefined, "serving"), "crash");
  assert.equal(restartReason("booting", undefined, undefined, "serving"), "crash");
  assert.equal(restartReason("recycling", "served 5 requests", "max_requests", "serving"), "crash", "died before its replacement took over");
  assert.equal(restartReason("killed", "hung: no heartbeat for 31000 ms; ...", undefined, "serving"), "hung");
  assert.equal(restartReason("killed", "not ready after 60000 ms (supervision.bootTimeoutMs)", undefined, "serving"), "hung");
  assert.equal(restartReason("retiring", "replaced", "max_rss", "serving"), "max_rss");
  assert.equal(restartReason("retiring", "reload", undefined, "serving"), "reload");
  assert.equal(restartReason("retiring", "scaled down", undefined, "serving"), "scale");
  assert.equal(restartReason("retiring", "reload abandoned", undefined, "serving"), undefined);
  assert.equal(restartReason("killed", "reload abandoned", undefined, "serving"), undefined);
  assert.equal(restartReason("ready", undefined, undefined, "stopping"), undefined);
  assert.equal(restartReason("retiring", "SIGTERM", undefined, "stopping"), undefined);
});
