/**
 * When a connection stops reading (src/server/connection.ts, #flush and the
 * Reader's pause reasons), in the test process (test/helpers/in-process.ts):
 * a client that does not read its answers, one that owes us reads of more
 * than maxPipelined answers, and one that takes nothing for writeTimeoutMs.
 * Handlers count their runs: a request the server has not read is not run.
 * Written for connection.ts's mutants (issue 18); each test names the ones
 * it kills.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "../helpers/wire.ts";
import { inProcess, later, method, registry, start, until } from "../helpers/in-process.ts";

const logged = inProcess();

// Kills #flush's `Pause.Output` set turned `false` (every request would be
// read while the client reads nothing), `Pause.Held` never cleared (`false`
// turned `true`), and #onDrain's #flush() removed (reading would never
// resume once the client reads again).
test("a client that does not read its answers: the server stops reading its requests, and resumes when it reads", async () => {
  let runs = 0;
  const big = method("big", (n: number) => {
    runs++;
    return "x".repeat(n);
  });
  const s = await start(registry(big), { limits: { maxWriteBufferBytes: 1024, writeTimeoutMs: 0 } });
  const peer = await s.open();
  peer.socket.pause();
  const total = 120;
  // 120 answers of 200 KB: 24 MB, more than loopback's socket buffers hold.
  peer.write(Buffer.concat(Array.from({ length: total }, () => request("big", 200_000))));
  assert.equal(await until(() => runs > 0), true);
  await sleep(100);
  const whilePaused = runs;
  assert.ok(whilePaused < total, `only what fits was run (${whilePaused} of ${total})`);
  peer.socket.resume();
  const answers = await peer.readMany(total, 10_000);
  assert.equal(answers.length, total);
  assert.ok(answers.every((a) => a.out === "big" && a.result.length === 200_000));
  assert.equal(runs, total);
});

// Kills the maxPipelined pause: `owed >= limit` turned `false` or `>`, and
// the half-way resume (`has(Pause.Owed) ? limit / 2 : limit`: the
// conditional turned either way, `/` to `*`).
test("maxPipelined: past it the server reads nothing more until fewer than half are owed", async () => {
  const gates = new Map<number, ReturnType<typeof later<string>>>();
  let runs = 0;
  const hold = method("hold", (n: number) => {
    runs++;
    const g = later<string>();
    gates.set(n, g);
    return g.promise;
  });
  const s = await start(registry(hold), { limits: { maxPipelined: 4 } });
  const peer = await s.open();
  // Four owed: reading stops after this read.
  peer.write(Buffer.concat([1, 2, 3, 4].map((n) => request("hold", n, { id: n }))));
  assert.equal(await until(() => runs === 4), true);
  peer.write(request("hold", 5, { id: 5 }));
  await sleep(50);
  assert.equal(runs, 4, "not read while 4 are owed");
  // Three owed: more than half of 4, still paused.
  gates.get(1)!.resolve("one");
  assert.deepEqual(await peer.read(), { out: "hold", result: "one", id: 1 });
  await sleep(50);
  assert.equal(runs, 4, "not read while 3 are owed");
  // One owed: reading resumes.
  gates.get(2)!.resolve("two");
  gates.get(3)!.resolve("three");
  assert.deepEqual(
    (await peer.readMany(2)).map((a) => a.id),
    [2, 3],
  );
  assert.equal(await until(() => runs === 5), true, "read again once fewer than half are owed");
  gates.get(4)!.resolve("four");
  gates.get(5)!.resolve("five");
  assert.deepEqual(
    (await peer.readMany(2)).map((a) => a.id),
    [4, 5],
  );
});

// Kills #onStalled emptied (its destroy() or its log line) and the
// writeTimeoutMs in the line's text.
test("a client that takes none of its answers for writeTimeoutMs is cut off, with a warning naming it", async () => {
  const big = method("big", (n: number) => "x".repeat(n));
  const s = await start(registry(big), { limits: { maxWriteBufferBytes: 1024, writeTimeoutMs: 60 } });
  const peer = await s.open();
  const port = peer.socket.localPort;
  peer.socket.pause();
  peer.write(Buffer.concat(Array.from({ length: 60 }, () => request("big", 500_000))));
  assert.equal(await until(() => s.server.stats.open === 0, 5_000), true, "the server closed it");
  assert.ok(
    logged.some((l) => l.includes(`warn: connection from 127.0.0.1:${port} closed: it read none of its answers for 60 ms`)),
    logged.join(""),
  );
});
