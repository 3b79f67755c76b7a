/**
 * How a connection (src/server/connection.ts) ends when the stream goes
 * wrong, in the test process (test/helpers/in-process.ts): a bad or
 * too-large length prefix (answered after what is owed, then closed), a
 * body that is not JSON (answered, kept open), a frame left unfinished
 * (the read timeout), and our close itself: the peer's FIN read after ours,
 * a peer that keeps its side open cut after CLOSE_WAIT_MS. Written for
 * connection.ts's mutants (issue 18); each test names the ones it kills.
 */
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { frame, request } from "../helpers/wire.ts";
import { inProcess, method, registry, start, until, within } from "../helpers/in-process.ts";
import { Activity } from "../../src/server/activity.ts";
import type { CallMetrics } from "../../src/metrics/recorder.ts";

inProcess();

const echo = method("echo", (params) => params, 1);
const slow = method("sleep", (p: { ms: number; value: unknown }) => sleep(p.ms).then(() => p.value), 2);
const METHODS = registry(echo, slow);

function prefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** A metrics stand-in that lists what the server tells it. */
function recorder() {
  const rejected: string[] = [];
  const calls: { bytes: number; readAt: number }[] = [];
  let written = 0;
  const metrics = {
    other: 99,
    record: (_method: number, _code: string | null, readAt: number, bytes: number) => calls.push({ bytes, readAt }),
    rejected: (code: string) => rejected.push(code),
    written: () => written++,
  } as unknown as CallMetrics;
  return { metrics, rejected, calls, written: () => written };
}

/** A raw socket that keeps its side open after the server's FIN (allowHalfOpen), destroyed at the end of the test. */
async function halfOpen(port: number, t: { after: (fn: () => void) => void }): Promise<Socket> {
  const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  socket.on("error", () => {});
  // Flowing, so that our FIN shows as 'end' (the answers it reads are not looked at).
  socket.resume();
  t.after(() => socket.destroy());
  await within(once(socket, "connect"), 2_000, "connect");
  return socket;
}

// Kills the metrics calls: run()'s `end - start` (the body's size), readAt
// emptied (when the read began), the
// fault counted (faulted), written() after a write; and #onFault's
// `#fatal = bad` emptied (the BAD_FRAME would not be sent).
test("a zero-length prefix: what came before is answered in order, then BAD_FRAME, then the close; nothing after it is run", async () => {
  const activity = new Activity();
  const rec = recorder();
  activity.metrics = rec.metrics;
  const s = await start(METHODS, {}, activity);
  const peer = await s.open();
  const body = JSON.stringify({ in: "echo", params: "a" });
  peer.write(Buffer.concat([frame(body), request("sleep", { ms: 30, value: "b" }), request("echo", "c"), prefix(0), request("echo", "never")]));
  const answers = await peer.readMany(4);
  assert.deepEqual(answers.slice(0, 3).map((a) => a.result), ["a", "b", "c"]);
  assert.equal(answers[3]!.out, "error");
  assert.equal(answers[3]!.result.code, "BAD_FRAME");
  assert.equal("id" in answers[3]!, false);
  assert.equal(await peer.waitClosed(2_000), true, "closed after the fault");
  assert.equal(peer.pending, 0, "nothing after the fault");
  assert.deepEqual(rec.rejected, ["BAD_FRAME"]);
  assert.equal(rec.calls[0]!.bytes, Buffer.byteLength(body), "a request's size is its body's");
  const readAt = rec.calls[0]!.readAt;
  assert.ok(typeof readAt === "number" && readAt <= performance.now() && readAt > performance.now() - 5_000, `a call starts when its read began (${readAt})`);
  assert.ok(rec.written() > 0, "writes are reported");
});

// Kills, with the BAD_FRAME test: the fault's answer after the owed ones
// (`#fatal === null ? null : ...` turned either way) and the reader left
// paused after a fault (`if (#fatal === null) discard()` turned `true`:
// the flood after the bad prefix would be read).
test("a prefix above maxFrameBytes: requests with ids before it are answered, then FRAME_TOO_LARGE, then the close", async () => {
  const s = await start(METHODS, { limits: { maxFrameBytes: 64 } });
  const peer = await s.open();
  peer.write(Buffer.concat([request("sleep", { ms: 30, value: "slow" }, { id: 1 }), request("echo", "quick", { id: 2 }), prefix(65), Buffer.alloc(65, 0x20)]));
  const answers = await peer.readMany(3);
  assert.deepEqual(new Set(answers.slice(0, 2).map((a) => a.id)), new Set([1, 2]));
  assert.equal(answers[2]!.result.code, "FRAME_TOO_LARGE");
  assert.equal(await peer.waitClosed(2_000), true);
  assert.equal(peer.pending, 0);
});

