import { test } from "node:test";
import assert from "node:assert/strict";
import type { Snapshot } from "../../src/admin/snapshot.ts";
import { renderTop, table, workerRates } from "../../src/cli/top-view.ts";
import { runCli } from "../helpers/server.ts";
import { fixtureConfig, supervised } from "../helpers/supervision.ts";
import { adminUrl, burst } from "../helpers/metrics.ts";

function snap(at: number, served: number, pings: number, errors: number): Snapshot {
  return {
    at,
    workers: [{ slot: 0, pid: 42, state: "ready", generation: 1, connections: 3, rssBytes: 50 * 1048576, loopDelayP50: 0.001, loopDelayP99: 0.004, inflight: {}, served, inflightTotal: 1, beatAt: at - 100 }],
    served: { 0: served },
    codes: { OK: pings, METHOD_NOT_FOUND: errors },
    p50: 0.00002,
    p99: 0.0012,
    inflight: 1,
    methods: [
      { method: "ping", calls: pings, errors: 0, p99: 0.0012 },
      { method: "evil\u001b[2J", calls: 0, errors: 0, p99: null },
    ],
    slowest: [{ worker: 0, method: "slow", id: 7, ms: 1500 }],
    events: [{ at, kind: "restart", label: "crash", detail: "worker 41" }],
  };
}

test("renderTop: rates from two snapshots, p50/p99 in ms, workers, methods by rate, slowest calls, events; control characters escaped", () => {
  const text = renderTop(snap(2_000, 3_000, 2_990, 10), snap(1_000, 1_000, 995, 5), "http://127.0.0.1:9464/");
  assert.match(text, /2000 req\/s {2}5\.0 errors\/s {2}p50 0\.020 ms {2}p99 1\.200 ms {2}1 in flight/);
  assert.match(text, /^0 +42 +1 +ready +2000 +3 +50\.0 +4\.00$/m);
  assert.match(text, /^ping +1995\.0 +1\.200 +0\.0 +2990 +0$/m);
  assert.match(text, /^slow +7 +0 +1500$/m);
  assert.match(text, /restart crash: worker 41/);
  assert.ok(!text.includes("\u001b"), "a method name cannot clear the terminal");
  assert.match(renderTop(snap(1_000, 1, 1, 0), null, "x"), / - req\/s/, "no rate without a previous snapshot");
});

test("workerRates: over heartbeat times, carried while a worker sent no new heartbeat", () => {
  const carried = new Map<number, number>();
  const a = snap(1_000, 1_000, 0, 0);
  const b = { ...snap(2_000, 3_000, 0, 0) };
  assert.deepEqual([...workerRates(b, a, carried)], [[0, 2_000]]);
  const same = { ...b, at: 2_600 }; // no new heartbeat: beatAt and served as before
  assert.deepEqual([...workerRates(same, b, carried)], [[0, 2_000]]);
  assert.deepEqual([...workerRates(a, null, new Map())], [], "no rate without a previous snapshot");
});

test("table: the first column left-aligned, the others right-aligned", () => {
  assert.equal(table([["a", "bb"], ["ccc", "d"]]), "a    bb\nccc   d");
});

test("forkrpc top --count 2 against a live server shows its calls", async () => {
  const args = ["--config", fixtureConfig("scaling"), "--workers", "1", "--admin", "127.0.0.1:0"];
  await supervised({ args, timeoutMs: 40_000 }, async ({ served }) => {
    const admin = new URL(await adminUrl(() => served.stderr()));
    await burst(served.port, "ping", 120, 2);
    const r = await runCli(["top", "--admin", admin.host, "--count", "2"], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ping +\S+ +\S+ +\S+ +120 +0$/m);
    assert.match(r.stdout, /^1 workers/m);
    const bad = await runCli(["top", "--admin", "nowhere"]);
    assert.equal(bad.code, 2);
  });
});

for (const [what, event] of [["not JSON", "not json"], ["JSON but not an object", "5"], ["an object without a snapshot's lists", '{"at":1,"workers":5}']]) {
test(`top against a server whose events are not snapshots (${what}): a one-line error and exit 1 (it threw)`, async () => {
  const { createServer } = await import("node:http");
  const liar = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${event}\n\n`);
  });
  await new Promise<void>((r) => liar.listen(0, "127.0.0.1", r));
  try {
    const port = (liar.address() as { port: number }).port;
    const r = await runCli(["top", "--admin", `127.0.0.1:${port}`, "--count", "1"], { timeoutMs: 15_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /forkrpc top: .*not a forkrpc snapshot/);
    assert.doesNotMatch(r.stderr, /Error|\n\s+at /);
  } finally {
    liar.closeAllConnections();
    liar.close();
  }
});
}
