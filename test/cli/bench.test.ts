/**
 * `forkrpc bench` through the real CLI against a real server (the repo's
 * rpc.config.ts, ping), and against peers that refuse or never answer: it
 * always ends on time and says what happened.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, serve, type Served } from "../helpers/server.ts";
import { freePort } from "../client/helpers.ts";
import type { BenchSummary } from "../../src/cli/bench/summary.ts";

let served: Served;
let dir: string;
before(async () => {
  served = await serve({ timeoutMs: 60_000 });
  dir = mkdtempSync(join(tmpdir(), "forkrpc-bench-"));
});
after(async () => {
  await served?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const bench = (...args: string[]) => runCli(["bench", "--port", String(served.port), ...args], { timeoutMs: 30_000 });

function checkLatency(s: BenchSummary): void {
  const l = s.latencyUs;
  assert.ok(l.min > 0 && l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
}

test("bench --json --duration 2 against ping: one parseable summary, requests > 0, no errors", async () => {
  const r = await bench("--json", "--duration", "2");
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as BenchSummary;
  assert.ok(s.requests > 0);
  assert.equal(s.errors, 0);
  assert.deepEqual(s.errorsByCode, {});
  assert.equal(s.connectionsLost, 0);
  assert.ok(s.seconds >= 1.9 && s.seconds <= 2.5, `measured ${s.seconds} s`);
  assert.equal(s.rps, Math.round(s.requests / s.seconds));
  assert.deepEqual({ ...s.settings }, {
    host: "127.0.0.1", port: served.port, method: "ping", params: '"hello"', meta: false,
    connections: 32, pipeline: 32, threads: 1, ids: false, durationS: 2, requestBytes: 4 + '{"in":"ping","params":"hello"}'.length,
  });
  checkLatency(s);
  assert.ok(s.loadgen.cpuUs > 0);
});

test("--ids over 2 threads, with --report: answers matched by id, an HTML page with an inline SVG chart", async () => {
  const report = join(dir, "report.html");
  const r = await bench("--ids", "--threads", "2", "--connections", "3", "--pipeline", "8", "--duration", "1", "--json", "--report", report);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as BenchSummary;
  assert.ok(s.requests > 0);
  assert.equal(s.errors, 0);
  assert.equal(s.settings.threads, 2);
  assert.equal(s.settings.ids, true);
  checkLatency(s);
  assert.match(r.stderr, /wrote .*report\.html/);
  const html = readFileSync(report, "utf8");
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<svg [^>]*role="img"/);
  assert.match(html, /<path class="curve" d="M[\d.]+,[\d.]+ V/);
  assert.doesNotMatch(html, /<script|<link|src="http|href="http/, "self-contained");
  assert.ok(html.includes(s.requests.toLocaleString("en-US")));
});

test("the text summary: requests, req/s, latency percentiles, errors", async () => {
  const r = await bench("--duration", "1", "--connections", "2", "--pipeline", "4");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^forkrpc bench: ping on 127\.0\.0\.1:\d+, 2 connections x 4 in flight \(FIFO, no ids\), 1 thread, 1 s\n/);
  assert.match(r.stdout, /\n {2}requests {3}[\d,]+ in \d\.\d\d s: [\d,]+ req\/s\n/);
  assert.match(r.stdout, /\n {2}latency {4}p50 [\d.]+ (µs|ms) {3}p90 .* {3}p99 .* {3}p99\.9 .* {3}max .*\(mean .*\)\n/);
  assert.match(r.stdout, /\n {2}errors {5}none\n/);
});

test("--progress prints a line a second on stderr when it is not a terminal", async () => {
  const r = await bench("--duration", "2", "--connections", "2", "--pipeline", "2", "--progress", "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^ +1 s +[\d,]+ req\/s +[\d,]+ answers +errors 0$/m);
  JSON.parse(r.stdout);
});

test("a method that only answers errors stops the bench before the load, exit 1 (error answers during a run are counted by code: hostile-output.test.ts)", async () => {
  const r = await bench("--method", "no.such.method", "--duration", "1", "--connections", "2", "--pipeline", "4", "--json");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "", "no summary");
  assert.match(r.stderr, /^forkrpc: METHOD_NOT_FOUND: no method named "no\.such\.method"\n.*Hint: check --method: forkrpc list/);
});

test("bad flags are usage errors (exit 2)", async () => {
  for (const args of [["--params", "hello"], ["--meta", "1"], ["--pipeline", "0"], ["--duration", "x"], ["--method", ""]]) {
    const r = await bench(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
  }
});

test("nothing listening: a clear message, exit 1", async () => {
  const port = await freePort();
  const r = await runCli(["bench", "--port", String(port), "--duration", "1"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: nothing listens there`));
});

test("a server that never answers: the run still ends on time, with 0 requests and exit 1", async () => {
  const sockets = new Set<Socket>();
  const mute = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  mute.listen(0, "127.0.0.1");
  await once(mute, "listening");
  try {
    const started = performance.now();
    const r = await runCli(["bench", "--port", String((mute.address() as { port: number }).port), "--duration", "1", "--json"], { timeoutMs: 30_000 });
    const took = performance.now() - started;
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stdout) as BenchSummary).requests, 0);
    assert.ok(took < 10_000, `took ${Math.round(took)} ms for a 1 s run`);
  } finally {
    for (const s of sockets) s.destroy();
    mute.close();
  }
});
