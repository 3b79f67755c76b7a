/**
 * One connection (src/server/connection.ts) served by an RpcServer in the
 * test process (test/helpers/in-process.ts) and talked to over a raw socket:
 * answer order, the idle timeout, a client that half-closes or leaves while
 * a handler watches ctx.signal, and a bug that throws while a read is
 * handled. Frame faults and closing are in connection-close.test.ts,
 * pausing in connection-flow.test.ts, going away in going-away.test.ts.
 * Limits are tens of ms so the file runs in a second or two. Written for
 * connection.ts's mutants (issue 18), which only the spawning integration
 * files reached before; each test names the ones it kills.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "../helpers/wire.ts";
import { inProcess, later, method, registry, start, until } from "../helpers/in-process.ts";
import { Activity } from "../../src/server/activity.ts";

const logged = inProcess();

const echo = method("echo", (params) => params, 1);
const slow = method("sleep", (p: { ms: number; value: unknown }) => sleep(p.ms).then(() => p.value), 2);
const METHODS = registry(echo, slow);

// Kills answered() emptied (an async answer would wait for the next read),
// the `while (hasBatch)` loop of #flush turned `false`, `hasId` turned `true`
// or `false` (the order of the no-id answers, the ids echoed), and the
// idle timer armed when idleTimeoutMs is 0 (`> 0` to `>= 0`).
test("without ids answers leave in arrival order, a slow one holding those behind it; with ids each leaves when ready", async () => {
  const s = await start(METHODS);
  const peer = await s.open();
  peer.write(Buffer.concat([request("sleep", { ms: 40, value: "a" }), request("echo", "b"), request("echo", "c")]));
  assert.deepEqual(await peer.readMany(3), [
    { out: "sleep", result: "a" },
    { out: "echo", result: "b" },
    { out: "echo", result: "c" },
  ]);
  peer.write(Buffer.concat([request("sleep", { ms: 40, value: 1 }, { id: 1 }), request("echo", 2, { id: "2" })]));
  assert.deepEqual(await peer.readMany(2), [
    { out: "echo", result: 2, id: "2" },
    { out: "sleep", result: 1, id: 1 },
  ]);
  // Mixed: an id answer passes the slow no-id one, the later no-id one waits.
  peer.write(Buffer.concat([request("sleep", { ms: 40, value: "x" }), request("echo", "y", { id: 3 }), request("echo", "z")]));
  assert.deepEqual(await peer.readMany(3), [
    { out: "echo", result: "y", id: 3 },
    { out: "sleep", result: "x" },
    { out: "echo", result: "z" },
  ]);
  // No idle timeout by default: a connection quiet for longer than quietMs (100 ms) stays.
  await sleep(150);
  assert.equal(peer.closed, false);
  peer.write(request("echo", "still"));
  assert.deepEqual(await peer.read(), { out: "echo", result: "still" });
});

// Kills #onEnd emptied or its #goneClient() removed (the handler's signal
// would not abort and, without allowHalfOpen, nothing would be answered),
// and the server's allowHalfOpen turned false.
test("half-close: the client ends its side; its answers still come, a handler watching ctx.signal sees it abort, then the server closes", async () => {
  let reason = "";
  const watch = method("watch", (_p, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve((reason = (ctx.signal.reason as Error).name)))), 3);
  const s = await start(registry(echo, slow, watch));
  const peer = await s.open();
  peer.write(Buffer.concat([request("sleep", { ms: 60, value: "late" }), request("watch", null, { id: "w" }), request("echo", "e", { id: "e" })]));
  assert.deepEqual(await peer.read(), { out: "echo", result: "e", id: "e" });
  peer.socket.end();
  const answers = await peer.readMany(2, 3_000);
  assert.deepEqual(answers.sort((a, b) => String(a.out).localeCompare(String(b.out))), [
    { out: "sleep", result: "late" },
    { out: "watch", result: "AbortError", id: "w" },
  ]);
  assert.equal(reason, "AbortError");
  assert.equal(await peer.waitClosed(2_000), true, "the server closes once nothing is owed");
});

// Kills #onClose's #goneClient() removed or its `clientGone = true`, the
// clientGone getter emptied (a signal first read after the client left
// would not be aborted), socket.on("error", ...) removed (the reset's
// ECONNRESET would be an uncaught 'error'), and unwatch() emptied (a
// request answered earlier would see its signal abort too).
test("a client that resets: the running handler's signal aborts, one first read later is aborted already; one answered before is left alone", async () => {
  const running = later<AbortSignal>();
  const gone = later<void>();
  let earlier: AbortSignal | null = null;
  let lateRead: boolean | null = null;
  const watch = method("watch", (_p, ctx) => {
    running.resolve(ctx.signal);
    return new Promise(() => {});
  });
  const look = method("look", (_p, ctx) => {
    earlier = ctx.signal;
    return "looked";
  });
  const lookLater = method("lookLater", async (_p, ctx) => {
    await gone.promise;
    lateRead = ctx.signal.aborted;
  });
  const s = await start(registry(watch, look, lookLater));
  const peer = await s.open();
  peer.write(request("look"));
  assert.deepEqual(await peer.read(), { out: "look", result: "looked" });
  peer.write(Buffer.concat([request("lookLater", null, { id: 1 }), request("watch", null, { id: 2 })]));
  const signal = await running.promise;
  assert.equal(signal.aborted, false);
  peer.socket.resetAndDestroy();
  assert.equal(await until(() => signal.aborted), true, "aborted once the client is gone");
  assert.equal(await until(() => s.server.stats.open === 0), true);
  gone.resolve();
  assert.equal(await until(() => lateRead !== null), true);
  assert.equal(lateRead, true, "a signal first read after the client left is aborted already");
  assert.equal((earlier as AbortSignal | null)?.aborted, false, "an answered request's signal is not aborted");
});

// Kills the idle timer (`idleTimeoutMs > 0` turned `false`, #onTimer's
// idle branch: `quietFor >= idleMs` turned `true`, `&& owed === 0` to
// `||`: a connection would leave while it waits for an answer, and close
// just after it), the reason's text, and #onData's `#lastActivity = now`
// removed (a connection in use would time out).
test("idle timeout: a connection used now and then stays; one quiet for idleTimeoutMs leaves; one waiting for an answer is idle only from the answer", async () => {
  // Times are measured from before the client acts, so that a late read on a
  // loaded machine can only make them longer; idleTimeoutMs is 200 so that a
  // stall of the busy client's loop (25 ms a turn) does not pass for idleness.
  const s = await start(METHODS, { limits: { idleTimeoutMs: 200 }, shutdown: { quietMs: 10, goawayLingerMs: 20 } });
  const busy = await s.open();
  const idleOpening = Date.now();
  const idle = await s.open();
  const waiting = await s.open();
  const sentAt = Date.now();
  waiting.write(request("sleep", { ms: 300, value: "worth the wait" }));
  for (let i = 0; i < 12; i++) {
    busy.write(request("echo", i));
    assert.deepEqual(await busy.read(), { out: "echo", result: i });
    await sleep(25);
  }
  assert.equal(busy.closed, false, "a connection used every 25 ms is not idle");
  assert.equal(await idle.waitClosed(2_000), true, "a quiet connection is closed");
  assert.ok(Date.now() - idleOpening >= 190, "not before idleTimeoutMs");
  assert.equal(idle.pending, 0, "without ids: no goaway");
  assert.deepEqual(await waiting.read(2_000), { out: "sleep", result: "worth the wait" }, "a request in flight holds it open");
  assert.equal(await waiting.waitClosed(2_000), true);
  const closedAfter = Date.now() - sentAt;
  assert.ok(closedAfter >= 490, `closed ${closedAfter} ms after its request; the handler takes 300 ms and idleTimeoutMs is 200`);

  // A client that used ids is told why.
  const told = await s.open();
  told.write(request("echo", 1, { id: 1 }));
  assert.deepEqual(await told.read(), { out: "echo", result: 1, id: 1 });
  assert.deepEqual(await told.read(2_000), { out: "goaway", result: { reason: "idle for 200 ms" } });
  assert.equal(await told.waitClosed(2_000), true);
});

// Kills #onData's try/catch turned away (the throw would reach the
// socket's 'data' emitter, an uncaught exception), lost()'s log line and
// its destroy() removed.
test("a bug that throws while a read is handled drops that connection, logged with the peer, and no other", async () => {
  class Throwing extends Activity {
    override enter(index: number, id: never): void {
      if (index === 9) throw new Error("a bug");
      super.enter(index, id);
    }
  }
  const s = await start(registry(echo, method("bug", () => "never", 9)), {}, new Throwing());
  const victim = await s.open();
  const other = await s.open();
  const port = victim.socket.localPort;
  victim.write(request("bug"));
  assert.equal(await victim.waitClosed(2_000), true);
  assert.ok(logged.some((l) => l.includes(`error: connection from 127.0.0.1:${port} dropped: Error: a bug`)), logged.join(""));
  other.write(request("echo", "fine"));
  assert.deepEqual(await other.read(), { out: "echo", result: "fine" });
});
