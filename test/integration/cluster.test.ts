/**
 * The prefork model, with real processes: a master and 2 workers accepting
 * competitively on one socket, readiness, concurrency, graceful shutdown.
 * Figures (latency under a sleeping handler, time for 1000 connections) are
 * printed with t.diagnostic so a run shows them.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ROOT, serve, type Served } from "../helpers/server.ts";
import { RawPeer, request, callOnce } from "../helpers/wire.ts";

const CONFIG = join(ROOT, "test/fixtures/cluster/rpc.config.ts");
const SLOW_BOOT_MS = 1_500;

const call = callOnce;

/** Opens `count` connections at once; closes every one that opened if any failed. */
async function openMany(port: number, count: number): Promise<RawPeer[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, () => RawPeer.open(port)));
  const peers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    for (const p of peers) p.close();
    throw new Error(`${count - peers.length} of ${count} connections failed: ${(failed as PromiseRejectedResult).reason}`);
  }
  return peers;
}

/** Asks `pid` over fresh connections, `batch` at a time; bounded in count and time. */
async function pidsOverFreshConnections(port: number, maxConnections: number, maxMs: number, batch = 10) {
  const counts = new Map<number, number>();
  const deadline = performance.now() + maxMs;
  let connections = 0;
  while (connections < maxConnections && performance.now() < deadline) {
    const answers = await Promise.all(Array.from({ length: batch }, () => call(port, "pid")));
    connections += batch;
    for (const a of answers) counts.set(a.result as number, (counts.get(a.result as number) ?? 0) + 1);
  }
  return { counts, connections };
}

