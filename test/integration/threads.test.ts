/**
 * Offloaded handlers (issue 17) against real `forkrpc serve --workers 0`
 * processes: same answers as on the worker's thread, the queue's limit,
 * deadlines, crashes, and pings that keep flowing while threads compute.
 *
 * Fixtures: test/fixtures/threads/, threads.perWorker 1, maxQueue 2:
 *   rpc.config.ts    no middleware: offloaded methods take the chainless path
 *   chain.config.ts  a global middleware (every method has a chain), --threads 2,
 *                    supervision.workerTimeoutMs 1.5 s
 *   idle.config.ts   threads.idleTimeoutMs 300, maxQueue 0
 * plugins/work.ts has the same work as main.work (worker's thread) and
 * thread.work (offloaded).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { serve, type Served } from "../helpers/server.ts";
import { RawPeer, request, type Response } from "../helpers/wire.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/threads/", import.meta.url));
let bare: Served;
let chained: Served;
let idle: Served;
/** The broken fixture's boot, started beside the others (it must fail). */
let brokenBoot: Promise<unknown>;
const peers: RawPeer[] = [];

before(async () => {
  const boot = (file: string, args: string[] = []) => serve({ args: ["--config", join(FIXTURE, file), ...args], timeoutMs: 60_000 });
  brokenBoot = boot(join("broken", "rpc.config.ts"));
  brokenBoot.then((s) => (s as Served).stop(), () => {}); // should it boot after all, it is stopped
  const booted = await Promise.allSettled([boot("rpc.config.ts"), boot("chain.config.ts", ["--threads", "2"]), boot("idle.config.ts")]);
  const value = (i: number) => (booted[i]?.status === "fulfilled" ? (booted[i] as PromiseFulfilledResult<Served>).value : (undefined as unknown as Served));
  [bare, chained, idle] = [value(0), value(1), value(2)];
  const failed = booted.find((r) => r.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
});

after(async () => {
  for (const p of peers) p.close();
  await Promise.all([bare?.stop(), chained?.stop(), idle?.stop()]);
});

async function open(server: Served): Promise<RawPeer> {
  const peer = await RawPeer.open(server.port);
  peers.push(peer);
  return peer;
}

async function call(peer: RawPeer, method: string, params: unknown, extra: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<Response> {
  peer.write(request(method, params, extra));
  return peer.read(timeoutMs);
}

const KINDS = ["echo", "rpc-error", "rpc-error-bigint", "throw", "async", "undefined", "bigint"];

test("offloaded answers are the worker thread's answers: results, RpcError code/message/data, INTERNAL, unencodable results", async () => {
  for (const server of [bare, chained]) {
    const peer = await open(server);
    for (const kind of KINDS) {
      const extra = { id: `${kind}-1`, meta: { trace: "t-1" } };
      const params = { kind, value: { nested: [1, "é", null] } };
      const onMain = await call(peer, "main.work", params, extra);
      const offloaded = await call(peer, "thread.work", params, extra);
      assert.deepEqual(offloaded, onMain, kind);
    }
  }
  // The middleware ran on the worker's thread and its ctx.state crossed over.
  const echoed = await call(await open(chained), "thread.work", { kind: "echo" });
  assert.deepEqual(echoed.result.state, { middlewareThread: 0 });
  // No stack or message of a plain Error leaves the server; the worker's log has it.
  assert.ok(bare.stderr().includes("(in a handler thread) Error: a secret that must not reach the client"), bare.stderr());
});

test("params replaced by validation cross as their own JSON (strings coerced to numbers), with meta", async () => {
  const peer = await open(chained);
  const res = await call(peer, "thread.sum", { a: "2", b: "40" }, { id: 1, meta: { m: true } });
  assert.equal(res.out, "sum");
  assert.equal(res.result.sum, 42);
  assert.deepEqual(res.result.meta, { m: true });
  assert.notEqual(res.result.thread, 0);
  const bad = await call(peer, "thread.sum", { a: "x" }, { id: 2 });
  assert.equal(bad.result.code, "INVALID_PARAMS");
});

test("singletons are per thread; --threads 2 gives two threads that compute at once", async () => {
  const peer = await open(bare);
  const main = await call(peer, "main.work", { kind: "count" });
  const first = await call(peer, "thread.work", { kind: "count" });
  const second = await call(peer, "thread.work", { kind: "count" });
  assert.equal(main.result.thread, 0);
  assert.notEqual(first.result.thread, 0);
  assert.equal(second.result.n, first.result.n + 1);
  const [a, b] = [await open(chained), await open(chained)];
  // The second call finds the first thread busy, so it can only have run on the other one, at the same time.
  const both = await Promise.all([call(a, "thread.work", { kind: "spin-id", ms: 300 }), call(b, "thread.work", { kind: "spin-id", ms: 300 })]);
  assert.notEqual(both[0].result.thread, both[1].result.thread);
});

test("rpc.health reports the handler threads; rpc.discover marks offloaded methods", async () => {
  const peer = await open(bare);
  const health = await call(peer, "rpc.health", null);
  assert.deepEqual(Object.keys(health.result.threads).sort(), ["busy", "queued", "replaced", "threads"]);
  assert.equal(health.result.threads.threads, 1);
  assert.equal(health.result.threads.queued, 0);
  const methods = (await call(peer, "rpc.discover", null)).result.methods as Array<{ name: string; offload?: boolean }>;
  assert.equal(methods.find((m) => m.name === "thread.work")?.offload, true);
  assert.equal(methods.find((m) => m.name === "main.work")?.offload, undefined);
});

test("a full queue answers RESOURCE_EXHAUSTED at once; the others are answered in turn", async () => {
  const peer = await open(bare);
  // One running and two waiting (maxQueue 2): the fourth is refused.
  for (let id = 1; id <= 4; id++) peer.write(request("thread.work", { kind: "spin", ms: 150 }, { id }));
  const answers = await peer.readMany(4, 10_000);
  assert.equal(answers[0]?.id, 4);
  assert.equal(answers[0]?.result.code, "RESOURCE_EXHAUSTED");
  assert.match(answers[0]?.result.message, /handler threads are busy/);
  assert.deepEqual(answers.slice(1).map((r) => [r.id, r.result.spun]), [[1, 150], [2, 150], [3, 150]]);
});

test("deadlines: a queued call leaves the queue; a running one ends its thread, which is replaced", async () => {
  const peer = await open(bare);
  const terminated = () => bare.stderr().split("terminated and replaced").length - 1;
  const before = terminated();
  // Running, no deadline: it finishes. Queued behind it with 50 ms: answered at its deadline, never run.
  peer.write(request("thread.work", { kind: "spin", ms: 400 }, { id: "long" }));
  const t0 = performance.now();
  peer.write(request("thread.work", { kind: "count" }, { id: "queued", meta: { timeoutMs: 50 } }));
  const queued = await peer.read();
  assert.equal(queued.id, "queued");
  assert.equal(queued.result.code, "DEADLINE_EXCEEDED");
  assert.ok(performance.now() - t0 < 350, `queued call answered after ${performance.now() - t0} ms`);
  assert.deepEqual((await peer.read()).result, { spun: 400 });
  assert.equal(terminated(), before, "a queued call's deadline stops no thread");

  const t1 = performance.now();
  const stuck = await call(peer, "thread.work", { kind: "spin", ms: 5_000 }, { id: "stuck", meta: { timeoutMs: 100 } });
  assert.equal(stuck.result.code, "DEADLINE_EXCEEDED");
  assert.ok(performance.now() - t1 < 1_000, `running call answered after ${performance.now() - t1} ms`);
  assert.equal(terminated(), before + 1);
  // The replacement serves the next call (after it starts: a new container, so a new singleton).
  const next = await call(peer, "thread.work", { kind: "count" });
  assert.equal(next.result.n, 1);
});

test("a thread that dies (process.exit, an uncaught throw in a timer) is answered INTERNAL and replaced", async () => {
  const peer = await open(bare);
  for (const kind of ["exit", "timer-throw"]) {
    const res = await call(peer, "thread.work", { kind });
    assert.deepEqual(res.result, { code: "INTERNAL", message: "internal error" }, kind);
    const after = await call(peer, "thread.work", { kind: "echo", value: kind });
    assert.equal(after.result.value, kind);
  }
  assert.match(bare.stderr(), /a handler thread exited with code 3 while running thread\.work; it is replaced/);
  assert.match(bare.stderr(), /a handler thread threw Error: thrown by a timer while running thread\.work/);
});

test("a client that leaves while its call waits: the call leaves the queue and never runs", async () => {
  const peer = await open(bare);
  const before = (await call(peer, "thread.work", { kind: "count" })).result.n as number;
  peer.write(request("thread.work", { kind: "spin", ms: 300 }, { id: "busy" }));
  const leaver = await open(bare);
  leaver.write(request("thread.work", { kind: "count" }));
  await new Promise((r) => setTimeout(r, 80));
  leaver.close();
  assert.deepEqual((await peer.read()).result, { spun: 300 });
  assert.equal((await call(peer, "thread.work", { kind: "count" })).result.n, before + 1);
});

test("an offloaded call running past supervision.workerTimeoutMs is taken for hung: INTERNAL, thread replaced", async () => {
  const peer = await open(chained);
  const t0 = performance.now();
  const res = await call(peer, "thread.work", { kind: "spin", ms: 6_000 });
  assert.deepEqual(res.result, { code: "INTERNAL", message: "internal error" });
  const took = performance.now() - t0;
  assert.ok(took >= 1_400 && took < 5_000, `answered after ${took} ms`);
  assert.match(chained.stderr(), /thread\.work ran 1500 ms in a handler thread \(supervision\.workerTimeoutMs\): taken for hung/);
  assert.equal((await call(peer, "thread.work", { kind: "echo", value: 1 })).result.value, 1);
});

test("an idle thread stops after threads.idleTimeoutMs (its stop hooks run); the next call starts another", async () => {
  const peer = await open(idle);
  const first = await call(peer, "thread.work", { kind: "count" });
  assert.equal((await call(peer, "thread.work", { kind: "count" })).result.n, first.result.n + 1);
  const deadline = Date.now() + 5_000;
  while (!idle.stderr().includes(`thread ${first.result.thread} stop hook ran`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(idle.stderr().includes(`thread ${first.result.thread} stop hook ran`), idle.stderr());
  // maxQueue 0, no thread running: the call waits for the one started for it, in a new container.
  const again = await call(peer, "thread.work", { kind: "count" });
  assert.equal(again.result.n, 1);
  assert.notEqual(again.result.thread, first.result.thread);
});

/** Pings one at a time for `ms` while `load` keeps running; returns their latencies. */
async function pingsDuring(server: Served, method: string, ms: number): Promise<number[]> {
  const [loader, pinger] = [await open(server), await open(server)];
  let running = true;
  const load = (async () => {
    while (running) await call(loader, method, { kind: "spin", ms: 200 });
  })();
  const latencies: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = performance.now();
    await call(pinger, "ping", latencies.length);
    latencies.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 2));
  }
  running = false;
  await load;
  return latencies.sort((a, b) => a - b);
}

const p99 = (sorted: number[]) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;

test("the worker keeps answering pings within a few ms while offloaded 200 ms computations run (and not without offload)", async () => {
  const offloaded = await pingsDuring(bare, "thread.work", 1_000);
  const onMain = await pingsDuring(bare, "main.work", 600);
  // Wide margins: the machine is shared (2 cores, load average ~10 while this
  // was written): p99 measured 13-47 ms offloaded, 400-480 ms not.
  console.log(`# pings: ${offloaded.length} offloaded, p99 ${p99(offloaded).toFixed(1)} ms; ${onMain.length} not, p99 ${p99(onMain).toFixed(1)} ms`);
  assert.ok(offloaded.length > 20, `only ${offloaded.length} pings in 1 s`);
  assert.ok(p99(offloaded) < 100, `ping p99 ${p99(offloaded).toFixed(1)} ms with offload`);
  assert.ok(p99(onMain) > 150, `ping p99 ${p99(onMain).toFixed(1)} ms without offload`);
});

test("a handler that cannot be built in its thread fails the boot with the main thread's code, naming it", async () => {
  await assert.rejects(
    brokenBoot,
    /exited \(1\) before ready[\s\S]*INJECTION_FAILED: in a handler thread: plugins\/broken\.ts: constructing Broken failed: Error: cannot start in a thread/,
  );
});

test("a graceful stop closes the pool: the threads' stop hooks run and the process exits 0", async () => {
  const code = await chained.stop("SIGTERM");
  assert.equal(code, 0);
  assert.equal(chained.stderr().split("stop hook ran").length - 1, 2, chained.stderr());
});

test("a message of the handler's own on its thread's port (null) is ignored: the call is answered and the worker lives", async () => {
  const peer = await open(bare);
  const res = await call(peer, "thread.work", { kind: "post-null" });
  assert.deepEqual(res.result, { posted: true });
  const echoed = await call(peer, "main.work", { kind: "echo", value: 1 });
  assert.equal(echoed.result.value, 1);
  assert.ok(!bare.stderr().includes("Cannot read properties of null"), bare.stderr());
});
