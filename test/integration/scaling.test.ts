/**
 * Scaling by signal (SIGTTIN / SIGTTOU), the SIGUSR2 stats log, and
 * recycling a worker after maxRequests without losing a request.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Served } from "../helpers/server.ts";
import {
  FreshLoop,
  KeepAliveLoop,
  call,
  childPids,
  findPid,
  fixtureConfig,
  isAlive,
  sleep,
  supervised,
  tempFixture,
  waitFor,
} from "../helpers/supervision.ts";

/** Sends SIGUSR2 and returns the per-worker lines of the report it logs. */
async function report(served: Served, timeoutMs = 5_000): Promise<string[]> {
  const mark = served.stderr().length;
  process.kill(served.pid, "SIGUSR2");
  return waitFor(
    "the SIGUSR2 report",
    () => {
      const text = served.stderr().slice(mark);
      const m = text.match(/\d+ workers \(target \d+, generation \d+\):\n((?:  worker .*\n)*)/);
      return m ? (m[1] as string).split("\n").filter((l) => l.trim() !== "") : undefined;
    },
    timeoutMs,
    50,
  );
}

function count(served: Served, n: number, timeoutMs: number): Promise<number[]> {
  return waitFor(`${n} workers`, () => (childPids(served.pid).length === n ? childPids(served.pid) : undefined), timeoutMs, 50);
}

test("SIGTTIN adds a worker, SIGTTOU removes one down to one, and SIGUSR2 reports each", { timeout: 85_000 }, async (t) => {
  await supervised({ args: ["--config", fixtureConfig("scaling"), "--workers", "2"], timeoutMs: 40_000 }, async ({ served }) => {
    const two = await count(served, 2, 5_000);

    // Some traffic first, so the report has connections to count; the
    // report is as of the last heartbeat (heartbeatMs 1 s by default).
    for (let i = 0; i < 6; i++) assert.deepEqual(await call(served.port, "ping", i), { out: "pong", result: i });
    await sleep(1_500);
    const lines2 = await report(served);
    assert.equal(lines2.length, 2, `one line per worker:\n${lines2.join("\n")}`);
    for (const pid of two) {
      const line = lines2.find((l) => l.includes(`worker ${pid} `));
      assert.ok(line, `a line for worker ${pid}`);
      assert.match(line, /\d+ connections accepted/);
    }
    const accepted = lines2.map((l) => Number(/(\d+) connections accepted/.exec(l)?.[1]));
    t.diagnostic(`connections accepted per worker: ${accepted.join(", ")}`);
    assert.ok(accepted.reduce((a, b) => a + b, 0) >= 6, `the 6 connections are counted: ${accepted.join(", ")}`);

    // SIGTTIN: 3.
    const ttinAt = Date.now();
    process.kill(served.pid, "SIGTTIN");
    const three = await count(served, 3, 5_000);
    const added = three.find((p) => !two.includes(p)) as number;
    assert.ok(added !== undefined);
    await findPid(served.port, (p) => p === added, 25_000);
    t.diagnostic(`SIGTTIN: third worker answering after ${Date.now() - ttinAt} ms`);
    const lines3 = await report(served);
    assert.equal(lines3.filter((l) => / ready: /.test(l)).length, 3, `three ready workers:\n${lines3.join("\n")}`);

    // SIGTTOU: 2, then 1.
    process.kill(served.pid, "SIGTTOU");
    const back2 = await count(served, 2, 10_000);
    assert.ok(back2.includes(added), "the newest worker stays; an older one is retired");
    process.kill(served.pid, "SIGTTOU");
    const one = await count(served, 1, 10_000);
    assert.deepEqual(await call(served.port, "ping", "one"), { out: "pong", result: "one" });
    assert.equal(await findPid(served.port, () => true, 5_000), one[0]);

    // Another SIGTTOU: still 1.
    process.kill(served.pid, "SIGTTOU");
    await waitFor("SIGTTOU ignored", () => /SIGTTOU ignored/.test(served.stderr()), 5_000);
    await sleep(1_000);
    assert.deepEqual(childPids(served.pid), one, "still the one worker");
    assert.deepEqual(await call(served.port, "ping", "still"), { out: "pong", result: "still" });
    const lines1 = await report(served);
    assert.equal(lines1.length, 1, lines1.join("\n"));
    assert.match(lines1[0] as string, new RegExp(`worker ${one[0]} .*ready: \\d+ connections accepted`));
    for (const pid of two) if (pid !== one[0]) assert.ok(!isAlive(pid), `worker ${pid} is gone`);
  });
});

