/**
 * Attacks on a real `forkrpc serve` that once took a worker or the whole
 * server down, or grew it without bound (issue "Hardening"), each shown to
 * fail now:
 * - descriptors exhausted by idle connections (the heartbeat threw EMFILE,
 *   the worker died, the crash-loop rule stopped the master);
 * - clients that send large-answer requests and never read (a worker grew
 *   by ~1 GB, and other connections stalled for seconds);
 * - requests answered DEADLINE_EXCEEDED whose handlers kept running outside
 *   the in-flight limits;
 * - idle connections held for ever, and connections past a cap.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { serve, type Served } from "../helpers/server.ts";
import { RawPeer, request, type Response } from "../helpers/wire.ts";
import { alive, childrenOf, rssOf } from "../helpers/proc.ts";

const config = (name: string) => fileURLToPath(new URL(`../fixtures/hardening/${name}`, import.meta.url));
const MB = 1024 * 1024;

let cluster: Served;
let workers: number[] = [];
const peers = new Set<RawPeer>();

before(async () => {
  cluster = await serve({ args: ["--config", config("rpc.config.ts"), "--workers", "2"], timeoutMs: 60_000 });
  workers = childrenOf(cluster.pid);
  assert.equal(workers.length, 2, `expected 2 workers, found ${workers.join(", ")}`);
});

after(async () => {
  for (const p of peers) p.close();
  await cluster?.stop();
});

async function open(port = cluster.port): Promise<RawPeer> {
  const peer = await RawPeer.open(port);
  peers.add(peer);
  peer.socket.once("close", () => peers.delete(peer));
  return peer;
}

async function ping(peer: RawPeer, id: number): Promise<number> {
  const started = performance.now();
  peer.write(request("ping", id, { id }));
  const res = await peer.read(5_000);
  assert.deepEqual([res.out, res.result, res.id], ["pong", id, id]);
  return performance.now() - started;
}

function assertServerWhole(what: string): void {
  assert.ok(alive(cluster.pid), `${what}: the master died\n${cluster.stderr()}`);
  for (const pid of workers) assert.ok(alive(pid), `${what}: worker ${pid} died\n${cluster.stderr()}`);
  assert.deepEqual(childrenOf(cluster.pid), workers, `${what}: a worker was replaced\n${cluster.stderr()}`);
}

test("descriptors run out (limit lowered to 200, 400 idle connections): master and workers live, existing connections are answered", async () => {
  // Connections made before the limit falls, one per worker if the kernel spreads them.
  const existing = await Promise.all([open(), open(), open(), open()]);
  for (const [i, peer] of existing.entries()) await ping(peer, i);
  // The default maxConnections was derived from the limit at boot (a million
  // here): lowering the limit now makes accept() itself fail with EMFILE.
  for (const pid of [cluster.pid, ...workers]) execFileSync("prlimit", ["--pid", String(pid), "--nofile=200:200"]);
  const sockets = await Promise.all(
    Array.from({ length: 400 }, () =>
      new Promise<import("node:net").Socket>((resolve) => {
        const s = connect({ port: cluster.port, host: "127.0.0.1" });
        s.on("error", () => {});
        s.once("connect", () => resolve(s));
        s.once("close", () => resolve(s));
      }),
    ),
  );
  try {
    // Heartbeats run every second: three of them with no descriptor to spare.
    await sleep(3_000);
    assertServerWhole("after 400 idle connections");
    for (const [i, peer] of existing.entries()) await ping(peer, 100 + i);
  } finally {
    for (const s of sockets) s.destroy();
  }
  await sleep(500);
  // Once the idle connections are gone, new ones are served again.
  const fresh = await open();
  await ping(fresh, 200);
  // The heartbeat could not read /proc: it said so once, and went on.
  const warned = cluster.stderr().match(/cannot read this worker's memory use/g) ?? [];
  assert.ok(warned.length >= 1 && warned.length <= workers.length * 2, cluster.stderr());
  assertServerWhole("after the flood");
});

test("8 clients send 1 MB of rpc.discover requests each and never read: workers grow < 64 MB, pings elsewhere stay fast, the readers-of-nothing are cut off", async () => {
  const before = workers.reduce((sum, pid) => sum + rssOf(pid), 0);
  const one = Buffer.from(request("rpc.discover"));
  const megabyte = Buffer.concat(Array.from({ length: Math.ceil(MB / one.length) }, () => one));
  const floods = await Promise.all(Array.from({ length: 8 }, () => open()));
  for (const f of floods) {
    // Read nothing: the kernel's buffers fill, then the server's must not.
    f.socket.pause();
    f.write(megabyte);
  }
  const pinger = await open();
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    times.push(await ping(pinger, i));
    await sleep(50);
  }
  const grown = workers.reduce((sum, pid) => sum + rssOf(pid), 0) - before;
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1] as number;
  process.stdout.write(`# discover flood: workers grew ${(grown / MB).toFixed(1)} MB; pings median ${median.toFixed(1)} ms, slowest ${times.at(-1)?.toFixed(1)} ms\n`);
  assert.ok(grown < 64 * MB, `the workers grew by ${(grown / MB).toFixed(1)} MB`);
  assert.ok(median < 100, `pings took ${times.map((t) => t.toFixed(0)).join(", ")} ms`);
  // writeTimeoutMs is 3 s in this fixture, and none of the floods takes
  // anything: the server closes each of them (a paused client would not see it).
  const cut = () => (cluster.stderr().match(/read none of its answers for 3000 ms/g) ?? []).length;
  const deadline = Date.now() + 15_000;
  while (cut() < floods.length && Date.now() < deadline) await sleep(100);
  assert.equal(cut(), floods.length, `every non-reading connection was closed\n${cluster.stderr()}`);
  for (const f of floods) f.close();
  assertServerWhole("after the floods");
});

test("a request answered DEADLINE_EXCEEDED keeps its in-flight slot until its handler settles", async () => {
  const peer = await open();
  // maxInflightPerConnection is 2; each handler ignores its signal for 1.5 s.
  for (let id = 0; id < 40; id++) peer.write(request("stubborn", { ms: 1_500 }, { id, meta: { timeoutMs: 1 } }));
  const codes = new Map<string, number>();
  for (const res of await peer.readMany(40, 10_000)) {
    const code = res.out === "error" ? (res.result.code as string) : res.out;
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(codes), { DEADLINE_EXCEEDED: 2, RESOURCE_EXHAUSTED: 38 });
  // The two handlers still run: their slots are still taken.
  peer.write(request("stubborn", { ms: 10 }, { id: 40 }));
  const refused = await peer.read(5_000);
  assert.equal(refused.result?.code, "RESOURCE_EXHAUSTED", JSON.stringify(refused));
  // Once they settle, the slots are free again.
  const deadline = Date.now() + 10_000;
  let res: Response;
  do {
    await sleep(200);
    peer.write(request("stubborn", { ms: 1 }, { id: 41 }));
    res = await peer.read(5_000);
  } while (res.out !== "stubborn" && Date.now() < deadline);
  assert.equal(res.result, "done", JSON.stringify(res));
  peer.write(request("stubborn.stats", null, { id: 42 }));
  const stats = await peer.read(5_000);
  assert.ok(stats.result.peak <= 4, `at most 4 stubborn handlers ran at once in a worker: ${JSON.stringify(stats.result)}`);
});

test("limits.idleTimeoutMs: an idle connection is closed (after a goaway if it used ids); one with a request running is not", async () => {
  const server = await serve({ args: ["--config", config("idle.config.ts")], timeoutMs: 60_000 });
  try {
    const plain = await RawPeer.open(server.port);
    const started = Date.now();
    const withIds = await RawPeer.open(server.port);
    const busy = await RawPeer.open(server.port);
    withIds.write(request("ping", 1, { id: 1 }));
    assert.equal((await withIds.read()).out, "pong");
    busy.write(request("stubborn", { ms: 1_500 }, { id: 7 }));
    assert.equal(await plain.waitClosed(5_000), true, "the idle connection was closed");
    assert.ok(Date.now() - started >= 400, `closed after ${Date.now() - started} ms, before the idle timeout`);
    const goaway = await withIds.read(5_000);
    assert.equal(goaway.out, "goaway", JSON.stringify(goaway));
    assert.match(String(goaway.result?.reason ?? goaway.result), /idle/);
    assert.equal(await withIds.waitClosed(5_000), true);
    const answer = await busy.read(5_000);
    assert.deepEqual([answer.out, answer.id], ["stubborn", 7], "the running request was answered");
    busy.close();
  } finally {
    await server.stop();
  }
});

test("limits.maxConnections: past it new connections are closed at once, and those open keep being served", async () => {
  const server = await serve({ args: ["--config", config("maxconn.config.ts")], timeoutMs: 60_000 });
  try {
    const held = await Promise.all([0, 1, 2].map(() => RawPeer.open(server.port)));
    for (const [i, peer] of held.entries()) await ping(peer, i);
    const extra = await RawPeer.open(server.port);
    extra.write(request("ping", 9, { id: 9 }));
    assert.equal(await extra.waitClosed(5_000), true, "the fourth connection was closed");
    assert.equal(extra.pending, 0, "and got no answer");
    for (const [i, peer] of held.entries()) await ping(peer, 10 + i);
    assert.match(server.stderr(), /connection refused: 3 open, limits.maxConnections is 3/);
    held[0]?.close();
    await sleep(200);
    const next = await RawPeer.open(server.port);
    await ping(next, 20);
    for (const p of [...held, next]) p.close();
  } finally {
    await server.stop();
  }
});
