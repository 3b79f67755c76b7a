/**
 * Metrics pushed with the heartbeats and kept in the master (issue 16's
 * done-when): exact counts per method and code from 2 workers, and counters
 * that never go down through a SIGKILLed worker and a rolling reload.
 */
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { childPids, fixtureConfig, supervised, waitFor } from "../helpers/supervision.ts";
import { missingTools } from "../helpers/tools.ts";
import { RawPeer, frame } from "../helpers/wire.ts";
import { adminUrl, burst, get, parseMetrics, scrape, sum, type Sample } from "../helpers/metrics.ts";

const DURATION = "forkrpc_rpc_server_call_duration_seconds_count";
/** Heartbeats are 1 s apart: a count is in /metrics one heartbeat after the call, plus a wide margin for a busy machine. */
const WITHIN_MS = 3_000;

function counts(s: Sample[]) {
  return {
    ping: sum(s, DURATION, { rpc_method: "ping", code: "OK" }),
    missing: sum(s, DURATION, { rpc_method: "_OTHER", code: "METHOD_NOT_FOUND" }),
    crash: sum(s, "forkrpc_worker_restarts_total", { reason: "crash" }),
    reloadRestarts: sum(s, "forkrpc_worker_restarts_total", { reason: "reload" }),
    reloads: sum(s, "forkrpc_reloads_total", { outcome: "complete" }),
    accepted: sum(s, "forkrpc_connections_accepted_total"),
    ready: sum(s, "forkrpc_workers", { state: "ready" }),
  };
}

test("N pings and M unknown methods on 2 workers are counted exactly, and no counter goes down through a SIGKILL and a reload", async () => {
  const args = ["--config", fixtureConfig("scaling"), "--workers", "2", "--admin", "127.0.0.1:0"];
  await supervised({ args, timeoutMs: 40_000 }, async ({ served }) => {
    const base = await adminUrl(() => served.stderr());
    const zero = counts(await scrape(base));
    assert.deepEqual([zero.ping, zero.missing, zero.crash], [0, 0, 0], "every series exists from the start, at zero");

    const N = 300;
    const M = 40;
    const pongs = await burst(served.port, "ping", N, 6);
    assert.equal(pongs.filter((a) => a.out === "pong").length, N);
    const missing = await burst(served.port, "no.such.method", M, 2);
    assert.ok(missing.every((a) => a.out === "error" && a.result.code === "METHOD_NOT_FOUND"));
    const seen = await waitFor("the counts in /metrics", async () => {
      const c = counts(await scrape(base));
      return c.ping === N && c.missing === M ? c : undefined;
    }, WITHIN_MS);
    assert.equal(seen.accepted, 8);

    const [victim] = childPids(served.pid);
    process.kill(victim as number, "SIGKILL");
    const afterCrash = await waitFor("a crash counted and 2 workers ready again", async () => {
      const c = counts(await scrape(base));
      return c.crash === 1 && c.ready === 2 ? c : undefined;
    }, 15_000);
    assert.ok(afterCrash.ping === N && afterCrash.missing === M && afterCrash.accepted >= 8, JSON.stringify(afterCrash));

    process.kill(served.pid, "SIGHUP");
    const afterReload = await waitFor("the reload complete", async () => {
      const c = counts(await scrape(base));
      return c.reloads === 1 && c.reloadRestarts === 2 && c.ready === 2 ? c : undefined;
    }, 20_000);
    assert.equal(afterReload.crash, 1, "a reload is no crash");
    assert.ok(afterReload.ping === N && afterReload.missing === M && afterReload.accepted >= afterCrash.accepted, JSON.stringify(afterReload));

    // The new generation's calls add to the totals kept across the old one's exit.
    await burst(served.port, "ping", 50, 2);
    await waitFor("50 more pings", async () => (counts(await scrape(base)).ping === afterReload.ping + 50 ? true : undefined), WITHIN_MS);
    assert.equal((await get(`${base}readyz`)).status, 200);
    assert.equal((await get(`${base}healthz`)).status, 200);
  });
});

test("promtool check metrics passes on /metrics after results, errors and a refused frame", { skip: missingTools("promtool") }, async () => {
  const args = ["--config", fixtureConfig("scaling"), "--workers", "1", "--admin", "127.0.0.1:0"];
  await supervised({ args, timeoutMs: 40_000 }, async ({ served }) => {
    const base = await adminUrl(() => served.stderr());
    await burst(served.port, "ping", 20, 2);
    await burst(served.port, "nope", 3, 1);
    const bad = await RawPeer.open(served.port);
    bad.write(frame("{{{"));
    assert.equal((await bad.read()).result.code, "PARSE_ERROR");
    bad.close();
    const text = await waitFor("the calls in /metrics", async () => {
      const res = await get(`${base}metrics`);
      const s = parseMetrics(res.body);
      return sum(s, DURATION, { rpc_method: "ping" }) === 20 && sum(s, "forkrpc_frames_rejected_total", { code: "PARSE_ERROR" }) === 1 ? res : undefined;
    }, WITHIN_MS);
    assert.match(text.type, /^text\/plain; version=0\.0\.4/);
    const check = spawnSync("promtool", ["check", "metrics"], { input: text.body, encoding: "utf8", timeout: 10_000 });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal(check.stdout + check.stderr, "", "no lint warnings either");
  });
});
