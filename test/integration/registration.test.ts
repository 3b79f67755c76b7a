// A real master registering in a real etcd (issue 14, the server half):
// registered within a second or two of its ready line, registryHash updated
// by a rolling reload, registered again after etcd restarts (same data dir,
// then a wiped one), withdrawn before exit on SIGTERM, and gone within the
// lease TTL after SIGKILL. Prints the measured times.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RpcClient } from "../../src/client/index.ts";
import { EtcdClient, type WatchEvent } from "../../src/registry/etcd-client.ts";
import { startEtcd, type Etcd } from "../helpers/etcd.ts";
import { treePids } from "../helpers/proc.ts";
import { serve, type Served } from "../helpers/server.ts";
import { removeTempApps, tempApp } from "../helpers/temp-app.ts";
import { missingTools } from "../helpers/tools.ts";

const skip = missingTools("etcd");
const TTL_S = 2;
after(removeTempApps);

const PING = `import { Rpc } from "forkrpc";
@Rpc("ping", { out: "pong" })
export class Ping { handle(p: unknown) { return p; } }
`;

function app(): string {
  return tempApp("forkrpc-registration-", {
    "rpc.config.ts": `import { defineConfig } from "forkrpc";
export default defineConfig({
  plugins: ["plugins/*.ts"],
  registry: { etcd: { prefix: "/it", leaseTtlS: ${TTL_S} }, service: "orders", weight: 3 },
  shutdown: { graceMs: 5000, goawayLingerMs: 200 },
});
`,
    "plugins/ping.ts": PING,
  });
}

