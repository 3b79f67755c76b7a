/**
 * A worker whose event loop is blocked stops beating; after workerTimeoutMs
 * the master kills it, says what it was running (from the watchdog thread's
 * report), and replaces it. The other worker keeps serving meanwhile.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RawPeer, request } from "../helpers/wire.ts";
import { FreshLoop, childPids, findPid, fixtureConfig, isAlive, sleep, supervised, waitFor } from "../helpers/supervision.ts";

test("a handler that blocks the event loop: its worker is killed, named, and replaced", { timeout: 85_000 }, async (t) => {
  await supervised({ args: ["--config", fixtureConfig("hung"), "--workers", "2"], timeoutMs: 40_000 }, async ({ served, defer }) => {
    const master = served.pid;
    const before = await waitFor("2 workers", () => (childPids(master).length === 2 ? childPids(master) : undefined), 5_000);

    const loop = new FreshLoop(served.port, { maxCalls: 3_000, maxMs: 40_000, paceMs: 10 });
    defer(() => loop.stop());
    await waitFor("the loop to get going", () => loop.ok >= 10, 10_000, 20);

    // Sent between two pings, and the loop held a moment so that the spin
    // has surely started: a ping the doomed worker accepted in the same
    // instant would be lost with it, which is not what is tested here.
    const spinPeer = await RawPeer.open(served.port);
    defer(() => spinPeer.close());
    const sentAt = await loop.between(async () => {
      spinPeer.write(request("spin", { ms: 20_000 }, { id: 42 }));
      await sleep(300);
      return Date.now() - 300;
    });
    const okAtSpin = loop.ok;

    const killed = await waitFor(
      '"killing worker" naming spin and id 42',
      () => {
        const m = /killing worker (\d+): hung: no heartbeat for \d+ ms; (.*)/.exec(served.stderr());
        return m ? { pid: Number(m[1]), why: m[2] as string, at: Date.now() } : undefined;
      },
      8_000,
      20,
    );
    const killMs = killed.at - sentAt;
    const okWhileHung = loop.ok - okAtSpin;
    t.diagnostic(`killed ${killMs} ms after the spin was sent: ${killed.why}`);
    assert.ok(killMs <= 6_000, `the hung worker was killed within ~6 s (${killMs} ms)`);
    assert.ok(before.includes(killed.pid), `one of the workers (${killed.pid} in ${before})`);
    assert.match(killed.why, /blocked in spin \(id 42\)/);

    // The spin's own connection dies with its worker, unanswered.
    assert.equal(await spinPeer.waitClosed(10_000), true, "the spin connection is closed");
    assert.equal(spinPeer.pending, 0, "no answer came for the spin");

    const after = await waitFor(
      "a replacement worker",
      () => {
        const now = childPids(master);
        return now.length === 2 && !now.includes(killed.pid) ? now : undefined;
      },
      5_000,
      20,
    );
    const replacement = after.find((p) => !before.includes(p)) as number;
    await findPid(served.port, (p) => p === replacement, 25_000);
    t.diagnostic(`replacement ${replacement} answering ${Date.now() - killed.at} ms after the kill`);
    assert.ok(!isAlive(killed.pid));

    await loop.stop();
    t.diagnostic(`pings on other connections: ${loop.ok} ok, ${loop.failures.length} failures`);
    assert.deepEqual(loop.failures, [], "pings on other connections failed");
    assert.ok(okWhileHung >= 10, `pings kept flowing while the worker hung (${okWhileHung} between the spin and the kill)`);
  });
});