test("maxRequests: the worker is recycled after ~50-60 requests and no ping fails", { timeout: 85_000 }, async (t) => {
  await supervised({ args: ["--config", fixtureConfig("recycle"), "--workers", "1"], timeoutMs: 40_000 }, async ({ served, defer }) => {
    const [first] = await count(served, 1, 5_000);
    const startedAt = Date.now();
    // ~200 pings in all: two keep-alive clients (ids, goaway handling) and one
    // fresh-connection client, paced so they outlast a replacement's boot.
    const a = new KeepAliveLoop(served.port, { maxCalls: 70, maxMs: 40_000, depth: 2, paceMs: 300 });
    const b = new KeepAliveLoop(served.port, { maxCalls: 70, maxMs: 40_000, depth: 1, paceMs: 150 });
    const c = new FreshLoop(served.port, { maxCalls: 60, maxMs: 40_000, paceMs: 170 });
    defer(async () => {
      for (const l of [a, b, c]) await l.stop();
    });
    await Promise.all([a.done, b.done, c.done]);
    t.diagnostic(`200 pings in ${Date.now() - startedAt} ms; keep-alive a: ${a.summary()}`);
    t.diagnostic(`keep-alive b: ${b.summary()}; fresh: ${c.ok} ok`);
    const recycled = await findPid(served.port, (p) => p !== first, 25_000);
    t.diagnostic(`recycled: worker ${first} -> ${recycled}; ${served.stderr().match(/recycling worker/g)?.length ?? 0} recycles logged`);
    assert.match(served.stderr(), new RegExp(`recycling worker ${first}: served (\\d+) requests`));
    const servedCount = Number(new RegExp(`recycling worker ${first}: served (\\d+) requests`).exec(served.stderr())?.[1]);
    assert.ok(servedCount >= 50, `recycled after at least maxRequests (${servedCount})`);
    assert.deepEqual([...a.failures, ...b.failures, ...c.failures], [], "pings failed");
    assert.equal(a.ok + b.ok, 140);
    assert.equal(c.ok, 60);
    assert.equal(a.closedWithoutGoaway + b.closedWithoutGoaway, 0);
    await waitFor("the first worker to be gone", () => !isAlive(first as number), 10_000);
    await count(served, 1, 20_000);
  });
});

test("maxRssMb: a worker past it is replaced, the replacement ready first, and no ping fails", { timeout: 85_000 }, async (t) => {
  const options = { args: ["--config", fixtureConfig("recycle-rss"), "--workers", "1"], timeoutMs: 40_000 };
  await supervised(
    options,
    async ({ served, defer }) => {
      const [first] = await count(served, 1, 5_000);
      const fresh = new FreshLoop(served.port, { maxCalls: 40, maxMs: 30_000, paceMs: 100 });
      defer(() => fresh.stop());
      const recycled = await findPid(served.port, (p) => p !== first, 25_000);
      await fresh.done;
      const line = new RegExp(`recycling worker ${first}: RSS (\\d+) MB is over maxRssMb 1`).exec(served.stderr());
      t.diagnostic(`worker ${first} -> ${recycled}; ${line?.[0] ?? "no recycling line"}; fresh pings: ${fresh.ok} ok`);
      assert.ok(line !== null, "the master says which worker and why");
      assert.deepEqual(fresh.failures, [], "pings failed");
      assert.equal(fresh.ok, 40);
    },
    { expectExit0: false },
  );
});

test("SIGTTOU while a reload boots: the new generation ends up with the new count", { timeout: 85_000 }, async (t) => {
  const fx = tempFixture("scaling");
  const options = { args: ["--config", fx.config, "--workers", "2"], timeoutMs: 40_000 };
  await supervised(
    options,
    async ({ served }) => {
      const before = await count(served, 2, 5_000);
      // The new generation takes 3 s to start: time to scale down meanwhile.
      writeFileSync(
        join(fx.plugins, "slow.ts"),
        `import { Rpc } from "forkrpc";\n\n@Rpc("slow")\nexport class Slow {\n  async onWorkerStart() {\n    await new Promise((resolve) => setTimeout(resolve, 3_000));\n  }\n  handle() {\n    return 1;\n  }\n}\n`,
      );
      process.kill(served.pid, "SIGHUP");
      await count(served, 4, 10_000);
      process.kill(served.pid, "SIGTTOU");
      await waitFor("SIGTTOU: 1 workers", () => /SIGTTOU: 1 workers/.test(served.stderr()), 5_000);
      await waitFor("reload complete", () => /reload complete/.test(served.stderr()), 30_000, 100);
      await waitFor("the old workers to go", () => before.every((p) => !isAlive(p)), 15_000, 50);
      await sleep(1_500);
      const now = childPids(served.pid);
      t.diagnostic(`workers after SIGTTOU during the reload: ${now.length}`);
      assert.equal(now.length, 1, `target 1 after SIGTTOU, got ${now.length} workers (${now.join(", ")})`);
    },
    { cleanup: fx.remove },
  );
});
