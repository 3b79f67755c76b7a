/**
 * Hostile peers against a prefork server (2 workers): huge length prefixes,
 * absurd nesting, invalid UTF-8, stalled prefixes and random garbage. For
 * each: no worker dies, other connections keep being served meanwhile, and
 * the resident memory of the whole process tree stays bounded.
 * ("Nothing a client sends can crash a worker or make another connection fail.")
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { WIRE_CODES } from "forkrpc";
import { serve, type Served } from "../helpers/server.ts";
import { frame, RawPeer, request, type Response } from "../helpers/wire.ts";
import { alive, childrenOf, rssOf, treePids } from "../helpers/proc.ts";

const CONFIG = fileURLToPath(new URL("../fixtures/protocol/rpc.config.ts", import.meta.url));
const WORKERS = 2;
const MB = 1024 * 1024;
/** Allowed growth of the process tree's RSS across one barrage. */
const MAX_RSS_GROWTH = 64 * MB;
/**
 * Allowed growth over the whole file, against the warmed-up start: the same
 * code measured 50-68 MB on Node 22 (RSS a worker's heap took for the 200 KB
 * frames and does not give back), so 64 MB failed one CI run in three.
 * This bound is for growth that accumulates from barrage to barrage; each
 * barrage keeps its own 64 MB bound (MAX_RSS_GROWTH).
 */
const MAX_FILE_RSS_GROWTH = 96 * MB;

let server: Served;
let workerPids: number[] = [];
let baselineRss = 0;
const peers = new Set<RawPeer>();

before(async () => {
  // Booting compiles TypeScript in every worker: allow for a loaded machine.
  server = await serve({ args: ["--config", CONFIG, "--workers", String(WORKERS)], timeoutMs: 60_000 });
  workerPids = childrenOf(server.pid);
  assert.equal(workerPids.length, WORKERS, `expected ${WORKERS} workers, found ${workerPids.join(", ")}`);
  // Warm both workers up so that the baseline is not taken before the first requests' JIT and buffers.
  await pingFresh(20);
  await pingFresh(20);
  baselineRss = treeRss();
});

after(async () => {
  for (const p of peers) p.close();
  await server?.stop();
});

function treeRss(): number {
  return treePids(server.pid).reduce((sum, pid) => sum + rssOf(pid), 0);
}

// ---- peers ----

async function open(): Promise<RawPeer> {
  const peer = await RawPeer.open(server.port, "127.0.0.1");
  peers.add(peer);
  peer.socket.once("close", () => peers.delete(peer));
  return peer;
}

function prefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/**
 * Fresh connections, each asking for the answering pid, until every worker
 * has answered (at most `count` connections); returns the pids seen.
 */
async function pingFresh(count: number): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < count && !workerPids.every((pid) => seen.has(pid)); i++) {
    const peer = await open();
    peer.write(request("pid", null, { id: i }));
    const res = await peer.read(3_000);
    assert.equal(res.out, "pid", `fresh connection ${i} answered ${JSON.stringify(res)}`);
    seen.add(res.result as number);
    peer.close();
  }
  return seen;
}

/**
 * Keeps asking the server for pings while a barrage runs: on one long-lived
 * connection and on fresh ones. Every request must be answered in time.
 */
function monitor(): { stop: () => Promise<{ answered: number; failures: string[]; slowestMs: number }> } {
  let running = true;
  const failures: string[] = [];
  let answered = 0;
  let slowestMs = 0;
  const loop = (async () => {
    let steady: RawPeer | null = null;
    // At least a few pings however short the barrage, at most 2,000 however long.
    for (let i = 0; (running || i < 6) && i < 2_000; i++) {
      const started = Date.now();
      try {
        let peer: RawPeer;
        if (i % 2 === 0) {
          steady ??= await open();
          peer = steady;
        } else {
          peer = await open();
        }
        peer.write(request("ping", i, { id: i }));
        const res = await peer.read(4_000);
        if (res.out !== "pong" || res.result !== i || res.id !== i) failures.push(`ping ${i}: ${JSON.stringify(res)}`);
        else answered++;
        if (peer !== steady) peer.close();
      } catch (error) {
        failures.push(`ping ${i}: ${(error as Error).message}`);
        steady?.close();
        steady = null;
      }
      slowestMs = Math.max(slowestMs, Date.now() - started);
      await sleep(20);
    }
    steady?.close();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { answered, failures, slowestMs };
    },
  };
}