async function until<T>(what: string, get: () => Promise<T | undefined>, ms: number): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await get();
    if (value !== undefined) return { value, ms: Date.now() - started };
    if (Date.now() - started > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The registered record of the one instance of "orders", or undefined. */
async function registered(etcd: EtcdClient): Promise<Record<string, unknown> | undefined> {
  const { kvs } = await etcd.range("/it/services/orders/", { prefix: true });
  assert.ok(kvs.length <= 1, `one instance at most: ${kvs.map((kv) => kv.key).join(", ")}`);
  return kvs[0] === undefined ? undefined : { key: kvs[0].key, ...JSON.parse(kvs[0].value) };
}

function killTree(served: Served): void {
  for (const pid of treePids(served.pid).reverse()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

async function health(served: Served): Promise<string> {
  const client = new RpcClient({ host: served.host, port: served.port });
  try {
    return ((await client.call("rpc.health", null, { timeoutMs: 2_000 })) as { registryHash: string }).registryHash;
  } finally {
    await client.close();
  }
}

test("a master registers, follows reloads and etcd restarts, and leaves on SIGTERM", { skip, timeout: 40_000 }, async (t) => {
  const etcd: Etcd = await startEtcd();
  t.after(() => etcd.close());
  const kv = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 1_000 });
  const dir = app();
  const served = await serve({ cwd: dir, args: ["--workers", "1", "--etcd", etcd.url] });
  t.after(() => killTree(served));
  const times: string[] = [];

  const first = await until("registered after the ready line", () => registered(kv), 3_000);
  times.push(`registered ${first.ms} ms after the ready line`);
  assert.ok(first.ms < 2_000, `${first.ms} ms`);
  const record = first.value;
  assert.match(record.key as string, /^\/it\/services\/orders\/[^/]+-\d+-[0-9a-f]{6}$/);
  assert.equal(record.key, `/it/services/orders/${record.instance}`);
  assert.deepEqual(Object.keys(record).slice(1), ["host", "port", "pid", "instance", "startedAt", "registryHash", "version", "weight", "state"]);
  assert.equal(record.host, "127.0.0.1");
  assert.equal(record.port, served.port);
  assert.equal(record.pid, served.pid);
  assert.equal(record.weight, 3);
  assert.equal(record.state, "serving");
  assert.equal(record.registryHash, await health(served), "the registered hash is rpc.health's");

  // A rolling reload with a new method: the new generation's hash is registered.
  writeFileSync(join(dir, "plugins", "echo.ts"), PING.replaceAll("ping", "echo").replace("Ping", "Echo"));
  const hupAt = Date.now();
  process.kill(served.pid, "SIGHUP");
  const reloaded = await until("registryHash updated by the reload", async () => {
    const r = await registered(kv);
    return r !== undefined && r.registryHash !== record.registryHash ? r : undefined;
  }, 10_000);
  times.push(`registryHash updated ${Date.now() - hupAt} ms after SIGHUP`);
  assert.equal(reloaded.value.instance, record.instance, "same instance through a reload");
  assert.equal(reloaded.value.registryHash, await health(served));

  for (const wipe of [false, true]) {
    await etcd.restart({ wipe });
    const again = await until(`registered again after an etcd restart (${wipe ? "wiped" : "same data dir"})`, () => registered(kv), TTL_S * 1000);
    times.push(`registered ${again.ms} ms after etcd came back (${wipe ? "wiped data dir" : "same data dir"})`);
    assert.equal(again.value.registryHash, reloaded.value.registryHash);
  }

  // SIGTERM: "draining", then the key goes, all before the master exits.
  const events: Array<WatchEvent & { at: number }> = [];
  const w = kv.watch("/it/services/orders/", { onEvents: (e) => events.push(...e.map((x) => ({ ...x, at: Date.now() }))), onError: () => {} });
  await w.created;
  const termAt = Date.now();
  const code = await served.stop("SIGTERM");
  const exitAt = Date.now();
  w.close();
  assert.equal(code, 0);
  assert.deepEqual(events.map((e) => [e.type, e.type === "put" ? JSON.parse(e.value).state : ""]), [["put", "draining"], ["delete", ""]]);
  const goneAt = events[1]!.at;
  assert.ok(goneAt <= exitAt, "the key is gone before the master exits");
  assert.equal(await registered(kv), undefined);
  times.push(`key gone ${goneAt - termAt} ms after SIGTERM, master exited ${exitAt - termAt} ms after it`);
  assert.match(served.stderr(), /registered \/it\/services\/orders\//);
  t.diagnostic(`registration times: ${times.join("; ")}`);
});

test("SIGKILL of the master and its workers: the key is gone within the lease TTL", { skip, timeout: 30_000 }, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const kv = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 1_000 });
  const served = await serve({ cwd: app(), args: ["--workers", "1", "--etcd", etcd.url] });
  t.after(() => killTree(served));
  await until("registered", () => registered(kv), 3_000);
  const killedAt = Date.now();
  killTree(served);
  const gone = await until("key gone", async () => ((await registered(kv)) === undefined ? true : undefined), TTL_S * 1000 + 1_500);
  const ms = Date.now() - killedAt;
  t.diagnostic(`registration times: key gone ${ms} ms after SIGKILL (lease TTL ${TTL_S} s)`);
  assert.ok(gone.value);
  assert.ok(ms <= TTL_S * 1000 + 1_500, `${ms} ms`);
});

test("etcd down from the start: the server serves, logs the outage once, and registers when etcd comes", { skip, timeout: 30_000 }, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  await etcd.stop();
  const kv = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 1_000 });
  const served = await serve({ cwd: app(), args: ["--workers", "1", "--etcd", etcd.url] });
  t.after(() => killTree(served));
  assert.equal(typeof (await health(served)), "string", "serving while etcd is away");
  await new Promise((r) => setTimeout(r, 1_500));
  await etcd.restart();
  const back = await until("registered once etcd is up", () => registered(kv), TTL_S * 1000);
  t.diagnostic(`registration times: registered ${back.ms} ms after etcd started (it was down at boot)`);
  const warnings = served.stderr().split("\n").filter((l) => /etcd: cannot/.test(l));
  assert.equal(warnings.length, 1, served.stderr());
  assert.match(served.stderr(), /etcd: reachable again after/);
  assert.equal(await served.stop("SIGTERM"), 0);
});
