/**
 * A real Prometheus (Debian's package) scrapes the admin port on loopback,
 * and its HTTP API answers a rate over forkrpc's counters: the exposition
 * is not only well-formed (promtool, metrics.test.ts) but usable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingTools } from "../helpers/tools.ts";
import { fixtureConfig, sleep, supervised, waitFor } from "../helpers/supervision.ts";
import { adminUrl, burst, get } from "../helpers/metrics.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test("a real Prometheus scrapes /metrics and its API answers a rate of pings", { skip: missingTools("prometheus") }, async () => {
  const args = ["--config", fixtureConfig("scaling"), "--workers", "2", "--admin", "127.0.0.1:0"];
  await supervised({ args, timeoutMs: 40_000 }, async ({ served, defer }) => {
    const admin = new URL(await adminUrl(() => served.stderr()));
    const dir = mkdtempSync(join(tmpdir(), "forkrpc-prometheus-"));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, "prometheus.yml");
    writeFileSync(
      config,
      `global:\n  scrape_interval: 500ms\n  evaluation_interval: 500ms\nscrape_configs:\n  - job_name: forkrpc\n    static_configs:\n      - targets: ["${admin.host}"]\n`,
    );
    const port = await freePort();
    const prom = spawn(
      "prometheus",
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    prom.stderr.on("data", (d) => (log += d));
    const exited = new Promise<void>((resolve) => prom.once("exit", () => resolve()));
    defer(async () => {
      if (prom.exitCode === null && prom.signalCode === null) process.kill(prom.pid as number, "SIGTERM");
      const killer = setTimeout(() => prom.exitCode === null && process.kill(prom.pid as number, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    });
    const api = `http://127.0.0.1:${port}`;
    await waitFor("Prometheus ready", async () => (await get(`${api}/-/ready`)).status === 200, 20_000, 200).catch((e: Error) => {
      throw new Error(`${e.message}\nprometheus log:\n${log}`);
    });

    // Pings for a few seconds, so that a 3 s window holds several scrapes with growing counts.
    const query = encodeURIComponent('sum(rate(forkrpc_rpc_server_call_duration_seconds_count{rpc_method="ping",code="OK"}[3s]))');
    const until = Date.now() + 15_000;
    let rate = 0;
    while (Date.now() < until && rate === 0) {
      await burst(served.port, "ping", 200, 2);
      await sleep(200);
      const res = JSON.parse((await get(`${api}/api/v1/query?query=${query}`)).body) as { status: string; data: { result: Array<{ value: [number, string] }> } };
      assert.equal(res.status, "success");
      rate = Number(res.data.result[0]?.value[1] ?? 0);
    }
    assert.ok(rate > 0, `Prometheus saw no rate of pings in 15 s\nprometheus log:\n${log}`);
    const targets = JSON.parse((await get(`${api}/api/v1/targets`)).body) as { data: { activeTargets: Array<{ health: string; lastError: string }> } };
    assert.deepEqual(targets.data.activeTargets.map((t) => [t.health, t.lastError]), [["up", ""]]);
  });
});