/** Runs `count` hostile connections, `parallel` at a time, and stops starting new ones after `budgetMs`. */
async function swarm(count: number, parallel: number, budgetMs: number, one: (i: number) => Promise<void>): Promise<number> {
  const deadline = Date.now() + budgetMs;
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      await one(i);
      done++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return done;
}

/**
 * Runs a barrage with the monitor going, then checks the workers, the
 * other connections and memory.
 */
async function underFire(name: string, barrage: () => Promise<void>): Promise<void> {
  const rssBefore = treeRss();
  const watch = monitor();
  let barrageError: unknown = null;
  try {
    await barrage();
  } catch (error) {
    barrageError = error;
  }
  const served = await watch.stop();
  if (barrageError !== null) throw barrageError;

  assert.equal(server.proc.exitCode, null, `${name}: the server process exited`);
  assert.equal(server.proc.signalCode, null, `${name}: the server process was killed`);
  for (const pid of workerPids) assert.ok(alive(pid), `${name}: worker ${pid} died\nstderr: ${server.stderr()}`);
  assert.deepEqual(childrenOf(server.pid), workerPids, `${name}: the set of workers changed`);
  assert.doesNotMatch(server.stderr(), /exited unexpectedly/, `${name}: a worker exited`);

  assert.deepEqual(served.failures, [], `${name}: other connections were not served`);
  assert.ok(served.answered >= 3, `${name}: the monitor got only ${served.answered} answers`);

  // Every worker still answers on fresh connections (the kernel spreads them: 60 tries is plenty).
  const pids = await pingFresh(60);
  assert.deepEqual([...pids].sort((a, b) => a - b), workerPids, `${name}: not every worker answered a fresh connection`);

  await sleep(200);
  const rssAfter = treeRss();
  const growth = rssAfter - rssBefore;
  console.log(
    `${name}: ${served.answered} pings served meanwhile (slowest ${served.slowestMs} ms); ` +
      `RSS ${(rssBefore / MB).toFixed(1)} -> ${(rssAfter / MB).toFixed(1)} MB`,
  );
  assert.ok(
    growth < MAX_RSS_GROWTH,
    `${name}: RSS of the process tree grew by ${(growth / MB).toFixed(1)} MB (${(rssBefore / MB).toFixed(1)} -> ${(rssAfter / MB).toFixed(1)} MB)`,
  );
}

function assertError(res: Response, code: string): void {
  assert.equal(res.out, "error", `expected ${code}, got ${JSON.stringify(res).slice(0, 200)}`);
  assert.equal(res.result?.code, code, `expected ${code}, got ${JSON.stringify(res).slice(0, 200)}`);
}

