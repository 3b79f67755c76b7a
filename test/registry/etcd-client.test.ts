// The etcd client against a real etcd (test/helpers/etcd.ts): every call,
// the errors it signals (lease lost, compaction, unreachable), and what a
// restart with the same or a wiped data dir does to leases and watches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EtcdClient, prefixEnd, type WatchEvent } from "../../src/registry/etcd-client.ts";
import { RegistryError } from "../../src/errors.ts";
import { freePort, startEtcd, type Etcd } from "../helpers/etcd.ts";
import { missingTools } from "../helpers/tools.ts";

const skip = missingTools("etcd");

function code(error: unknown): string | undefined {
  return (error as RegistryError).code;
}

test("prefixEnd is the prefix with its last byte plus one (0xff bytes dropped)", () => {
  assert.equal(prefixEnd("/a/").toString("latin1"), "/a0");
  assert.deepEqual([...prefixEnd("a\u00ff")], [0x61, 0xc3, 0xc0]); // "ÿ" is c3 bf in UTF-8
  assert.deepEqual([...prefixEnd("")], [0]);
});

test("an unreachable etcd is REGISTRY_UNAVAILABLE within the deadline, naming every endpoint", async () => {
  const a = await freePort();
  const b = await freePort();
  const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${a}`, `http://127.0.0.1:${b}/`], timeoutMs: 300 });
  const started = Date.now();
  await assert.rejects(client.grant(5), (e: RegistryError) => {
    assert.equal(e.code, "REGISTRY_UNAVAILABLE");
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${a}.*127\\.0\\.0\\.1:${b}`));
    return true;
  });
  assert.ok(Date.now() - started < 2_000);
});

test("a listener that never answers times out as REGISTRY_UNAVAILABLE", async () => {
  const { createServer } = await import("node:net");
  const sockets: import("node:net").Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  try {
    const port = (silent.address() as { port: number }).port;
    const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 200 });
    const started = Date.now();
    await assert.rejects(client.range("/x"), (e: RegistryError) => e.code === "REGISTRY_UNAVAILABLE" && /timed out/.test(e.message));
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 2_000, `took ${took} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test("against a real etcd", { skip }, async (t) => {
  const etcd: Etcd = await startEtcd();
  t.after(() => etcd.close());
  // The first endpoint is dead: every call must still succeed through the second.
  const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${await freePort()}`, etcd.url], timeoutMs: 1_000 });

  await t.test("grant, put under the lease, range by prefix, keepalive, revoke deletes the key", async () => {
    const lease = await client.grant(5);
    assert.match(lease.id, /^\d+$/);
    assert.equal(lease.ttlS, 5);
    const { revision } = await client.put("/t/services/a/1", '{"x":"é"}', { lease: lease.id });
    assert.ok(revision > 0);
    await client.put("/t/services/a/2", "two");
    await client.put("/t/services/b/1", "other service");
    const listed = await client.range("/t/services/a/", { prefix: true });
    assert.deepEqual(listed.kvs.map((kv) => [kv.key, kv.value]), [["/t/services/a/1", '{"x":"é"}'], ["/t/services/a/2", "two"]]);
    assert.equal(listed.kvs[0]!.lease, lease.id);
    assert.equal(listed.kvs[1]!.lease, "0");
    assert.ok(listed.revision >= revision);
    assert.equal((await client.range("/t/services/a/1")).kvs.length, 1);
    assert.ok((await client.keepAlive(lease.id)) > 0);
    await client.revoke(lease.id);
    assert.deepEqual((await client.range("/t/services/a/", { prefix: true })).kvs.map((kv) => kv.key), ["/t/services/a/2"]);
    await client.revoke(lease.id); // a second revoke is no error
    await assert.rejects(client.keepAlive(lease.id), (e) => code(e) === "REGISTRY_LEASE_LOST");
    await assert.rejects(client.put("/t/k", "v", { lease: lease.id }), (e) => code(e) === "REGISTRY_LEASE_LOST");
    assert.equal(await client.delete("/t/", { prefix: true }), 2);
  });

  await t.test("a lease not kept alive expires and takes its key", async () => {
    const lease = await client.grant(1);
    await client.put("/t/short", "v", { lease: lease.id });
    const until = Date.now() + 4_000;
    while ((await client.range("/t/short")).kvs.length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await client.range("/t/short")).kvs.length, 0);
  });

  await t.test("etcd refusing a request is REGISTRY_REFUSED", async () => {
    await assert.rejects(client.put("", "v"), (e) => code(e) === "REGISTRY_REFUSED");
  });

  await t.test("watch from a revision sees puts and deletes, in order, after created", async () => {
    const before = await client.put("/w/a", "1");
    await client.put("/w/b", "2");
    const seen: WatchEvent[] = [];
    const errors: RegistryError[] = [];
    const w = client.watch("/w/", { startRevision: before.revision, onEvents: (e) => seen.push(...e), onError: (e) => errors.push(e) });
    await w.created;
    await client.delete("/w/a");
    await client.put("/other", "x");
    const until = Date.now() + 3_000;
    while (seen.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    w.close();
    assert.deepEqual(seen.map((e) => [e.type, e.key, e.value]), [["put", "/w/a", "1"], ["put", "/w/b", "2"], ["delete", "/w/a", ""]]);
    assert.deepEqual(errors, []);
  });

  await t.test("a watch from a compacted revision ends with REGISTRY_COMPACTED and the oldest revision kept", async () => {
    const first = await client.put("/c/k", "1");
    const last = await client.put("/c/k", "2");
    const res = await fetch(`${etcd.url}/v3/kv/compaction`, { method: "POST", body: JSON.stringify({ revision: String(last.revision) }) });
    assert.equal(res.status, 200);
    const error = await new Promise<RegistryError>((resolve) => {
      client.watch("/c/", { startRevision: first.revision, onEvents: () => {}, onError: resolve });
    });
    assert.equal(error.code, "REGISTRY_COMPACTED");
    assert.equal(error.compactRevision, last.revision);
  });

  let lease = { id: "", ttlS: 0 };
  await t.test("etcd restarted on its data dir: the watch breaks (UNAVAILABLE), the lease survives", async () => {
    lease = await client.grant(30);
    await client.put("/r/k", "v", { lease: lease.id });
    const errors: RegistryError[] = [];
    const w = client.watch("/r/", { onEvents: () => {}, onError: (e) => errors.push(e) });
    await w.created;
    await etcd.restart();
    const until = Date.now() + 3_000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(errors.map((e) => e.code), ["REGISTRY_UNAVAILABLE"]);
    assert.ok((await client.keepAlive(lease.id)) > 0);
    assert.equal((await client.range("/r/k")).kvs[0]?.value, "v");
  });

  await t.test("etcd restarted on a wiped data dir: the lease is lost and the key gone", async () => {
    await etcd.restart({ wipe: true });
    await assert.rejects(client.keepAlive(lease.id), (e) => code(e) === "REGISTRY_LEASE_LOST");
    assert.equal((await client.range("/r/k")).kvs.length, 0);
  });

  await t.test("etcd stopped: calls fail REGISTRY_UNAVAILABLE fast, and work again once it is back", async () => {
    await etcd.stop();
    const started = Date.now();
    await assert.rejects(client.range("/x"), (e) => code(e) === "REGISTRY_UNAVAILABLE");
    assert.ok(Date.now() - started < 1_500);
    await assert.rejects(
      new Promise((_, reject) => client.watch("/x", { onEvents: () => {}, onError: reject })),
      (e) => code(e) === "REGISTRY_UNAVAILABLE",
    );
    await etcd.restart();
    assert.equal((await client.range("/x")).kvs.length, 0);
  });
});

test("a watch stream that never ends its line is cut as REGISTRY_REFUSED instead of buffered without bound", async () => {
  const { createServer } = await import("node:http");
  const chunk = "x".repeat(64 * 1024);
  let sent = 0;
  const flood = createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    // At most 64 MiB, so that a failing test ends too.
    const more = () => {
      while (sent < 64 * 1024 * 1024 && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", more);
      }
      res.end();
    };
    res.on("error", () => {});
    more();
  });
  await new Promise<void>((r) => flood.listen(0, "127.0.0.1", r));
  try {
    const port = (flood.address() as { port: number }).port;
    const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 5_000 });
    const error = await new Promise<RegistryError>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no onError within 10 s")), 10_000);
      client.watch("/x", {
        onEvents: () => {},
        onError: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
    assert.equal(error.code, "REGISTRY_REFUSED", error.message);
    assert.match(error.message, /line/);
    assert.ok(sent < 64 * 1024 * 1024, `the whole ${sent} bytes were read`);
  } finally {
    flood.closeAllConnections();
    flood.close();
  }
});

test("answers that are JSON but not etcd's (null, an array, kvs not a list of key-values) are REGISTRY_REFUSED, not a TypeError", async () => {
  const { createServer } = await import("node:http");
  let body = "";
  const liar = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((r) => liar.listen(0, "127.0.0.1", r));
  try {
    const port = (liar.address() as { port: number }).port;
    const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 2_000 });
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["null", () => client.grant(5)],
      ['{"ID":"7","TTL":"soon"}', () => client.grant(5)],
      ['{"ID":"7","TTL":"0"}', () => client.grant(5)],
      ["[1]", () => client.keepAlive("1")],
      ["5", () => client.put("/k", "v")],
      ['{"kvs":5}', () => client.range("/k", { prefix: true })],
      ['{"kvs":[null]}', () => client.range("/k", { prefix: true })],
      ['{"kvs":[{"key":5,"value":"dg=="}]}', () => client.range("/k", { prefix: true })],
    ];
    for (const [text, call] of cases) {
      body = text;
      await assert.rejects(call(), (e: RegistryError) => {
        assert.equal(e.code, "REGISTRY_REFUSED", `${text}: ${e.message}`);
        return true;
      });
    }
  } finally {
    liar.closeAllConnections();
    liar.close();
  }
});

test("an answer larger than any of etcd's is REGISTRY_REFUSED once past the limit, not read whole", async () => {
  const { createServer } = await import("node:http");
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const flood = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json" });
    res.on("error", () => {});
    const more = () => {
      while (sent < 256 * 1024 * 1024 && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", more);
      }
      res.end();
    };
    more();
  });
  await new Promise<void>((r) => flood.listen(0, "127.0.0.1", r));
  try {
    const port = (flood.address() as { port: number }).port;
    const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 20_000 });
    await assert.rejects(client.range("/x", { prefix: true }), (e: RegistryError) => {
      assert.equal(e.code, "REGISTRY_REFUSED", e.message);
      return true;
    });
    assert.ok(sent < 128 * 1024 * 1024, `${sent} bytes were sent: the answer was read on past the limit`);
  } finally {
    flood.closeAllConnections();
    flood.close();
  }
});
