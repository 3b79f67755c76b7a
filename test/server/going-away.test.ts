/**
 * A connection going away (src/server/connection.ts, leave() and the
 * lifecycle of connection-state.ts) when its RpcServer drains, in the test
 * process (test/helpers/in-process.ts): the goaway and UNAVAILABLE for a
 * client that used ids, the quiet close for one that did not, and
 * goawayLingerMs bounding both. docs/protocol.md, "Going away", is the
 * contract. Written for connection.ts's mutants (issue 18); each test names
 * the ones it kills.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { request, type Response } from "../helpers/wire.ts";
import { inProcess, later, method, registry, start } from "../helpers/in-process.ts";

inProcess();

const echo = method("echo", (params) => params, 1);
const slow = method("sleep", (p: { ms: number; value: unknown }) => sleep(p.ms).then(() => p.value), 2);
const METHODS = registry(echo, slow);
const UNAVAILABLE = { code: "UNAVAILABLE", message: "server is going away; the request was not run" };

// Kills the goaway not sent (#apply's GoneAway branch emptied, or
// `after === GoneAway` turned false), its reason, `goneAway` in #onFrame
// turned `false` (a request after the goaway would run) or `true`, the
// UNAVAILABLE fault's text, and the linger not started.
test("a client that used ids: the goaway after the answers owed before it, UNAVAILABLE after it, closed after goawayLingerMs", async () => {
  const s = await start(METHODS, { shutdown: { goawayLingerMs: 150, quietMs: 10 } });
  const peer = await s.open();
  peer.write(request("echo", "first", { id: 1 }));
  assert.deepEqual(await peer.read(), { out: "echo", result: "first", id: 1 });
  peer.write(request("sleep", { ms: 40, value: "owed" }));
  await sleep(10);
  const drainedAt = Date.now();
  let drained = false;
  const drain = s.server.drain("going", 5_000).then(() => (drained = true));
  assert.deepEqual(await peer.readMany(2), [
    { out: "sleep", result: "owed" },
    { out: "goaway", result: { reason: "going" } },
  ]);
  peer.write(Buffer.concat([request("echo", "too late", { id: 2 }), request("echo", "too late, no id")]));
  assert.deepEqual(await peer.readMany(2), [
    { out: "error", result: UNAVAILABLE, id: 2 },
    { out: "error", result: UNAVAILABLE },
  ]);
  assert.equal(drained, false, "the drain waits for the connection");
  assert.equal(await peer.waitClosed(2_000), true);
  assert.ok(Date.now() - drainedAt >= 120, `closed ${Date.now() - drainedAt} ms after the drain, goawayLingerMs is 150`);
  await drain;
  assert.equal(s.server.stats.open, 0);
});

// Kills #closeIfIdle's `owed > 0` turned `false` (the close would not wait
// for the answer) and linger-over's move to Finishing not acted on.
test("with ids, a request still running when the linger ends is answered before the close", async () => {
  const gate = later<string>();
  const hold = method("hold", () => gate.promise, 3);
  const s = await start(registry(echo, hold), { shutdown: { goawayLingerMs: 30, quietMs: 10 } });
  const peer = await s.open();
  peer.write(request("hold", null, { id: "h" }));
  await sleep(10);
  void s.server.drain("going", 5_000);
  assert.deepEqual(await peer.read(), { out: "goaway", result: { reason: "going" } });
  await sleep(80);
  assert.equal(peer.closed, false, "an answer is owed");
  gate.resolve("held");
  assert.deepEqual(await peer.read(), { out: "hold", result: "held", id: "h" });
  assert.equal(await peer.waitClosed(2_000), true);
});

// Kills #quietEnough's `quietFor >= quietMs` turned `true` (closed at the
// first moment nothing is owed: the request sent meanwhile would meet a
// closed socket), the goaway sent to a client without ids (`usedIds`
// turned `true`), and the quiet timer not re-armed (it would stay open
// until the linger).
test("a client without ids gets no goaway: it is read and answered until quiet for quietMs, then closed", async () => {
  const s = await start(METHODS, { shutdown: { goawayLingerMs: 5_000, quietMs: 80 } });
  const peer = await s.open();
  peer.write(request("echo", "before"));
  assert.deepEqual(await peer.read(), { out: "echo", result: "before" });
  const drainedAt = Date.now();
  const drain = s.server.drain("going", 10_000);
  await sleep(30);
  // Measured from before the request: a late read here can only add to it.
  const sentAt = Date.now();
  peer.write(request("sleep", { ms: 30, value: "during" }));
  assert.deepEqual(await peer.read(), { out: "sleep", result: "during" }, "a request sent while departing is answered");
  assert.equal(await peer.waitClosed(3_000), true, "closed once quiet");
  const closedAfter = Date.now() - sentAt;
  assert.ok(closedAfter >= 100, `closed ${closedAfter} ms after the last request; its handler takes 30 ms and quietMs is 80`);
  assert.ok(Date.now() - drainedAt < 2_500, "well before goawayLingerMs");
  assert.equal(peer.pending, 0, "no goaway");
  await drain;
});

// Kills the linger of a departing connection not started (#apply's
// Departing branch emptied): a client that never goes quiet would be
// read until graceMs.
test("a client without ids that never goes quiet is read for goawayLingerMs, then answered and closed", async () => {
  const s = await start(METHODS, { shutdown: { goawayLingerMs: 100, quietMs: 5_000 } });
  const peer = await s.open();
  const drain = s.server.drain("going", 10_000);
  let sent = 0;
  for (; sent < 100 && !peer.closed; sent++) {
    peer.write(request("echo", sent));
    await sleep(15);
  }
  assert.equal(peer.closed, true, `closed while the client still sent (${sent} sent)`);
  const answers: Response[] = [];
  while (peer.pending >= 4) answers.push(await peer.read(100));
  assert.ok(answers.length > 0 && answers.length <= sent);
  answers.forEach((a, i) => assert.deepEqual(a, { out: "echo", result: i }, "each answer is its request's, in order"));
  await drain;
});

// Kills the first-id event (`hasId && !usedIds` turned `false`, or
// `usedIds = true` removed) and #startLinger's clearTimeout removed or the
// linger not restarted on the goaway: the client gets the whole linger
// from its goaway, not from the drain.
test("a first id sent while departing gets a goaway at once, and the whole linger from it", async () => {
  const s = await start(METHODS, { shutdown: { goawayLingerMs: 200, quietMs: 5_000 } });
  const peer = await s.open();
  void s.server.drain("going", 10_000);
  await sleep(100);
  // The linger starts when the server reads the id, after this moment.
  const sentAt = Date.now();
  peer.write(request("echo", "first id", { id: 1 }));
  const got = await peer.readMany(2);
  assert.deepEqual(new Set(got.map((m) => JSON.stringify(m))), new Set([JSON.stringify({ out: "goaway", result: { reason: "going" } }), JSON.stringify({ out: "echo", result: "first id", id: 1 })]));
  assert.equal(await peer.waitClosed(2_000), true);
  assert.ok(Date.now() - sentAt >= 190, `closed ${Date.now() - sentAt} ms after the first id was sent, goawayLingerMs is 200`);
});