/** Resolves with the error code of a connection attempt ("connected" if it was accepted). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const done = (what: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done("connect timed out"), 3_000);
    socket.once("connect", () => done("connected"));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

async function exitWithin(served: Served, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`master still running after ${ms} ms\nstderr: ${served.stderr()}`)), ms);
  });
  try {
    return await Promise.race([served.exited(), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("--workers 2", () => {
  let served: Served;
  let readyAt = 0;
  let startedAt = 0;

  before(async () => {
    startedAt = Date.now();
    served = await serve({
      args: ["--config", CONFIG, "--workers", "2"],
      env: { FORKRPC_TEST_SLOW_BOOT_MS: String(SLOW_BOOT_MS) },
      timeoutMs: 60_000,
    });
    readyAt = Date.now();
  });
  after(async () => {
    if (served) assert.equal(await served.stop(), 0, `master exits 0 on SIGTERM\nstderr: ${served.stderr()}`);
  });

  test("the ready line says 2 workers and comes only after both listen", async (t) => {
    const lines = served.stdout().split("\n").filter((l) => l.startsWith("forkrpc ready:"));
    assert.equal(lines.length, 1, served.stdout());
    assert.match(lines[0] as string, new RegExp(`^forkrpc ready: 3 methods on 127\\.0\\.0\\.1:${served.port} with 2 workers \\(pid ${served.pid}\\)$`));

    // Worker 2 waits SLOW_BOOT_MS before it can listen, and says when the wait ended.
    const deadline = Date.now() + 3_000;
    let m: RegExpMatchArray | null = null;
    while ((m = served.stderr().match(/slow-boot: worker 2 \(pid (\d+)\) done waiting at (\d+)/)) === null && Date.now() < deadline) {
      await delay(20);
    }
    assert.ok(m, `the slow worker reported\nstderr: ${served.stderr()}`);
    const slowDoneAt = Number(m[2]);
    assert.ok(readyAt >= slowDoneAt, `ready line (${readyAt}) came after the slow worker finished waiting (${slowDoneAt})`);
    assert.ok(readyAt - startedAt >= SLOW_BOOT_MS, `ready after ${readyAt - startedAt} ms`);

    // Right away, both workers accept.
    const { counts, connections } = await pidsOverFreshConnections(served.port, 300, 10_000);
    t.diagnostic(`ready ${readyAt - startedAt} ms after spawn; pids over ${connections} fresh connections: ${JSON.stringify([...counts])}`);
    assert.ok(counts.has(Number(m[1])), "the slow worker serves as soon as the ready line is out");
    assert.equal(counts.size, 2, `two distinct pids: ${JSON.stringify([...counts])}`);
    assert.ok(!counts.has(served.pid), "the master serves nothing itself");
  });

  test("1000 connections opened at once each get an answer to a ping", async (t) => {
    const t0 = performance.now();
    const peers = await openMany(served.port, 1000);
    try {
      const opened = performance.now() - t0;
      peers.forEach((p, i) => p.write(request("ping", i)));
      const answers = await Promise.all(peers.map((p) => p.read(20_000)));
      const total = performance.now() - t0;
      t.diagnostic(`1000 connections: opened in ${opened.toFixed(0)} ms, all 1000 pings answered ${total.toFixed(0)} ms after the first connect`);
      answers.forEach((a, i) => assert.deepEqual(a, { out: "pong", result: i }));
    } finally {
      for (const p of peers) p.close();
    }
  });

  test("a handler sleeping 2 s delays no ping on 50 other connections", async (t) => {
    const sleeper = await RawPeer.open(served.port);
    const peers = await openMany(served.port, 50);
    try {
      sleeper.write(request("pid"));
      const sleeperPid = (await sleeper.read()).result as number;
      // Which worker each ping connection is on, so the figure says how many share the sleeper's worker.
      peers.forEach((p) => p.write(request("pid")));
      const peerPids = (await Promise.all(peers.map((p) => p.read()))).map((r) => r.result as number);
      const sameWorker = peerPids.filter((pid) => pid === sleeperPid).length;

      const sleepStart = performance.now();
      sleeper.write(request("sleep", 2_000));
      const latencies: number[] = [];
      let rounds = 0;
      while (performance.now() - sleepStart < 1_800 && rounds < 500) {
        rounds++;
        await Promise.all(
          peers.map(async (p, i) => {
            const t1 = performance.now();
            p.write(request("ping", i));
            const answer = await p.read();
            latencies.push(performance.now() - t1);
            assert.deepEqual(answer, { out: "pong", result: i });
          }),
        );
      }
      const measuredFor = performance.now() - sleepStart;
      const slept = await sleeper.read(5_000);
      const sleptFor = performance.now() - sleepStart;
      assert.deepEqual(slept, { out: "sleep", result: { slept: 2_000, pid: sleeperPid } });
      assert.ok(sleptFor >= 1_990, "the sleep was still running while latencies were measured");

      latencies.sort((a, b) => a - b);
      const max = latencies[latencies.length - 1] as number;
      const p50 = latencies[Math.floor(latencies.length / 2)] as number;
      const p99 = latencies[Math.floor(latencies.length * 0.99)] as number;
      t.diagnostic(
        `${latencies.length} pings in ${rounds} rounds over ${measuredFor.toFixed(0)} ms of the 2 s sleep ` +
          `(${sameWorker}/50 connections on the sleeper's worker): ` +
          `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms`,
      );
      assert.ok(rounds >= 5, `pinged in ${rounds} rounds`);
      assert.ok(max < 200, `max ping latency ${max.toFixed(1)} ms`);
    } finally {
      sleeper.close();
      for (const p of peers) p.close();
    }
  });
});

test("SIGTERM with requests in flight: answered, goaway for id users, exit 0, then refused", async (t) => {
  const served = await serve({ args: ["--config", CONFIG, "--workers", "2"], timeoutMs: 60_000 });
  let tutorial: RawPeer | undefined;
  let withIds: RawPeer | undefined;
  try {
    tutorial = await RawPeer.open(served.port);
    withIds = await RawPeer.open(served.port);
    // A connection that used ids.
    withIds.write(request("ping", "before", { id: 1 }));
    assert.deepEqual(await withIds.read(), { out: "pong", result: "before", id: 1 });
    // A tutorial-style connection (no ids) with a 1 s request in flight.
    tutorial.write(request("pid"));
    await tutorial.read();
    tutorial.write(request("sleep", 1_000));
    await delay(100); // the request reaches its worker

    const t0 = performance.now();
    process.kill(served.pid, "SIGTERM");

    // The id user is told first, and what it sends afterwards is not run.
    const goaway = await withIds.read(3_000);
    assert.equal(goaway.out, "goaway");
    assert.equal(typeof goaway.result?.reason, "string");
    assert.ok(!("id" in goaway), "a goaway carries no id");
    withIds.write(request("ping", "after", { id: "late-2" }));
    const refused = await withIds.read(3_000);
    assert.equal(refused.out, "error");
    assert.equal(refused.id, "late-2");
    assert.equal(refused.result.code, "UNAVAILABLE");
    withIds.close();

    // New connections are refused while the request in flight is still running
    // (the master closes the shared socket once both workers stopped accepting).
    let attempt = "";
    for (let i = 0; i < 40 && attempt !== "ECONNREFUSED"; i++) {
      attempt = await tryConnect(served.port);
      if (attempt !== "ECONNREFUSED") await delay(25);
    }
    const refusedAfter = performance.now() - t0;
    assert.equal(attempt, "ECONNREFUSED", "refused during the drain");
    assert.equal(tutorial.pending, 0, "refused before the sleep request was answered");

    // The request in flight is still answered, and then its connection is closed.
    const slept = await tutorial.read(5_000);
    assert.equal(slept.out, "sleep");
    assert.equal(slept.result.slept, 1_000);
    assert.ok(await tutorial.waitClosed(3_000), "closed once nothing is owed");

    const code = await exitWithin(served, 8_000);
    t.diagnostic(`new connections refused ${refusedAfter.toFixed(0)} ms after SIGTERM; master exited ${code} ${(performance.now() - t0).toFixed(0)} ms after SIGTERM`);
    assert.equal(code, 0, `stderr: ${served.stderr()}`);
    assert.equal(await tryConnect(served.port), "ECONNREFUSED");
  } finally {
    tutorial?.close();
    withIds?.close();
    await served.stop();
  }
});

test("--workers 0 serves in one process and exits 0 on SIGTERM", async () => {
  const served = await serve({ args: ["--config", CONFIG, "--workers", "0"], timeoutMs: 60_000 });
  let peer: RawPeer | undefined;
  try {
    assert.match(served.stdout(), new RegExp(`^forkrpc ready: 3 methods on 127\\.0\\.0\\.1:${served.port} in one process \\(pid ${served.pid}\\)$`, "m"));
    assert.equal((await call(served.port, "pid")).result, served.pid);
    peer = await RawPeer.open(served.port);
    peer.write(request("sleep", 300));
    await delay(50);
    const exit = served.stop("SIGTERM");
    assert.deepEqual(await peer.read(3_000), { out: "sleep", result: { slept: 300, pid: served.pid } });
    assert.equal(await exit, 0);
    assert.equal(await tryConnect(served.port), "ECONNREFUSED");
  } finally {
    peer?.close();
    await served.stop();
  }
});
