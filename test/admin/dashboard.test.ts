/**
 * The dashboard in real headless Chromium (Debian's, driven by
 * playwright-core): it loads with no console error, its charts have data
 * after a load, a SIGKILLed worker shows as a restart marker, and the page
 * comes back by itself after the master restarts on the same admin port.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium, type Browser, type Page } from "playwright-core";
import { missingTools } from "../helpers/tools.ts";
import { serve, type Served } from "../helpers/server.ts";
import { childPids, fixtureConfig, sleep, supervised, waitFor } from "../helpers/supervision.ts";
import { adminUrl, burst } from "../helpers/metrics.ts";

const CHROMIUM = { executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update"] };

interface Chart {
  points?: string;
  markers?: string;
  max?: string;
}

function chart(page: Page, id: string): Promise<Chart> {
  return page.evaluate((i) => (window as unknown as { forkrpcDashboard: { chart(id: string): Chart } }).forkrpcDashboard.chart(i), id);
}

/** Pings (and a few unknown methods) in bursts until `stop` says so, bounded by `maxMs`. */
async function load(port: number, stop: () => boolean, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  while (!stop() && Date.now() < until) {
    await burst(port, "ping", 300, 3).catch(() => []);
    await burst(port, "nope", 5, 1).catch(() => []);
    await sleep(50);
  }
}

test("the dashboard: no console error, charts with data under load, a killed worker as a restart marker, back after a master restart", { skip: missingTools("chromium") }, async () => {
  const args = ["--config", fixtureConfig("scaling"), "--workers", "2"];
  let browser: Browser | undefined;
  let second: Served | undefined;
  try {
    browser = await chromium.launch(CHROMIUM);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    page.on("pageerror", (e) => errors.push(e.message));
    let adminPort = 0;
    await supervised({ args: [...args, "--admin", "127.0.0.1:0"], timeoutMs: 40_000 }, async ({ served }) => {
      const base = await adminUrl(() => served.stderr());
      adminPort = Number(new URL(base).port);
      await page.goto(base);
      let loaded = false;
      const loading = load(served.port, () => loaded, 15_000);
      await waitFor("requests/s, latency and errors on the charts", async () => {
        const [rps, latency, errs] = await Promise.all([chart(page, "chart-rps"), chart(page, "chart-latency"), chart(page, "chart-errors")]);
        return Number(rps.max) > 0 && Number(latency.max) > 0 && Number(errs.max) > 0;
      }, 15_000);
      loaded = true;
      await loading;
      assert.equal(await page.locator("#methods tbody tr").count() >= 3, true, "a row per method");

      const [victim] = childPids(served.pid);
      process.kill(victim as number, "SIGKILL");
      await waitFor("a restart marker on the charts", async () => Number((await chart(page, "chart-rps")).markers) >= 1, 10_000);
      assert.match(await page.locator("#events").innerText(), /restart crash/);
      assert.deepEqual(errors, [], "no console error while the master served");
    });

    // The master is gone: the page says so, then comes back by itself when a master serves the same admin port.
    await waitFor("the page to notice", async () => (await page.locator("#status").innerText()) === "reconnecting", 10_000);
    second = await serve({ args: [...args, "--port", "0", "--admin", `127.0.0.1:${adminPort}`], timeoutMs: 40_000 });
    const before = await page.evaluate(() => (window as unknown as { forkrpcDashboard: { points(): number } }).forkrpcDashboard.points());
    await waitFor("the page live again with new points", async () => {
      const live = (await page.locator("#status").innerText()) === "live";
      const points = await page.evaluate(() => (window as unknown as { forkrpcDashboard: { points(): number } }).forkrpcDashboard.points());
      return live && points >= Math.min(before + 2, 300);
    }, 20_000);
    const pageErrors = errors.filter((e) => !/ERR_CONNECTION_REFUSED|net::ERR_|Failed to load resource/.test(e));
    assert.deepEqual(pageErrors, [], "only the refused reconnections while no master served");
  } finally {
    await browser?.close();
    if (second) await second.stop();
  }
});
