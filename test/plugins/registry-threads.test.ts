/** buildRegistry and offloaded methods: no thread is started here (ThreadPool.start is boot's), nothing is built on this thread. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig, type ServerConfig } from "../../src/config.ts";
import { Rpc, rpcMetaOf } from "../../src/decorators/rpc.ts";
import { buildRegistry } from "../../src/plugins/registry.ts";
import type { HandlerClass } from "../../src/request/method.ts";

@Rpc("heavy", { offload: true })
class Heavy {
  constructor() {
    throw new Error("an offloaded handler must not be built on the worker's thread");
  }
  handle() {
    return 1;
  }
}

@Rpc("light")
class Light {
  handle() {
    return 2;
  }
}

const def = (cls: HandlerClass) => ({ meta: rpcMetaOf(cls)!, cls, file: "/app/plugins/x.ts" });
const config = resolveConfig({ threads: { perWorker: 3 } }, {}, undefined, "/app");

test("offloaded methods get a pool (not started) and a handler that hands calls to it; the class is not built here", async () => {
  const { methods, pool } = buildRegistry({ handlers: [def(Heavy), def(Light)], middleware: [] }, config);
  assert.ok(pool !== null);
  assert.deepEqual(pool.stats, { threads: 0, busy: 0, queued: 0, replaced: 0 });
  assert.deepEqual([...methods.keys()].sort(), ["heavy", "light"]);
  assert.equal(methods.get("light")?.handler.handle(null, undefined as never), 2);
  await pool.close();
});

test("no offloaded method, no pool", () => {
  assert.equal(buildRegistry({ handlers: [def(Light)], middleware: [] }, config).pool, null);
});

test("a config that JSON cannot copy to the threads fails the boot with WORKER_FAILED, saying why", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const bad = { ...config, extra: cyclic } as unknown as ServerConfig;
  assert.throws(() => buildRegistry({ handlers: [def(Heavy)], middleware: [] }, bad), { code: "WORKER_FAILED", message: /cannot be copied to handler threads as JSON/ });
});
