/**
 * Several hosts on one machine (issue 14, item 6): three network namespaces
 * each running `forkrpc serve --workers 2 --etcd URL --service orders`, etcd
 * in a fourth, a client that discovers them in a fifth, joined by a bridge in
 * a sixth; every address exists only inside them. Under a
 * bounded load of calls throughout: a rolling reload of each host, etcd
 * stopped and started again (same data, then wiped), SIGKILL
 * of a host's processes, a host starting, a host cut off silently (its veth
 * down), and SIGTERM of a host.
 * Failed-call counts and detection times are printed.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import type { ClientOptions } from "forkrpc/client";
import { createLab, type Lab } from "../helpers/netns.ts";
import { waitFor } from "../client/helpers.ts";
import { missingTools } from "../helpers/tools.ts";
import { available, lastSentAt, sentTo, startEtcdIn, startHost, startLoad, type Host, type NsEtcd } from "./netns-hosts.ts";

const skip = missingTools("netns", "etcd", "etcdctl");
const IPS = { h1: "10.88.0.11", h2: "10.88.0.12", h3: "10.88.0.13", cl: "10.88.0.2", e1: "10.88.0.3" };
const SERVICE = "orders";
let lab: Lab;
let etcd: NsEtcd;
const hosts = new Map<string, Host>();

/** The client finds the hosts in etcd, as each registered itself. */
function clientOptions(): ClientOptions {
  return { etcd: { endpoints: [etcd.url] }, service: SERVICE, timeoutMs: 10_000, connections: 2 };
}

function startRegistered(name: "h1" | "h2" | "h3"): Promise<Host> {
  return startHost(lab, name, IPS[name], ["--etcd", etcd.url, "--service", SERVICE]);
}

before(async () => {
  if (skip) return;
  lab = createLab();
  for (const [name, ip] of Object.entries(IPS)) await lab.addHost(name, ip);
  etcd = await startEtcdIn(lab, "e1", IPS.e1);
  for (const h of await Promise.all((["h1", "h2", "h3"] as const).map(startRegistered))) hosts.set(h.name, h);
});

after(async () => {
  await lab?.close();
});

test("a rolling reload on every host in turn: no call fails, idempotent or not", { skip }, async (t) => {
  const load = startLoad(lab, "cl", clientOptions(), 12, "half");
  try {
    await load.until("calls on every host", (s) => s.endpoints.filter((e) => e.sent > 50).length === 3, 15_000);
    const took: number[] = [];
    for (const host of hosts.values()) {
      const t0 = Date.now();
      const before = (host.output().match(/reload complete/g) ?? []).length;
      process.kill(host.proc.pid as number, "SIGHUP");
      await waitFor(`${host.name}'s reload`, () => (host.output().match(/reload complete/g) ?? []).length > before, 30_000);
      took.push(Date.now() - t0);
    }
    await delay(1_500); // the old generations retire with goaways after the linger
    const end = await load.stop();
    t.diagnostic(`rolling reloads of 3 hosts in turn (${took.join(", ")} ms each): ${end.calls} calls (half not idempotent), ${end.failed} failed`);
    assert.deepEqual(end.failures, []);
  } finally {
    await load.stop().catch(() => {});
  }
});

/** Serving instances of the service in etcd now, read with etcdctl inside etcd's namespace. */
function registered(): number {
  const r = spawnSync("ip", ["netns", "exec", lab.ns("e1"), "etcdctl", "--endpoints", etcd.url, "get", "--prefix", "--print-value-only", `/forkrpc/services/${SERVICE}/`], { encoding: "utf8", timeout: 5_000 });
  return r.stdout.split("\n").filter((line) => line.includes('"state":"serving"')).length;
}

async function reRegistered(back: number, within: number): Promise<number> {
  await waitFor("every host registered again", () => registered() === 3, within);
  return Date.now() - back;
}

test("etcd stopped 10 s, back with its data, then back wiped: no call fails, every host registers again within leaseTtlS", { skip }, async (t) => {
  const load = startLoad(lab, "cl", clientOptions(), 12, "half");
  try {
    await load.until("calls on every host", (s) => s.endpoints.filter((e) => e.sent > 50).length === 3, 15_000);
    assert.equal(registered(), 3);
    await etcd.stop();
    await delay(10_000);
    await etcd.start();
    const again = await reRegistered(Date.now(), 12_000);
    await etcd.stop();
    await delay(2_000);
    await etcd.start({ wipe: true });
    const wiped = await reRegistered(Date.now(), 12_000);
    const end = await load.stop();
    t.diagnostic(
      `etcd down 10 s: all 3 hosts registered again ${again} ms after it came back; down 2 s and wiped: ${wiped} ms (leaseTtlS 10); ` +
        `${end.calls} calls (half not idempotent), ${end.failed} failed`,
    );
    assert.deepEqual(end.failures, []);
    assert.ok(again <= 10_000 && wiped <= 10_000, "within leaseTtlS");
  } finally {
    await load.stop().catch(() => {});
  }
});

