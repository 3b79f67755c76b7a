/**
 * RpcClient across server restarts on one port: it reconnects, sends what
 * never left, and sends again what may have run only when told it is
 * idempotent. Runs are counted in files, so the counts survive a kill.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { RpcClient } from "forkrpc/client";
import { serve, type Served } from "../helpers/server.ts";
import { CONFIG, freePort, outcome, waitFor } from "./helpers.ts";

function runs(dir: string, key: string): number {
  try {
    return readFileSync(join(dir, key), "utf8").length;
  } catch {
    return 0;
  }
}

async function serveOn(port: number, countDir?: string): Promise<Served> {
  return serve({
    args: ["--config", CONFIG, "--port", String(port)],
    env: countDir === undefined ? {} : { FORKRPC_TEST_COUNT_DIR: countDir },
    timeoutMs: 60_000,
  });
}

test("the client survives a server restart: a call issued while down waits, and later calls succeed", async (t) => {
  const port = await freePort();
  const servers: Served[] = [];
  const client = new RpcClient({ port, connections: 2, reconnectDelayMaxMs: 200 });
  try {
    servers.push(await serveOn(port));
    assert.equal(await client.call("ping", "first"), "first");
    const openedBefore = client.stats().opened;

    await servers[0]!.stop(); // graceful: a goaway, then closed
    await waitFor("both connections to close", () => client.stats().connections === 0);

    // Never written anywhere: waits for a connection, then goes.
    const whileDown = client.call("ping", "while down", { timeoutMs: 30_000 });
    await delay(300);
    assert.equal(client.stats().waiting, 1);

    servers.push(await serveOn(port));
    const t0 = performance.now();
    assert.equal(await whileDown, "while down");
    t.diagnostic(`the waiting call was answered ${(performance.now() - t0).toFixed(0)} ms after the new server was ready`);
    const later = await Promise.all(Array.from({ length: 100 }, (_, i) => client.call("echo", i)));
    assert.deepEqual(later, Array.from({ length: 100 }, (_, i) => i));
    assert.ok(client.stats().opened > openedBefore, "it reconnected");
  } finally {
    client.destroy();
    for (const s of servers) await s.stop();
  }
});

test("killed mid-request: a non-idempotent call rejects UNAVAILABLE and is not run again; an idempotent one runs again after reconnect; an unsent one runs once", async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "forkrpc-client-count-"));
  const servers: Served[] = [];
  const client = new RpcClient({ port, connections: 1, reconnectDelayMaxMs: 200, timeoutMs: 30_000 });
  try {
    servers.push(await serveOn(port, dir));
    const once = outcome(client.call("count", { key: "once", ms: 5_000 }));
    const twice = outcome(client.call("count", { key: "twice", ms: 5_000 }, { idempotent: true }));
    await waitFor("both requests to start running", () => runs(dir, "once") === 1 && runs(dir, "twice") === 1);

    await servers[0]!.stop("SIGKILL");
    const lost = await once;
    assert.ok(!lost.ok, "the non-idempotent call fails");
    assert.equal(lost.error.code, "UNAVAILABLE");
    assert.match(lost.error.message, /connection lost; the request may have run/);
    assert.deepEqual(lost.error.data, { mayHaveRun: true });

    // Issued while no server runs: never written, so it goes once a server is back.
    const unsent = client.call("count", { key: "unsent" });
    await delay(200);
    servers.push(await serveOn(port, dir));

    const retried = await twice;
    assert.ok(retried.ok, `the idempotent call succeeds: ${!retried.ok && retried.error}`);
    assert.equal(retried.value, 2, "it ran twice, as its caller allowed");
    assert.equal(await unsent, 1);
    await delay(300);
    assert.equal(runs(dir, "once"), 1, "the non-idempotent request ran once");
    assert.equal(runs(dir, "unsent"), 1);
    assert.ok(client.stats().retries >= 1);
  } finally {
    client.destroy();
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a call waiting for a server that never comes rejects DEADLINE_EXCEEDED, naming the connection error", async () => {
  const port = await freePort();
  const client = new RpcClient({ port, reconnectDelayMaxMs: 100 });
  try {
    const t0 = performance.now();
    const r = await outcome(client.call("ping", "x", { timeoutMs: 400 }));
    const took = performance.now() - t0;
    assert.ok(!r.ok);
    assert.equal(r.error.code, "DEADLINE_EXCEEDED");
    assert.match(r.error.message, /ECONNREFUSED/);
    assert.ok(took >= 390 && took < 1_500, `after ${took.toFixed(0)} ms`);
    assert.ok(client.stats().opened >= 3, `kept trying with backoff (${client.stats().opened} attempts)`);
  } finally {
    await client.close();
  }
});
