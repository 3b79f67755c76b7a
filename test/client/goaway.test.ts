/**
 * goaway with a real prefork server (--workers 2): a worker that stops
 * (SIGTERM to it) or a rolling reload (SIGHUP to the master) loses no call
 * of a client that keeps calling throughout. Loops are bounded in count and
 * time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { RpcClient } from "forkrpc/client";
import { serve } from "../helpers/server.ts";
import { CONFIG } from "./helpers.ts";
import type { Pid } from "../fixtures/client/plugins/ping.ts";
import type { Sleep } from "../fixtures/client/plugins/sleep.ts";

const CALLERS = 16;
const MAX_CALLS_PER_CALLER = 3_000;

/** Calls `sleep` in CALLERS concurrent loops until told to stop; collects every failure and who answered. */
function keepCalling(client: RpcClient) {
  let stopped = false;
  const failures: unknown[] = [];
  const pids = new Map<number, number>();
  let calls = 0;
  const loops = Array.from({ length: CALLERS }, async (_, caller) => {
    for (let i = 0; i < MAX_CALLS_PER_CALLER && !stopped; i++) {
      const tag = `${caller}-${i}`;
      try {
        const r = await client.call<typeof Sleep>("sleep", { ms: 2 + (i % 4) * 8, tag });
        assert.equal(r.tag, tag);
        pids.set(r.pid, (pids.get(r.pid) ?? 0) + 1);
        calls++;
      } catch (error) {
        failures.push(error);
      }
    }
  });
  return {
    failures,
    pids,
    get calls() {
      return calls;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

test("SIGTERM to a worker (--workers 2): its connections get a goaway and no call in the loop is lost", async (t) => {
  const served = await serve({ args: ["--config", CONFIG, "--workers", "2"], timeoutMs: 60_000 });
  const client = new RpcClient({ port: served.port, connections: 4, timeoutMs: 10_000 });
  try {
    const seen = await Promise.all(Array.from({ length: 20 }, () => client.call<typeof Pid>("pid")));
    const victim = seen[0] as number;
    assert.notEqual(victim, served.pid);

    const load = keepCalling(client);
    await delay(500);
    const before = load.calls;
    process.kill(victim, "SIGTERM");
    await delay(2_500); // the goaway linger is 1 s; the master respawns the worker meanwhile
    await load.stop();

    const stats = client.stats();
    t.diagnostic(
      `${load.calls} calls (${before} before the SIGTERM), answered by ${JSON.stringify([...load.pids])}; ` +
        `goaways ${stats.goaways}, connections opened ${stats.opened}, retries ${stats.retries}`,
    );
    assert.deepEqual(load.failures.map(String), [], "no call failed");
    assert.ok(stats.goaways >= 1, "at least one connection was told to go away");
    assert.ok(stats.opened > 4, "fresh connections replaced those");
    assert.ok(load.calls > before + 100, "calls went on after the SIGTERM");
    assert.equal(stats.connections, 4);
  } finally {
    client.destroy();
    await served.stop();
  }
});

test("a rolling reload (SIGHUP) loses no call of a client that keeps calling", async (t) => {
  const served = await serve({ args: ["--config", CONFIG, "--workers", "2"], timeoutMs: 60_000 });
  const client = new RpcClient({ port: served.port, connections: 2, timeoutMs: 10_000 });
  try {
    const oldPids = new Set(await Promise.all(Array.from({ length: 20 }, () => client.call<typeof Pid>("pid"))));
    const load = keepCalling(client);
    await delay(300);
    process.kill(served.pid, "SIGHUP");
    // The new generation boots (about a second), then the old one retires with goaways.
    const deadline = performance.now() + 15_000;
    while (client.stats().goaways < 2 && performance.now() < deadline) await delay(50);
    await delay(1_500);
    await load.stop();

    const stats = client.stats();
    const newPids = [...load.pids.keys()].filter((pid) => !oldPids.has(pid));
    t.diagnostic(`${load.calls} calls, answered by ${JSON.stringify([...load.pids])}; goaways ${stats.goaways}, opened ${stats.opened}, retries ${stats.retries}`);
    assert.deepEqual(load.failures.map(String), [], "no call failed");
    assert.ok(stats.goaways >= 2, `both connections were told to go away (${stats.goaways})`);
    assert.ok(newPids.length >= 1, "the new generation answered calls");
  } finally {
    client.destroy();
    await served.stop();
  }
});
