/**
 * Issue 10, items 4 and 5, against real `forkrpc serve` processes:
 * - a plugin middleware that calls next() without awaiting it: the client
 *   gets the handler's coded error (not null), only once the handler has
 *   settled, and the worker lives (same pid, no respawn in the master's log);
 * - rpc.discover and rpc.health behind the same doors as every method:
 *   auth (rpc.health public by default, configurable), config middleware,
 *   the access log.
 *
 * Fixtures: test/fixtures/introspection/
 *   auth.config.ts        auth tokens, default introspection, access log; served with one worker
 *   private.config.ts     auth on, introspection.public []
 *   allow-list.config.ts  a config middleware that refuses all but open.ping and rpc.health
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { serve, type Served } from "../helpers/server.ts";
import { RawPeer, request, type Response } from "../helpers/wire.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/introspection/", import.meta.url));

let authed: Served;
let privateHealth: Served;
let allowList: Served;

before(async () => {
  const boot = (file: string, workers: string) => serve({ args: ["--config", join(FIXTURE, file), "--workers", workers], timeoutMs: 60_000 });
  const booted = await Promise.allSettled([boot("auth.config.ts", "1"), boot("private.config.ts", "0"), boot("allow-list.config.ts", "0")]);
  const value = (i: number) => {
    const r = booted[i] as PromiseSettledResult<Served>;
    return r.status === "fulfilled" ? r.value : (undefined as unknown as Served);
  };
  [authed, privateHealth, allowList] = [value(0), value(1), value(2)];
  const failed = booted.find((r) => r.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
});

after(async () => {
  await Promise.all([authed?.stop(), privateHealth?.stop(), allowList?.stop()]);
});

/** One request on a fresh connection, closed afterwards; resolves with the answer and when it came. */
async function call(on: Served, method: string, params?: unknown, extra: Record<string, unknown> = {}): Promise<Response> {
  const peer = await RawPeer.open(on.port, "127.0.0.1");
  try {
    peer.write(request(method, params, extra));
    return await peer.read(8_000);
  } finally {
    peer.close();
  }
}

function assertError(res: Response, code: string): void {
  assert.equal(res.out, "error", `expected an error response, got ${JSON.stringify(res)}`);
  assert.equal(res.result?.code, code, `expected ${code}, got ${JSON.stringify(res)}`);
}

/** The access-log lines (pino JSON, msg "rpc") a server has written on stderr so far. */
function accessLines(on: Served): Array<Record<string, any>> {
  const lines: Array<Record<string, any>> = [];
  for (const line of on.stderr().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const value = JSON.parse(line) as Record<string, any>;
      if (value.msg === "rpc") lines.push(value);
    } catch {
      // a line cut by the pipe: the next poll sees it whole
    }
  }
  return lines;
}

/** Waits (bounded) for the access-log lines of a request id. */
async function linesFor(on: Served, id: string, timeoutMs = 5_000): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = accessLines(on).filter((l) => l.id === id);
    if (found.length > 0 || Date.now() > deadline) return found;
    await sleep(20);
  }
}

const ADMIN = { meta: { token: "t-admin" } };

// ---------------------------------------------------------------------------
describe("a middleware that does not await next()", () => {
  test("the client gets the handler's coded error, after the handler settled, and the worker lives on", async () => {
    const before = await call(authed, "rpc.health");
    assert.equal(before.out, "rpc.health", JSON.stringify(before));
    const pid = before.result.pid as number;
    assert.notEqual(pid, authed.pid, "a worker, not the master, answers");

    const start = performance.now();
    const res = await call(authed, "forgetful.fails", { ms: 150 }, { ...ADMIN, id: "ff" });
    const ms = performance.now() - start;
    assertError(res, "NOT_FOUND");
    assert.equal(res.id, "ff");
    assert.ok(ms >= 140, `answered after ${ms.toFixed(0)} ms, before the handler's 150 ms had passed`);

    // Give an unhandled rejection the time to end the worker, had there been one.
    await sleep(200);
    const afterwards = await call(authed, "rpc.health");
    assert.equal(afterwards.out, "rpc.health", JSON.stringify(afterwards));
    assert.equal(afterwards.result.pid, pid, "the same worker answers: it was not respawned");
    assert.doesNotMatch(authed.stderr(), /exited unexpectedly|unhandled/i);
    assert.match(authed.stderr(), /middleware \d+ returned before the next\(\) it called settled/);
    const [line] = await linesFor(authed, "ff");
    assert.equal(line?.code, "NOT_FOUND", "the access log outside it saw the real outcome");
  });

  test("a handler that succeeds under it is answered with its value, not null", async () => {
    assert.deepEqual(await call(authed, "forgetful.works", null, ADMIN), { out: "forgetful.works", result: "late but here" });
  });
});