test("SIGKILL of one host's master and workers: no call fails, no new call to it within 1 s", { skip }, async (t) => {
  const victim = hosts.get("h1") as Host;
  const load = startLoad(lab, "cl", clientOptions(), 12);
  try {
    await load.until("calls on every host", (s) => s.endpoints.length === 3 && s.endpoints.every((e) => e.sent > 50), 15_000);
    const killedAt = Date.now();
    lab.killGroup(victim.proc, "SIGKILL");
    const out = await load.until("the victim to be left out", (s) => s.at > killedAt && !available(s, victim.address));
    await delay(2_000);
    const end = await load.stop();
    const quiet = lastSentAt(load.samples, victim.address) - killedAt;
    t.diagnostic(`SIGKILL: left out ${out.at - killedAt} ms after the kill, last call sent to it at +${quiet} ms; ${end.calls} calls, ${end.failed} failed`);
    assert.deepEqual(end.failures, []);
    assert.ok(quiet <= 1_000, `no new call after 1 s (last at +${quiet} ms)`);
  } finally {
    await load.stop().catch(() => {});
  }
});

test("a new host starting (h1 again): it gets calls within 1 s of its ready line", { skip }, async (t) => {
  const load = startLoad(lab, "cl", clientOptions(), 12);
  try {
    await load.until("calls on h2 and h3", (s) => s.endpoints.filter((e) => e.sent > 50).length === 2, 15_000);
    const h1 = await startRegistered("h1");
    hosts.set("h1", h1);
    const first = await load.until("h1 to get calls", (s) => sentTo(s, h1.address) > 0, 5_000);
    const end = await load.stop();
    t.diagnostic(`new host: first call sent to it ${first.at - h1.readyAt} ms after its ready line; ${end.calls} calls, ${end.failed} failed`);
    assert.deepEqual(end.failures, []);
    // The bound is 1 s (it registers after its ready line, then the watch, a connect and a probe); margin for a loaded machine.
    assert.ok(first.at - h1.readyAt <= 2_000, `within 1 s (+ margin): ${first.at - h1.readyAt} ms`);
  } finally {
    await load.stop().catch(() => {});
  }
});

test("a host cut off silently (its veth down): no idempotent call fails, calls stop going there within 2 s", { skip }, async (t) => {
  const victim = hosts.get("h2") as Host;
  const load = startLoad(lab, "cl", clientOptions(), 12);
  try {
    await load.until("calls on every host", (s) => s.endpoints.filter((e) => e.sent > 50).length === 3, 15_000);
    const cutAt = Date.now();
    lab.cut("h2");
    const out = await load.until("the victim to be left out", (s) => s.at > cutAt && !available(s, victim.address), 5_000);
    await delay(1_500);
    const end = await load.stop();
    const quiet = lastSentAt(load.samples, victim.address) - cutAt;
    t.diagnostic(`cut: left out ${out.at - cutAt} ms after the cut (probe every 1 s, deadline 1 s), last call sent to it at +${quiet} ms; ${end.calls} calls, ${end.failed} failed`);
    assert.deepEqual(end.failures, []);
    // The bound is interval + deadline = 2 s; margin for a loaded machine.
    assert.ok(out.at - cutAt <= 3_000, `left out within 2 s (+ margin): ${out.at - cutAt} ms`);
  } finally {
    await load.stop().catch(() => {});
    lab.heal("h2");
    lab.killGroup(victim.proc, "SIGKILL");
    hosts.delete("h2");
  }
});

test("SIGTERM of a host: no call fails, idempotent or not", { skip }, async (t) => {
  const victim = hosts.get("h3") as Host;
  const load = startLoad(lab, "cl", clientOptions(), 12, "half");
  try {
    await load.until("calls on every host", (s) => s.endpoints.filter((e) => e.sent > 50).length === 2, 15_000);
    const termAt = Date.now();
    lab.killGroup(victim.proc, "SIGTERM");
    await new Promise((resolve) => (victim.proc.exitCode !== null ? resolve(null) : victim.proc.once("exit", resolve)));
    const exitedIn = Date.now() - termAt;
    await delay(500);
    const end = await load.stop();
    const quiet = lastSentAt(load.samples, victim.address) - termAt;
    t.diagnostic(`SIGTERM: the host drained and exited in ${exitedIn} ms, last call sent to it at +${quiet} ms; ${end.calls} calls (half not idempotent), ${end.failed} failed`);
    assert.deepEqual(end.failures, []);
  } finally {
    await load.stop().catch(() => {});
    hosts.delete("h3");
  }
});