/** mulberry32: a small seeded generator, so that a failing garbage run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the barrages ----

test("the server runs with 2 workers, both alive", () => {
  assert.equal(workerPids.length, WORKERS);
  for (const pid of workerPids) assert.ok(alive(pid));
  assert.ok(baselineRss > 0, "RSS is readable from /proc");
});

test("prefix 0xFFFFFFFF: FRAME_TOO_LARGE and closed, nothing else harmed", async () => {
  await underFire("prefix 0xFFFFFFFF", async () => {
    const done = await swarm(150, 15, 5_000, async () => {
      const peer = await open();
      peer.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      assertError(await peer.read(3_000), "FRAME_TOO_LARGE");
      assert.equal(await peer.waitClosed(3_000), true, "closed after FRAME_TOO_LARGE");
      peer.close();
    });
    assert.ok(done >= 30, `only ${done} connections in the time budget`);
  });
});

test("prefix 0xFFFFFFFF followed by a flood of body bytes is not buffered", async () => {
  await underFire("0xFFFFFFFF + 4 MB flood", async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x5b);
    const done = await swarm(16, 8, 5_000, async () => {
      const peer = await open();
      peer.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      for (let i = 0; i < 64 && !peer.closed; i++) {
        if (!peer.socket.write(chunk)) await Promise.race([sleep(50), new Promise((r) => peer.socket.once("drain", r))]);
      }
      assertError(await peer.read(3_000), "FRAME_TOO_LARGE");
      peer.close();
    });
    assert.ok(done >= 4, `only ${done} connections in the time budget`);
  });
});

test("200,000 nested '[' as a complete frame body: PARSE_ERROR, the connection stays open", async () => {
  const open200k = Buffer.alloc(200_000, 0x5b);
  const balanced = Buffer.concat([Buffer.alloc(200_000, 0x5b), Buffer.alloc(200_000, 0x5d)]);
  const inParams = Buffer.concat([
    Buffer.from('{"in":"echo","id":1,"params":'),
    Buffer.alloc(200_000, 0x5b),
    Buffer.alloc(200_000, 0x5d),
    Buffer.from("}"),
  ]);
  await underFire("200,000 nested [", async () => {
    const done = await swarm(30, 6, 6_000, async (i) => {
      const peer = await open();
      const body = [open200k, balanced, inParams][i % 3] as Buffer;
      peer.write(frame(body));
      assertError(await peer.read(5_000), "PARSE_ERROR");
      peer.write(request("ping", "after", { id: "after" }));
      assert.deepEqual(await peer.read(3_000), { out: "pong", result: "after", id: "after" });
      peer.close();
    });
    assert.ok(done >= 9, `only ${done} connections in the time budget`);
  });
});

test("invalid UTF-8: PARSE_ERROR, the connection stays open", async () => {
  const bodies = [
    Buffer.from([0xff, 0xfe, 0xfd]),
    Buffer.concat([Buffer.from('{"in":"ping","params":"'), Buffer.alloc(100_000, 0xc3), Buffer.from('"}')]),
    Buffer.concat([Buffer.from('{"in":"ping","params":"'), Buffer.from([0xed, 0xbf, 0xbf]), Buffer.from('"}')]),
    Buffer.concat([Buffer.from('{"in":"'), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from('"}')]),
  ];
  await underFire("invalid UTF-8", async () => {
    const done = await swarm(120, 12, 5_000, async (i) => {
      const peer = await open();
      peer.write(frame(bodies[i % bodies.length] as Buffer));
      assertError(await peer.read(3_000), "PARSE_ERROR");
      peer.write(request("ping", i));
      assert.deepEqual(await peer.read(3_000), { out: "pong", result: i });
      peer.close();
    });
    assert.ok(done >= 30, `only ${done} connections in the time budget`);
  });
});

test("2 bytes of a prefix then silence, on 200 connections at once", async () => {
  await underFire("stalled prefixes", async () => {
    const stalled: RawPeer[] = [];
    const deadline = Date.now() + 5_000;
    for (let i = 0; i < 200 && Date.now() < deadline; i++) {
      const peer = await open();
      peer.write(prefix(100).subarray(0, 2));
      stalled.push(peer);
    }
    assert.ok(stalled.length >= 50, `only ${stalled.length} stalled connections opened`);
    // Hold them while the monitor runs.
    await sleep(600);
    // The default read timeout is 10 s: the server has not given up on them yet,
    // and the stall does not make it answer anything.
    assert.equal(stalled.filter((p) => p.closed).length, 0, "stalled connections closed before the read timeout");
    assert.equal(stalled.reduce((n, p) => n + p.pending, 0), 0, "no answer to half a prefix");
    for (const p of stalled) p.close();
  });
});

test("random garbage on 200 connections: every answer is a well-formed response", async () => {
  const seed = Number(process.env.HOSTILE_SEED ?? Date.now() % 1_000_000);
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const alphabet = Buffer.from('{}[]":,0123456789.eE+-truefalsnu \\/ \t\n\u00e9');
  const bytes = (n: number, jsonish: boolean) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = jsonish ? (alphabet[int(alphabet.length)] as number) : int(256);
    return b;
  };
  const codes = new Set(Object.keys(WIRE_CODES));
  const bad: string[] = [];
  await underFire(`random garbage (HOSTILE_SEED=${seed})`, async () => {
    // Build every payload up front from the seed so that scheduling does not change them.
    const payloads = Array.from({ length: 200 }, () => {
      switch (int(3)) {
        case 0: // raw bytes
          return bytes(1 + int(4096), false);
        case 1: // frames of random bytes, possibly a trailing partial one
          return Buffer.concat([
            ...Array.from({ length: 1 + int(4) }, () => frame(bytes(1 + int(512), false))),
            bytes(int(6), false),
          ]);
        default: // frames of JSON-ish noise
          return Buffer.concat(Array.from({ length: 1 + int(6) }, () => frame(bytes(1 + int(256), true))));
      }
    });
    const done = await swarm(payloads.length, 20, 6_000, async (i) => {
      const peer = await open();
      const payload = payloads[i] as Buffer;
      // Sometimes in pieces, to exercise reassembly.
      if (i % 4 === 0) {
        for (let at = 0; at < payload.length && !peer.closed; at += 97) {
          peer.write(payload.subarray(at, at + 97));
          if (at % 970 === 0) await sleep(1);
        }
      } else {
        peer.write(payload);
      }
      // Read whatever comes within a short while; each answer must be a response.
      const until = Date.now() + 150;
      while (Date.now() < until && (peer.pending > 0 || !peer.closed)) {
        let res: Response;
        try {
          res = await peer.read(Math.max(1, until - Date.now()));
        } catch (error) {
          if (/timed out|closed/.test((error as Error).message)) break;
          bad.push(`payload ${i}: unreadable answer: ${(error as Error).message}`);
          break;
        }
        if (typeof res !== "object" || res === null || typeof res.out !== "string" || !Object.hasOwn(res, "result")) {
          bad.push(`payload ${i}: not a response: ${JSON.stringify(res).slice(0, 200)}`);
        } else if (res.out === "error" && !codes.has(res.result?.code)) {
          bad.push(`payload ${i}: unknown code in ${JSON.stringify(res).slice(0, 200)}`);
        }
      }
      peer.close();
    });
    assert.ok(done >= 50, `only ${done} garbage connections in the time budget`);
  });
  assert.deepEqual(bad, [], `garbage with HOSTILE_SEED=${seed}`);
});

test("all of it at once: workers alive, others served, memory bounded against the start", async () => {
  await underFire("mixed barrage", async () => {
    const kinds: Array<() => Buffer> = [
      () => Buffer.from([0xff, 0xff, 0xff, 0xff]),
      () => frame(Buffer.alloc(200_000, 0x5b)),
      () => frame(Buffer.from([0x7b, 0xff, 0x7d])),
      () => prefix(0),
      () => Buffer.from([0x01, 0x00]),
    ];
    const held: RawPeer[] = [];
    const done = await swarm(200, 20, 6_000, async (i) => {
      const peer = await open();
      peer.write((kinds[i % kinds.length] as () => Buffer)());
      if (i % kinds.length === 4) {
        held.push(peer);
        return;
      }
      const res = await peer.read(3_000);
      assert.equal(res.out, "error", JSON.stringify(res).slice(0, 200));
      peer.close();
    });
    assert.ok(done >= 50, `only ${done} connections in the time budget`);
    for (const p of held) p.close();
  });
  await sleep(200);
  const growth = treeRss() - baselineRss;
  assert.ok(growth < MAX_FILE_RSS_GROWTH, `RSS grew by ${(growth / MB).toFixed(1)} MB over the whole file`);
});