// ---------------------------------------------------------------------------
describe("introspection behind auth", () => {
  test("rpc.discover without a token is UNAUTHENTICATED and shows nothing; with one it lists admin.secret", async () => {
    const refused = await call(authed, "rpc.discover");
    assertError(refused, "UNAUTHENTICATED");
    assert.doesNotMatch(JSON.stringify(refused), /admin\.secret/);
    assertError(await call(authed, "rpc.discover", null, { meta: { token: "wrong" } }), "UNAUTHENTICATED");
    const res = await call(authed, "rpc.discover", null, ADMIN);
    assert.equal(res.out, "rpc.discover", JSON.stringify(res));
    const byName = new Map((res.result.methods as Array<Record<string, any>>).map((m) => [m.name, m]));
    assert.deepEqual(byName.get("admin.secret")?.scopes, ["admin"]);
    assert.equal(byName.get("rpc.health")?.public, true, "public by default");
    assert.equal(byName.get("rpc.discover")?.public, undefined, "not public by default");
  });

  test("rpc.health is public by default: no token needed", async () => {
    const res = await call(authed, "rpc.health");
    assert.equal(res.out, "rpc.health", JSON.stringify(res));
    assert.equal(res.result.status, "serving");
  });

  test("introspection.public [] puts rpc.health behind auth too", async () => {
    assertError(await call(privateHealth, "rpc.health"), "UNAUTHENTICATED");
    assertError(await call(privateHealth, "rpc.discover"), "UNAUTHENTICATED");
    assert.equal((await call(privateHealth, "rpc.health", null, { meta: { token: "t-any" } })).out, "rpc.health");
    assert.equal((await call(privateHealth, "rpc.discover", null, { meta: { token: "t-any" } })).out, "rpc.discover");
  });

  test("both are in the access log, refused or answered", async () => {
    await call(authed, "rpc.discover", null, { id: "log-d1" });
    await call(authed, "rpc.discover", null, { ...ADMIN, id: "log-d2" });
    await call(authed, "rpc.health", null, { id: "log-h" });
    const [d1] = await linesFor(authed, "log-d1");
    const [d2] = await linesFor(authed, "log-d2");
    const [h] = await linesFor(authed, "log-h");
    assert.equal(d1?.method, "rpc.discover");
    assert.equal(d1?.code, "UNAUTHENTICATED");
    assert.equal(d2?.out, "rpc.discover");
    assert.equal(h?.method, "rpc.health");
    assert.equal(h?.out, "rpc.health");
  });
});

// ---------------------------------------------------------------------------
describe("introspection behind config middleware", () => {
  test("an allow-list middleware that refuses rpc.discover is obeyed, and logged", async () => {
    const refused = await call(allowList, "rpc.discover", null, { id: "al-d" });
    assertError(refused, "PERMISSION_DENIED");
    assert.doesNotMatch(JSON.stringify(refused), /admin\.secret/);
    assertError(await call(allowList, "admin.secret"), "PERMISSION_DENIED");
    assert.deepEqual(await call(allowList, "open.ping", 7), { out: "open.ping", result: 7 });
    const health = await call(allowList, "rpc.health", null, { id: "al-h" });
    assert.equal(health.out, "rpc.health", JSON.stringify(health));
    const [d] = await linesFor(allowList, "al-d");
    const [h] = await linesFor(allowList, "al-h");
    assert.equal(d?.code, "PERMISSION_DENIED");
    assert.equal(h?.out, "rpc.health");
  });
});
