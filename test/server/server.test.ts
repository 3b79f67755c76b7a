/**
 * The listening side (src/server/server.ts) in the test process
 * (test/helpers/in-process.ts): maxConnections and the stats, failed
 * accepts and their rate-limited warning, LISTEN_FAILED on a taken port,
 * and drain(): resolving once no connection is left, cutting those left
 * after graceMs. Written for server.ts's mutants (issue 18), which only the
 * spawning integration files reached before; each test names the ones it
 * kills.
 */
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { RawPeer, request } from "../helpers/wire.ts";
import { inProcess, later, method, newServer, openPeer, registry, start, track, until, within } from "../helpers/in-process.ts";

const logged = inProcess();

const echo = method("echo", (params) => params, 1);
const METHODS = registry(echo);
const warnings = (text: string) => logged.filter((l) => l.includes(` warn: ${text}`));

/** The net.Server an RpcServer listens with, caught as it listens (the first listen after this call). */
function catchNetServer(): { get: () => Server } {
  const listen = mock.method(Server.prototype, "listen");
  return { get: () => listen.mock.calls[0]!.this as Server };
}

// Kills `maxConnections > 0` turned `false` (no limit), the 'drop'
// handler's `rejected++` and warning, the warning's rate limit (`now -
// logged < 1000` turned `false`), and the counts of stats: accepted++,
// the connections' set (open), rejected.
test("maxConnections: connections past it are closed at once, counted as rejected, and warned about once per second", async () => {
  const s = await start(METHODS, { limits: { maxConnections: 2 } });
  const a = await s.open();
  const b = await s.open();
  for (const p of [a, b]) {
    p.write(request("echo", "in"));
    assert.deepEqual(await p.read(), { out: "echo", result: "in" });
  }
  const c = await s.open();
  const d = await s.open();
  assert.equal(await c.waitClosed(2_000), true, "the third is closed");
  assert.equal(await d.waitClosed(2_000), true, "and the fourth");
  assert.deepEqual(s.server.stats, { accepted: 2, open: 2, rejected: 2, acceptFailed: 0, handshakesFailed: 0 });
  assert.equal(warnings("connection refused: 2 open, limits.maxConnections is 2").length, 1, logged.join(""));
  a.close();
  assert.equal(await until(() => s.server.stats.open === 1), true, "a closed connection is forgotten");
  const e = await s.open();
  e.write(request("echo", "room again"));
  assert.deepEqual(await e.read(), { out: "echo", result: "room again" });
  assert.equal(s.server.stats.accepted, 3);
});

// Kills the error handler after listen (`rejected++`, `acceptFailed++`, the
// warning and its `code ?? message`), and the rate limit's bounds
// (`< ACCEPT_LOG_EVERY_MS` to `<=`; the first failure logged however
// early, `-Infinity`).
test("a failed accept is counted and warned about, at most once a second, and the server keeps listening", async () => {
  const net = catchNetServer();
  const s = await start(METHODS);
  let now = 0;
  const clock = mock.method(performance, "now", () => now);
  const fail = (code?: string) => net.get().emit("error", Object.assign(new Error("accept went wrong"), code === undefined ? {} : { code }));
  fail("EMFILE");
  now = 999;
  fail("EMFILE");
  now = 1_000;
  fail();
  assert.deepEqual(s.server.stats, { accepted: 0, open: 0, rejected: 3, acceptFailed: 3, handshakesFailed: 0 });
  const lines = warnings("accept failed");
  assert.equal(lines.length, 2, logged.join(""));
  assert.match(lines[0]!, /accept failed \(EMFILE\): 0 connections open; see limits\.maxConnections/);
  assert.match(lines[1]!, /accept failed \(accept went wrong\)/);
  clock.mock.restore();
  const peer = await s.open();
  peer.write(request("echo", "still listening"));
  assert.deepEqual(await peer.read(), { out: "echo", result: "still listening" });
});

