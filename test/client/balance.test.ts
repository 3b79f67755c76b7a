/**
 * A client over several real servers on loopback (127.0.0.2-6, one process
 * each): calls spread over them; a SIGKILLed one, a silently stopped one
 * (SIGSTOP: no reset, no answers) and a SIGTERMed one fail no call under a
 * bounded load; a server that starts later at a listed address gets calls.
 * The measured detection times are printed as diagnostics.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { RpcClient } from "forkrpc/client";
import { serve, type Served } from "../helpers/server.ts";
import { CONFIG, waitFor } from "./helpers.ts";
import { keepCalling } from "./balance-load.ts";
import type { Pid } from "../fixtures/client/plugins/ping.ts";

const servers: Served[] = [];
const stopped: Served[] = [];

function start(host: string, port = 0): Promise<Served> {
  return serve({ args: ["--config", CONFIG, "--host", host, "--port", String(port)], timeoutMs: 60_000 });
}

const address = (s: Served) => `${s.host}:${s.port}`;

/** What the client says of one endpoint now. */
function endpoint(client: RpcClient, s: Served) {
  const e = client.stats().endpoints.find((x) => x.endpoint === address(s));
  assert.ok(e !== undefined, `the client knows ${address(s)}`);
  return e;
}

/** Time from now until the client has no usable connection to `s`, in ms. */
async function detection(client: RpcClient, s: Served, within: number): Promise<number> {
  const t0 = performance.now();
  await waitFor(`${address(s)} to be left out`, () => !endpoint(client, s).available, within);
  return Math.round(performance.now() - t0);
}

before(async () => {
  servers.push(...(await Promise.all(["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"].map((h) => start(h)))));
});

after(async () => {
  for (const s of [...servers, ...stopped]) {
    try {
      process.kill(s.pid, "SIGCONT");
    } catch {}
    await s.stop("SIGKILL");
  }
});

test("calls spread over every endpoint, by power of two choices", async (t) => {
  const client = new RpcClient({ endpoints: servers.map(address) });
  try {
    await client.call("pid");
    await waitFor("every endpoint to connect", () => client.stats().endpoints.every((e) => e.available));
    const warmup = client.stats().endpoints.map((e) => e.sent);
    const pids = await Promise.all(Array.from({ length: 400 }, () => client.call<typeof Pid>("pid")));
    const counts = servers.map((s) => pids.filter((p) => p === s.pid).length);
    t.diagnostic(`400 calls over 4 servers: ${counts.join(", ")}`);
    for (const c of counts) assert.ok(c >= 40, `each server gets a share: ${counts.join(", ")}`);
    assert.deepEqual(
      client.stats().endpoints.map((e, i) => e.sent - (warmup[i] as number)),
      counts,
      "the client's counts agree with who answered",
    );
  } finally {
    await client.close();
  }
});

test("SIGKILL of one server under a load of idempotent calls: no call fails, and it gets no new call within 1 s", async (t) => {
  const [victim] = servers.splice(0, 1) as [Served];
  stopped.push(victim);
  const client = new RpcClient({ endpoints: [victim, ...servers].map(address), timeoutMs: 10_000 });
  try {
    const load = keepCalling(client, 12);
    await waitFor("calls to reach the victim", () => (load.pids.get(victim.pid) ?? 0) > 50, 10_000);
    process.kill(victim.pid, "SIGKILL");
    const detected = await detection(client, victim, 1_000);
    await delay(1_000);
    const sentAt1s = endpoint(client, victim).sent;
    await delay(1_000);
    await load.stop();
    const sentAtEnd = endpoint(client, victim).sent;
    t.diagnostic(`SIGKILL: left out after ${detected} ms; ${load.calls} calls, ${load.failures.length} failed, retries ${client.stats().retries}`);
    assert.deepEqual(load.failures.map((f) => String(f.error)), []);
    assert.equal(sentAtEnd, sentAt1s, "no call was sent to the dead server after its first second");
  } finally {
    client.destroy();
  }
});

test("a silently stopped server (SIGSTOP): the health probe cuts it within 2 s and no idempotent call fails", async (t) => {
  const [victim] = servers.splice(0, 1) as [Served];
  stopped.push(victim);
  const client = new RpcClient({ endpoints: [victim, ...servers].map(address), timeoutMs: 10_000 });
  try {
    const load = keepCalling(client, 12);
    await waitFor("calls to reach the victim", () => (load.pids.get(victim.pid) ?? 0) > 50, 10_000);
    process.kill(victim.pid, "SIGSTOP");
    const detected = await detection(client, victim, 4_000);
    const sentAfter = endpoint(client, victim).sent;
    await delay(1_000);
    await load.stop();
    t.diagnostic(`SIGSTOP: left out after ${detected} ms (probe every 1 s, deadline 1 s); ${load.calls} calls, ${load.failures.length} failed`);
    assert.deepEqual(load.failures.map((f) => String(f.error)), []);
    assert.equal(endpoint(client, victim).sent, sentAfter, "no call went to it once it was left out");
    // Margin for a noisy machine: the bound is interval + deadline = 2 s.
    assert.ok(detected <= 3_500, `detected in ${detected} ms`);
  } finally {
    client.destroy();
  }
});

test("SIGTERM of one server: no call fails, idempotent or not; a server started later at a listed address gets calls", async (t) => {
  const [victim, survivor] = servers as [Served, Served];
  const late = await freeAddress("127.0.0.6");
  const client = new RpcClient({ endpoints: [address(victim), address(survivor), late.text], timeoutMs: 10_000, reconnectDelayMaxMs: 200 });
  try {
    const load = keepCalling(client, 12, "half");
    await waitFor("calls to reach the victim", () => (load.pids.get(victim.pid) ?? 0) > 50, 10_000);
    const t0 = performance.now();
    const exit = victim.stop("SIGTERM");
    servers.splice(0, 1);
    await exit;
    const drained = Math.round(performance.now() - t0);
    const newcomer = await start(late.host, late.port);
    servers.push(newcomer);
    const ready = performance.now();
    await waitFor("the new server to get calls", () => (load.pids.get(newcomer.pid) ?? 0) > 0, 5_000);
    const firstCall = Math.round(performance.now() - ready);
    await delay(300);
    await load.stop();
    t.diagnostic(
      `SIGTERM: the server drained and exited in ${drained} ms; ${load.calls} calls (half not idempotent), ${load.failures.length} failed; ` +
        `the new server's first call ${firstCall} ms after its ready line`,
    );
    assert.deepEqual(load.failures.map((f) => String(f.error)), []);
  } finally {
    client.destroy();
  }
});

/** A port free right now on `host` (a server is started there later). */
async function freeAddress(host: string): Promise<{ host: string; port: number; text: string }> {
  const { createServer } = await import("node:net");
  const srv = createServer().listen(0, host);
  await new Promise((resolve) => srv.once("listening", resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return { host, port, text: `${host}:${port}` };
}