test("a body that is not JSON is answered PARSE_ERROR and the connection stays open", async () => {
  const s = await start(METHODS);
  const peer = await s.open();
  peer.write(Buffer.concat([frame("{nope"), request("echo", "after", { id: 5 })]));
  const [bad, ok] = await peer.readMany(2);
  assert.equal(bad!.result.code, "PARSE_ERROR");
  assert.deepEqual(ok, { out: "echo", result: "after", id: 5 });
  assert.equal(peer.closed, false);
});

// Kills #onReadTimeout emptied, and Finishing's `reader.set(Pause.Ended,
// true)` removed: the rest of the frame, sent after the timeout, would be
// read and answered.
test("read timeout: a frame left unfinished closes the connection after the answers owed; what comes later is not read", async () => {
  const s = await start(METHODS, { limits: { readTimeoutMs: 60 } });
  const quiet = await s.open();
  const started = Date.now();
  quiet.write(prefix(10).subarray(0, 2));
  assert.equal(await quiet.waitClosed(2_000), true, "closed by the read timeout");
  assert.ok(Date.now() - started >= 40, `not before the timeout (${Date.now() - started} ms)`);
  assert.equal(quiet.pending, 0, "no error is sent for it");

  const owed = await s.open();
  const late = request("echo", "late");
  owed.write(Buffer.concat([request("sleep", { ms: 150, value: "owed" }), late.subarray(0, 6)]));
  await sleep(100);
  // The timeout has passed: the rest of the frame and another request are dropped.
  owed.write(Buffer.concat([late.subarray(6), request("echo", "later")]));
  assert.deepEqual(await owed.read(2_000), { out: "sleep", result: "owed" });
  assert.equal(await owed.waitClosed(2_000), true);
  assert.equal(owed.pending, 0, "nothing read after the timeout is answered");
});


// Kills `if (#fatal === null) discard()` turned `true`: after a fault the
// peer may be flooding us, and its bytes stay unread (its writes back up).
test("after a fault the server reads nothing more: a peer that floods it is left with its own full buffers", async (t) => {
  const s = await start(METHODS);
  const socket = await halfOpen(s.port, t);
  socket.write(prefix(0));
  await within(once(socket, "end"), 2_000, "the server's FIN");
  const flood = Buffer.alloc(32 * 1024 * 1024, 0x20);
  assert.equal(socket.write(flood), false);
  const drained = await Promise.race([once(socket, "drain").then(() => true), sleep(300).then(() => false)]);
  assert.equal(drained, false, "32 MB were not taken");
  assert.equal(s.server.stats.open, 1);
});

// Kills #armTimer(CLOSE_WAIT_MS) removed and #onTimer's Closing branch
// (`state === Closing` turned `false`): a peer that never closes its side
// after our FIN would hold the connection for good. Fake setTimeout from
// the fault on; the waits here run on setImmediate.
test("a peer that keeps its side open after our FIN is cut CLOSE_WAIT_MS (5 s) later", async (t) => {
  const s = await start(METHODS);
  const socket = await halfOpen(s.port, t);
  const ended = within(once(socket, "end"), 2_000, "the server's FIN");
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  socket.write(prefix(0));
  await ended;
  const turns = async (cond: () => boolean) => {
    for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
    return cond();
  };
  mock.timers.tick(4_999);
  await turns(() => false);
  assert.equal(s.server.stats.open, 1, "held by the peer until the close wait is over");
  mock.timers.tick(1);
  assert.equal(await turns(() => s.server.stats.open === 0), true, "cut after 5 s");
});

// Kills the polite close's discard() (`if (#fatal === null)` turned
// `false`, connection.ts:240): bytes the peer sends after our FIN would sit
// unread in the paused socket, its FIN behind them, and the socket would
// stay open for CLOSE_WAIT_MS (5 s) instead of closing at the peer's FIN.
test("after our FIN (read timeout), what the peer still sends is read and dropped, so its FIN closes the socket at once", async (t) => {
  const s = await start(METHODS, { limits: { readTimeoutMs: 40 } });
  const socket = await halfOpen(s.port, t);
  socket.write(prefix(10).subarray(0, 2));
  await within(once(socket, "end"), 2_000, "the server's FIN after the read timeout");
  socket.end(Buffer.alloc(64 * 1024, 0x20));
  assert.equal(await until(() => s.server.stats.open === 0, 2_000), true, "closed at the peer's FIN");
});

// Kills #armTimer's `if (#timer !== null) clearTimeout(#timer)` turned
// `false` or `=== null` (connection.ts:261): the idle timer armed at the
// start would still run beside the close wait and cut the connection while
// the peer may still read.
test("the close wait replaces the idle timer: a peer keeping its side open is not cut at idleTimeoutMs", async (t) => {
  const s = await start(METHODS, { limits: { idleTimeoutMs: 60 } });
  const socket = await halfOpen(s.port, t);
  socket.write(prefix(0));
  await within(once(socket, "end"), 2_000, "the server's FIN after BAD_FRAME");
  await sleep(200);
  assert.equal(s.server.stats.open, 1, "still held by the peer, whose close wait is 5 s");
});