// Kills the listen error's code and message, and the listen options
// emptied (it would listen on a free port).
test("a port already taken: listen rejects with LISTEN_FAILED naming the address and the cause", async () => {
  const first = await start(METHODS);
  const second = newServer(METHODS);
  await assert.rejects(second.listen("127.0.0.1", first.port), (error: any) => {
    assert.equal(error.code, "LISTEN_FAILED");
    assert.match(error.message, new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${first.port}: listen EADDRINUSE`));
    assert.equal(error.cause.code, "EADDRINUSE");
    return true;
  });
});

// Kills drain()'s `size === 0` shortcut turned `false` (it would never
// resolve), `??=` to `&&=`/a fresh promise per call, and stopAccepting()
// emptied (a new connection would be accepted).
test("drain with no connection resolves at once, is one drain however often asked, and refuses new connections", async () => {
  const s = await start(METHODS);
  const first = s.server.drain("one", 10_000);
  assert.equal(s.server.drain("two", 1), first);
  await within(first, 1_000, "drain of an empty server");
  await assert.rejects(openPeer(s.port), /ECONNREFUSED/);
  // A server that never listened drains too.
  await within(newServer(METHODS).drain("never listened", 10_000), 1_000, "drain of a server never listening");
});

// Kills #forget's `size === 0 && whenEmpty !== null` turned `false` (the
// drain would wait for graceMs), and the connections' leave() in drain.
test("drain resolves when the last connection has closed, before graceMs", async () => {
  const s = await start(METHODS, { shutdown: { quietMs: 20, goawayLingerMs: 5_000 } });
  const peers = [await s.open(), await s.open()];
  for (const p of peers) {
    p.write(request("echo", "x"));
    await p.read();
  }
  // within() fails the test if the drain waits its 10 s grace instead.
  await within(s.server.drain("going", 10_000), 3_000, "drain");
  for (const p of peers) assert.equal(await p.waitClosed(1_000), true);
  assert.equal(s.server.stats.open, 0);
});

// Kills the grace timer emptied (`conn.destroy()` not called) and
// destroy() emptied.
test("drain cuts the connections still open after graceMs", async () => {
  const hold = method("hold", () => new Promise(() => {}), 2);
  const s = await start(registry(echo, hold), { shutdown: { quietMs: 10, goawayLingerMs: 20 } });
  const peer = await s.open();
  peer.write(request("hold", null, { id: 1 }));
  await sleep(10);
  const started = Date.now();
  await within(s.server.drain("going", 120), 3_000, "drain");
  assert.ok(Date.now() - started >= 100, `cut ${Date.now() - started} ms after the drain began, graceMs is 120`);
  assert.equal(await peer.waitClosed(1_000), true);
  assert.deepEqual(await peer.read(100), { out: "goaway", result: { reason: "going" } });
  assert.equal(peer.pending, 0, "no answer: the request was cut");
});

// Kills `if (#draining !== null) conn.leave(...)` turned `false` and its
// reason's text. A plain server accepts nothing once its drain began (its
// listener is closed); a connection that arrives then is what TLS's
// handshake produces (secure-listener.ts), here handed to the server's
// 'connection' listener directly.
test("a connection accepted after the drain began is told to go away at once", async (t) => {
  const net = catchNetServer();
  const s = await start(METHODS, { shutdown: { quietMs: 10, goawayLingerMs: 50 } });
  const holder = await s.open();
  const hold = later();
  holder.write(request("echo", "keeps the drain waiting"));
  await holder.read();
  void s.server.drain("going", 10_000).then(hold.resolve);
  // A second listener hands its accepted socket over.
  const other = createServer();
  t.after(() => other.close());
  other.listen(0, "127.0.0.1");
  await once(other, "listening");
  const accepted = once(other, "connection") as Promise<[Socket]>;
  const late = track(await RawPeer.open((other.address() as { port: number }).port));
  const [socket] = await accepted;
  other.close();
  net.get().emit("connection", socket);
  late.write(request("echo", "late", { id: 1 }));
  const got = await late.readMany(2);
  assert.deepEqual(new Set(got.map((m) => JSON.stringify(m))), new Set([JSON.stringify({ out: "echo", result: "late", id: 1 }), JSON.stringify({ out: "goaway", result: { reason: "server is shutting down" } })]));
  assert.equal(await late.waitClosed(2_000), true);
  await within(hold.promise, 3_000, "drain");
});
