/**
 * The middleware system over real sockets against real `forkrpc serve`
 * processes (issue 4's Done-when): one block per built-in (deadline,
 * validation, limits, auth, access log), the documented order of global,
 * plugin and per-handler middleware, introspection, and the fast path.
 *
 * Fixtures: test/fixtures/middleware/, one config per server:
 *   rpc.config.ts            every plugin (plugins/order adds @Middleware classes),
 *                            a global middleware, deadline.defaultTimeoutMs 400
 *   bare.config.ts           no middleware at all, introspection.discover false
 *   limits.config.ts         maxInflightPerConnection 2, accessLog sampleRate 0
 *   worker-limits.config.ts  maxInflightPerWorker 2, accessLog level warn + params
 *   auth.config.ts           auth tokens + async verify through DI, accessLog info
 * Each serves with --workers 0, so module state in a plugin (the abort
 * record of the sleepers) can be read back by a second request.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { ROOT, serve, type Served } from "../helpers/server.ts";
import { callOnce, RawPeer, request, type Response } from "../helpers/wire.ts";
import { removeTempApps, tempApp } from "../helpers/temp-app.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/middleware/", import.meta.url));
const config = (name: string) => join(FIXTURE, name);
/** The default deadline of rpc.config.ts, and sleepCapped's own timeoutMs. */
const DEFAULT_DEADLINE_MS = 400;
const CAPPED_MS = 150;

let main: Served;
let bare: Served;
let limited: Served;
let workerLimited: Served;
let authed: Served;
const peers: RawPeer[] = [];

before(async () => {
  // Booting compiles TypeScript: allow for a loaded machine.
  const boot = (file: string) => serve({ args: ["--config", config(file)], timeoutMs: 60_000 });
  // allSettled: when one server fails to boot, the others are still kept, so after() stops them.
  const booted = await Promise.allSettled([
    boot("rpc.config.ts"),
    boot("bare.config.ts"),
    boot("limits.config.ts"),
    boot("worker-limits.config.ts"),
    boot("auth.config.ts"),
  ]);
  const value = (i: number) => {
    const r = booted[i] as PromiseSettledResult<Served>;
    return r.status === "fulfilled" ? r.value : (undefined as unknown as Served);
  };
  [main, bare, limited, workerLimited, authed] = [value(0), value(1), value(2), value(3), value(4)];
  const failed = booted.find((r) => r.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
});

after(async () => {
  for (const p of peers) p.close();
  await Promise.all([main?.stop(), bare?.stop(), limited?.stop(), workerLimited?.stop(), authed?.stop()]);
});

/** A peer on a server, closed in after() whatever happens. */
async function open(on: Served): Promise<RawPeer> {
  const peer = await RawPeer.open(on.port, "127.0.0.1");
  peers.push(peer);
  return peer;
}

/** One request on a fresh connection, closed afterwards. */
async function call(on: Served, method: string, params?: unknown, extra: Record<string, unknown> = {}): Promise<Response> {
  const peer = await open(on);
  try {
    peer.write(request(method, params, extra));
    return await peer.read(8_000);
  } finally {
    peer.close();
  }
}

function assertError(res: Response, code: string, id?: string | number): void {
  assert.equal(res.out, "error", `expected an error response, got ${JSON.stringify(res)}`);
  assert.equal(res.result?.code, code, `expected ${code}, got ${JSON.stringify(res)}`);
  assert.equal(typeof res.result.message, "string");
  if (id !== undefined) assert.equal(res.id, id);
}

/** Reads n answers and returns them by id. */
async function readById(peer: RawPeer, n: number, timeoutMs = 8_000): Promise<Map<string | number | undefined, Response>> {
  const byId = new Map<string | number | undefined, Response>();
  for (const res of await peer.readMany(n, timeoutMs)) byId.set(res.id, res);
  assert.equal(byId.size, n, "answers with distinct ids");
  return byId;
}

/** Polls the sleepers' record for `key` until `until` holds (bounded). */
async function abortStatus(on: Served, key: string, until: (s: any) => boolean, extra: Record<string, unknown> = {}): Promise<any> {
  let status: any = null;
  for (let i = 0; i < 60; i++) {
    status = (await call(on, "abortStatus", { key }, extra)).result;
    if (status !== null && until(status)) return status;
    await sleep(50);
  }
  return status;
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

/** Waits (bounded) until stderr holds text matching `re`. */
async function waitForStderr(on: Served, re: RegExp, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(on.stderr())) {
    if (Date.now() > deadline) assert.fail(`stderr never matched ${re}:\n${on.stderr()}`);
    await sleep(20);
  }
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

interface Declared {
  name: string;
  out: string;
  description: string | undefined;
  hasParams: boolean;
}

/** The @Rpc declarations in the .ts files under `dir`, read from the source text. */
function declaredMethods(dir: string): Declared[] {
  const found: Declared[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = readFileSync(path, "utf8");
        for (const m of text.matchAll(/@Rpc\(\s*"([^"]+)"\s*(?:,\s*\{([^}]*)\})?\s*\)/g)) {
          const options = m[2] ?? "";
          found.push({
            name: m[1] as string,
            out: /\bout:\s*"([^"]+)"/.exec(options)?.[1] ?? (m[1] as string),
            description: /\bdescription:\s*"([^"]*)"/.exec(options)?.[1],
            hasParams: /\bparams:/.test(options),
          });
        }
      }
    }
  };
  walk(dir);
  return found;
}

// ---------------------------------------------------------------------------
describe("deadline", () => {
  const servers = [
    ["through a middleware chain", () => main],
    ["on the fast path (no middleware)", () => bare],
  ] as const;

  for (const [label, which] of servers) {
    test(`meta.timeoutMs 100 answers DEADLINE_EXCEEDED in about 100 ms and aborts the handler's signal (${label})`, async () => {
      const on = which();
      const key = `deadline-100-${on.port}`;
      const peer = await open(on);
      const start = performance.now();
      peer.write(request("sleep", { ms: 5_000, key }, { id: 1, meta: { timeoutMs: 100 } }));
      const res = await peer.read(5_000);
      const elapsed = performance.now() - start;
      assertError(res, "DEADLINE_EXCEEDED", 1);
      assert.equal(res.result.message, "deadline of 100 ms exceeded");
      assert.ok(elapsed >= 80 && elapsed <= 600, `answered after ${elapsed.toFixed(1)} ms, expected about 100`);

      const seen = await abortStatus(on, key, (s) => s.aborted === true);
      assert.deepEqual(seen, {
        started: true,
        aborted: true,
        reason: { name: "RpcError", code: "DEADLINE_EXCEEDED", message: "deadline of 100 ms exceeded" },
        finished: true,
      });
      // The connection and the worker go on serving.
      peer.write(request("ping", "after", { id: 2 }));
      assert.deepEqual(await peer.read(), { out: "pong", result: "after", id: 2 });
    });

    test(`a meta.timeoutMs that is not a positive number answers INVALID_REQUEST and runs nothing (${label})`, async () => {
      const on = which();
      const peer = await open(on);
      const bad: unknown[] = ["100", -1, 0, null, true, { ms: 100 }];
      bad.forEach((timeoutMs, i) => peer.write(request("sleep", { ms: 10, key: `bad-meta-${i}-${on.port}` }, { id: i, meta: { timeoutMs } })));
      const byId = await readById(peer, bad.length);
      bad.forEach((timeoutMs, i) => {
        const res = byId.get(i) as Response;
        assertError(res, "INVALID_REQUEST", i);
        assert.match(res.result.message, /timeoutMs/, `for ${JSON.stringify(timeoutMs)}`);
      });
      for (let i = 0; i < bad.length; i++) {
        assert.equal((await call(on, "abortStatus", { key: `bad-meta-${i}-${on.port}` })).result, null, "the handler never started");
      }
    });

    test(`a synchronous handler is not cut by any deadline (${label})`, async () => {
      const on = which();
      // syncWork has timeoutMs 1 and busy-waits 50 ms; meta asks for 1 ms too.
      const res = await call(on, "syncWork", { ms: 50 }, { id: "sync", meta: { timeoutMs: 1 } });
      assert.deepEqual(res, { out: "syncWork", result: { done: true, spun: true }, id: "sync" });
    });
  }

  test("the handler's timeoutMs applies, and the smallest of handler, meta and config wins", async () => {
    const cases: Array<[Served, string, Record<string, unknown>, number]> = [
      // bare: no config default
      [bare, "sleepCapped", {}, CAPPED_MS],
      [bare, "sleepCapped", { timeoutMs: 5_000 }, CAPPED_MS],
      [bare, "sleepCapped", { timeoutMs: 100 }, 100],
      // main: deadline.defaultTimeoutMs 400
      [main, "sleep", {}, DEFAULT_DEADLINE_MS],
      [main, "sleep", { timeoutMs: 5_000 }, DEFAULT_DEADLINE_MS],
      [main, "sleep", { timeoutMs: 120 }, 120],
      [main, "sleepCapped", {}, CAPPED_MS],
      [main, "sleepCapped", { timeoutMs: 100 }, 100],
    ];
    for (const [on, method, meta, expected] of cases) {
      const res = await call(on, method, { ms: 3_000 }, { meta });
      assertError(res, "DEADLINE_EXCEEDED");
      assert.equal(res.result.message, `deadline of ${expected} ms exceeded`, `${method} with meta ${JSON.stringify(meta)} on ${on === main ? "main" : "bare"}`);
    }
  });

  test("a meta.timeoutMs beyond setTimeout's range is no deadline at all, not an instant one", async () => {
    // 3e9 ms (about 35 days) is a positive number, so deadlineOf accepts it;
    // Node's setTimeout turns any delay above 2^31-1 ms into 1 ms.
    // bare: the fast path; authed: a chain (auth, access log); neither has a config default.
    for (const [on, meta] of [[bare, {}], [authed, { token: "t-user" }]] as const) {
      const res = await call(on, "sleep", { ms: 150 }, { id: "huge", meta: { ...meta, timeoutMs: 3e9 } });
      assert.deepEqual(res, { out: "sleep", result: "slept", id: "huge" }, `got ${JSON.stringify(res)}`);
    }
  });

  test("work that ends before every deadline answers normally", async () => {
    assert.deepEqual(await call(bare, "sleep", { ms: 250 }), { out: "sleep", result: "slept" }, "no deadline at all without config");
    assert.deepEqual(await call(main, "sleep", { ms: 20 }, { meta: { timeoutMs: 2_000 } }), { out: "sleep", result: "slept" });
    assert.deepEqual(await call(bare, "sleepCapped", { ms: 10 }), { out: "sleepCapped", result: "slept" });
  });
});

// ---------------------------------------------------------------------------
describe("validation", () => {
  for (const [label, which] of [["main", () => main], ["bare", () => bare]] as const) {
    test(`bad params answer INVALID_PARAMS with the issues in data (${label})`, async () => {
      const res = await call(which(), "createUser", { name: "", age: "x", tags: ["ok", 2] }, { id: 7 });
      assertError(res, "INVALID_PARAMS", 7);
      const issues = res.result.data?.issues as Array<{ message: unknown; path: unknown }>;
      assert.ok(Array.isArray(issues) && issues.length === 3, `issues: ${JSON.stringify(res.result.data)}`);
      for (const issue of issues) {
        assert.equal(typeof issue.message, "string");
        assert.ok((issue.message as string).length > 0);
        assert.ok(Array.isArray(issue.path));
        assert.deepEqual(Object.keys(issue).sort(), ["message", "path"]);
      }
      assert.deepEqual(issues.map((i) => i.path).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [["age"], ["name"], ["tags", 1]]);
    });

    test(`missing params answer INVALID_PARAMS with an empty path (${label})`, async () => {
      const res = await call(which(), "createUser");
      assertError(res, "INVALID_PARAMS");
      assert.deepEqual(res.result.data.issues.map((i: { path: unknown }) => i.path), [[]]);
    });

    test(`good params reach handle() parsed: coerced and defaulted (${label})`, async () => {
      const res = await call(which(), "createUser", { name: "Ann", age: "42" });
      assert.deepEqual(res, {
        out: "createUser",
        result: { user: { name: "Ann", age: 42, role: "user", tags: [] }, ageType: "number", nextAge: 43 },
      });
      const full = await call(which(), "createUser", { name: "Bo", age: 7, role: "admin", tags: ["x"], extra: "dropped" });
      assert.deepEqual(full.result.user, { name: "Bo", age: 7, role: "admin", tags: ["x"] });
    });

    test(`validation runs after the handler's @Use middleware, right before handle() (${label})`, async () => {
      assert.deepEqual(await call(which(), "coerce", { n: "7" }), { out: "coerce", result: { n: 7, rawType: "string" } });
    });
  }
});

// ---------------------------------------------------------------------------
describe("in-flight limits", () => {
  test("maxInflightPerConnection 2: a third concurrent request on one connection answers RESOURCE_EXHAUSTED", async () => {
    const a = await open(limited);
    a.write(
      Buffer.concat([
        request("sleep", { ms: 2_000 }, { id: 1 }),
        request("sleep", { ms: 2_000 }, { id: 2 }),
        request("sleep", { ms: 2_000 }, { id: 3 }),
      ]),
    );
    const third = await a.read(5_000);
    assertError(third, "RESOURCE_EXHAUSTED", 3);
    assert.match(third.result.message, /connection/);

    // Another connection is not limited by this one's count.
    const other = await call(limited, "sleep", { ms: 20 }, { id: "b" });
    assert.deepEqual(other, { out: "sleep", result: "slept", id: "b" });

    const firstTwo = await readById(a, 2, 8_000);
    assert.deepEqual(firstTwo.get(1), { out: "sleep", result: "slept", id: 1 });
    assert.deepEqual(firstTwo.get(2), { out: "sleep", result: "slept", id: 2 });

    // Answered requests free their places.
    a.write(Buffer.concat([request("sleep", { ms: 20 }, { id: 4 }), request("sleep", { ms: 20 }, { id: 5 })]));
    const again = await readById(a, 2);
    assert.equal(again.get(4)?.result, "slept");
    assert.equal(again.get(5)?.result, "slept");
  });

  test("maxInflightPerWorker 2: the limit spans connections", async () => {
    const a = await open(workerLimited);
    const b = await open(workerLimited);
    const c = await open(workerLimited);
    // Frames on one connection run in order: the ping's answer proves the sleep before it is running.
    a.write(Buffer.concat([request("sleep", { ms: 2_500 }, { id: "a1" }), request("ping", "a", { id: "a2" })]));
    assert.deepEqual(await a.read(), { out: "pong", result: "a", id: "a2" });
    b.write(Buffer.concat([request("sleep", { ms: 2_500 }, { id: "b1" }), request("ping", "b", { id: "b2" })]));
    const bPing = await b.read();
    assertError(bPing, "RESOURCE_EXHAUSTED", "b2");
    assert.match(bPing.result.message, /worker/);

    c.write(request("sleep", { ms: 20 }, { id: "c1" }));
    const cFirst = await c.read();
    assertError(cFirst, "RESOURCE_EXHAUSTED", "c1");
    assert.match(cFirst.result.message, /worker/);
    // Full, yet rpc.health answers, and says so.
    c.write(request("rpc.health", null, { id: "c-health" }));
    const health = await c.read();
    assert.equal(health.out, "rpc.health", JSON.stringify(health));
    assert.equal(health.result.inflight, 2);

    assert.deepEqual(await a.read(8_000), { out: "sleep", result: "slept", id: "a1" });
    assert.deepEqual(await b.read(8_000), { out: "sleep", result: "slept", id: "b1" });
    c.write(request("sleep", { ms: 20 }, { id: "c2" }));
    assert.deepEqual(await c.read(), { out: "sleep", result: "slept", id: "c2" });
  });
});

// ---------------------------------------------------------------------------
describe("auth", () => {
  test("no token or an unknown token answers UNAUTHENTICATED; a known token is accepted", async () => {
    assertError(await call(authed, "whoami", null, { id: 1 }), "UNAUTHENTICATED", 1);
    assertError(await call(authed, "whoami", null, { meta: { token: "" } }), "UNAUTHENTICATED");
    assertError(await call(authed, "whoami", null, { meta: { token: 42 } }), "UNAUTHENTICATED");
    assertError(await call(authed, "whoami", null, { meta: { token: "wrong" } }), "UNAUTHENTICATED");
    assert.deepEqual(await call(authed, "whoami", null, { meta: { token: "t-user" } }), {
      out: "whoami",
      result: { principal: { id: "user", scopes: ["read"] } },
    });
  });

  test("a public method needs no token, and neither does rpc.health; rpc.discover does (test/integration/introspection.test.ts)", async () => {
    assert.deepEqual(await call(authed, "publicPing", 1), { out: "publicPing", result: { public: true, params: 1 } });
    assertError(await call(authed, "rpc.discover"), "UNAUTHENTICATED");
    assert.equal((await call(authed, "rpc.discover", null, { meta: { token: "t-user" } })).out, "rpc.discover");
    assert.equal((await call(authed, "rpc.health")).out, "rpc.health");
  });

  test("scopes: PERMISSION_DENIED for a principal without the scope, accepted with it", async () => {
    const denied = await call(authed, "adminOnly", null, { id: "d", meta: { token: "t-user" } });
    assertError(denied, "PERMISSION_DENIED", "d");
    assert.match(denied.result.message, /admin/);
    assert.deepEqual(await call(authed, "adminOnly", null, { meta: { token: "t-admin" } }), {
      out: "adminOnly",
      result: { admin: true, principal: "admin" },
    });
  });

  test("an async verify function resolving a service from ctx.container decides unknown tokens", async () => {
    assert.deepEqual(await call(authed, "whoami", null, { meta: { token: "v-plain" } }), {
      out: "whoami",
      result: { principal: { id: "verified-plain", scopes: [], via: "verify (auth on)" } },
    });
    assertError(await call(authed, "adminOnly", null, { meta: { token: "v-plain" } }), "PERMISSION_DENIED");
    assert.deepEqual(await call(authed, "adminOnly", null, { meta: { token: "v-admin" } }), {
      out: "adminOnly",
      result: { admin: true, principal: "verified-admin" },
    });
  });

  test("auth runs before validation: a bad token is refused before params are looked at", async () => {
    assertError(await call(authed, "createUser", { name: "" }), "UNAUTHENTICATED");
    assertError(await call(authed, "createUser", { name: "" }, { meta: { token: "t-user" } }), "INVALID_PARAMS");
  });
});

// ---------------------------------------------------------------------------
describe("access log", () => {
  test("one JSON line per request with method, ms, out or code, and peer; no params unless asked", async () => {
    const peer = await open(authed);
    const localPeer = `127.0.0.1:${peer.socket.localPort}`;
    peer.write(request("publicPing", { secret: "hunter2" }, { id: "log-ok" }));
    assert.equal((await peer.read()).out, "publicPing");
    peer.write(request("whoami", null, { id: "log-unauth" }));
    assertError(await peer.read(), "UNAUTHENTICATED", "log-unauth");
    peer.write(request("adminOnly", null, { id: "log-denied", meta: { token: "t-user" } }));
    assertError(await peer.read(), "PERMISSION_DENIED", "log-denied");

    const [ok] = await linesFor(authed, "log-ok");
    const [unauth] = await linesFor(authed, "log-unauth");
    const [denied] = await linesFor(authed, "log-denied");
    for (const [line, id] of [[ok, "log-ok"], [unauth, "log-unauth"], [denied, "log-denied"]] as const) {
      assert.ok(line !== undefined, `no access-log line for ${id}:\n${authed.stderr()}`);
      assert.equal(accessLines(authed).filter((l) => l.id === id).length, 1, `one line for ${id}`);
      assert.equal(line.level, 30, "level info");
      assert.equal(line.peer, localPeer);
      assert.equal(typeof line.ms, "number");
      assert.ok(line.ms >= 0);
      assert.equal(line.pid, authed.pid);
      assert.equal("params" in line, false, `params logged: ${JSON.stringify(line)}`);
    }
    assert.equal(ok?.method, "publicPing");
    assert.equal(ok?.out, "publicPing");
    assert.equal("code" in (ok ?? {}), false);
    assert.equal(unauth?.method, "whoami");
    assert.equal(unauth?.code, "UNAUTHENTICATED");
    assert.equal("out" in (unauth ?? {}), false);
    assert.equal(denied?.code, "PERMISSION_DENIED");
    assert.doesNotMatch(authed.stderr(), /hunter2/, "params must not be logged");
    assert.doesNotMatch(authed.stderr(), /t-user/, "tokens must not be logged");
  });

  test("a request answered DEADLINE_EXCEEDED is logged with that code", async () => {
    const res = await call(authed, "sleep", { ms: 300 }, { id: "log-deadline", meta: { token: "t-user", timeoutMs: 100 } });
    assertError(res, "DEADLINE_EXCEEDED", "log-deadline");
    const lines = await linesFor(authed, "log-deadline");
    assert.equal(lines.length, 1, `lines: ${JSON.stringify(lines)}`);
    const line = lines[0] as Record<string, any>;
    assert.equal(line.code, "DEADLINE_EXCEEDED", `the client was answered DEADLINE_EXCEEDED but the log says ${JSON.stringify(line)}`);
    assert.equal("out" in line, false);
  });

  test("params: true logs params; the level is configurable; INTERNAL is logged at error", async () => {
    assert.deepEqual(await call(workerLimited, "ping", { a: 1 }, { id: "log-params" }), { out: "pong", result: { a: 1 }, id: "log-params" });
    assertError(await call(workerLimited, "boom", null, { id: "log-boom" }), "INTERNAL", "log-boom");
    const [line] = await linesFor(workerLimited, "log-params");
    assert.ok(line !== undefined, workerLimited.stderr());
    assert.equal(line.level, 40, "level warn");
    assert.deepEqual(line.params, { a: 1 });
    assert.equal(line.out, "pong");
    const [boom] = await linesFor(workerLimited, "log-boom");
    assert.ok(boom !== undefined, workerLimited.stderr());
    assert.equal(boom.level, 50, "INTERNAL at error whatever the level");
    assert.equal(boom.code, "INTERNAL");
  });

  test("sampleRate 0 writes no line", async () => {
    const peer = await open(limited);
    for (let i = 0; i < 5; i++) {
      peer.write(request("ping", i, { id: `sampled-${i}` }));
      assert.equal((await peer.read()).result, i);
    }
    // boom's own error line (written after any access line would be) marks that the worker got this far.
    assertError(await call(limited, "boom", null, { id: "sampled-boom" }), "INTERNAL");
    await waitForStderr(limited, /boom threw/);
    assert.deepEqual(accessLines(limited), [], limited.stderr());
  });
});

// ---------------------------------------------------------------------------
describe("middleware order", () => {
  const EXPECTED = [
    "global>",
    "plugin-10a>",
    "plugin-10b>",
    "plugin-20>",
    "use-fn>",
    "use-class>",
    "handler",
    "<use-class",
    "<use-fn",
    "<plugin-20",
    "<plugin-10b",
    "<plugin-10a",
    "<global",
  ];

  test("global -> plugin @Middleware (by order, then class name) -> @Use (as written) -> handler, and back out in reverse", async () => {
    assert.deepEqual(await call(main, "order"), { out: "order", result: EXPECTED });
  });

  test("stacked @Use decorators keep the order they are written in", async () => {
    assert.deepEqual(await call(main, "orderStacked"), { out: "orderStacked", result: EXPECTED });
  });

  test("a middleware calling next() twice answers INTERNAL, and the worker keeps serving", async () => {
    const peer = await open(main);
    peer.write(request("twice", null, { id: 1 }));
    const res = await peer.read();
    assertError(res, "INTERNAL", 1);
    assert.equal(res.result.message, "internal error");
    peer.write(request("ping", "still", { id: 2 }));
    assert.deepEqual(await peer.read(), { out: "pong", result: "still", id: 2 });
    assert.deepEqual(await call(main, "twiceRuns"), { out: "twiceRuns", result: 1 }, "the handler ran once");
  });

  test("a middleware that does not call next() answers with what it put in ctx.response", async () => {
    assert.deepEqual(await call(main, "shortCircuit", null, { id: "sc" }), {
      out: "cached",
      result: { cached: true, trail: ["global>", "plugin-10a>", "plugin-10b>", "plugin-20>"] },
      id: "sc",
    });
  });

  test("a middleware may rewrite ctx.response.out and .result after next()", async () => {
    assert.deepEqual(await call(main, "rewrite", { n: 3 }), { out: "rewritten", result: { wrapped: { n: 3 } } });
  });

  test("code after await next() sees the handler's error, and may turn it into an answer", async () => {
    assert.deepEqual(await call(main, "recover"), { out: "recovered", result: { code: "NOT_FOUND" } });
  });
});

// ---------------------------------------------------------------------------
describe("introspection", () => {
  test("rpc.discover lists every fixture method with out, description, and params as JSON Schema", async () => {
    const res = await call(main, "rpc.discover");
    assert.equal(res.out, "rpc.discover");
    const methods = res.result.methods as Array<Record<string, any>>;
    const declared = declaredMethods(join(FIXTURE, "plugins"));
    assert.equal(declared.length, 18, "the fixture's own count, so a broken scan cannot pass");
    assert.deepEqual(methods.map((m) => m.name).sort(), [...declared.map((d) => d.name), "rpc.discover", "rpc.health"].sort());
    for (const d of declared) {
      const m = methods.find((x) => x.name === d.name) as Record<string, any>;
      assert.equal(m.out, d.out, d.name);
      assert.equal(m.description, d.description, d.name);
      assert.equal("params" in m, d.hasParams, `${d.name}: params ${d.hasParams ? "missing" : "unexpected"}`);
    }
    const createUser = methods.find((m) => m.name === "createUser") as Record<string, any>;
    assert.equal(createUser.params.type, "object");
    assert.deepEqual(Object.keys(createUser.params.properties).sort(), ["age", "name", "role", "tags"]);
    assert.deepEqual([...createUser.params.required].sort(), ["age", "name"]);
    assert.equal(createUser.params.properties.name.type, "string");
    assert.deepEqual(createUser.params.properties.role.enum, ["user", "admin"]);
    const byName = (n: string) => methods.find((m) => m.name === n) as Record<string, any>;
    assert.equal(byName("sleepCapped").timeoutMs, CAPPED_MS);
    assert.equal(byName("publicPing").public, true);
    assert.deepEqual(byName("adminOnly").scopes, ["admin"]);
    assert.equal(byName("ping").out, "pong");
    assert.equal(byName("rpc.health").public, true);
  });

  test("introspection: { discover: false } answers METHOD_NOT_FOUND for rpc.discover; rpc.health stays", async () => {
    assertError(await call(bare, "rpc.discover", null, { id: 1 }), "METHOD_NOT_FOUND", 1);
    assert.equal((await call(bare, "rpc.health")).out, "rpc.health");
  });

  test("rpc.health answers pid, uptimeMs, inflight, served and a 16-hex-char registryHash", async () => {
    const first = await call(bare, "rpc.health");
    assert.equal(first.out, "rpc.health");
    const h = first.result;
    assert.equal(h.pid, bare.pid);
    assert.ok(Number.isInteger(h.uptimeMs) && h.uptimeMs >= 0, `uptimeMs ${h.uptimeMs}`);
    assert.ok(Number.isInteger(h.inflight) && h.inflight >= 0);
    assert.ok(Number.isInteger(h.served) && h.served >= 0);
    assert.match(h.registryHash, /^[0-9a-f]{16}$/);
    const second = (await call(bare, "rpc.health")).result;
    assert.ok(second.served > h.served, "served counts answered requests");
    assert.ok(second.uptimeMs >= h.uptimeMs);
    assert.equal(second.registryHash, h.registryHash);

    // A sleep in flight on another connection shows in inflight, and leaves it once answered.
    const peer = await open(bare);
    // Ids, so the ping's answer may overtake the sleep's.
    peer.write(Buffer.concat([request("sleep", { ms: 5_000, key: "health-inflight" }, { id: 1 }), request("ping", "sync", { id: 2 })]));
    assert.deepEqual(await peer.read(), { out: "pong", result: "sync", id: 2 });
    const busy = (await call(bare, "rpc.health")).result;
    assert.ok(busy.inflight >= 1, `inflight ${busy.inflight} while a sleep runs`);
    peer.close(); // the client goes: the sleeper's signal aborts and it answers (to nobody)
    let idle = busy;
    for (let i = 0; i < 100 && idle.inflight !== 0; i++) {
      await sleep(30);
      idle = (await call(bare, "rpc.health")).result;
    }
    assert.equal(idle.inflight, 0);
  });

  describe("against the repo's example plugins", () => {
    let example: Served;
    before(async () => {
      // No --config: the repo's own rpc.config.ts and plugins/.
      example = await serve({ timeoutMs: 60_000 });
    });
    after(async () => {
      await example?.stop();
    });

    test("rpc.discover lists every example plugin, with params schemas where declared", async () => {
      const declared = declaredMethods(join(ROOT, "plugins"));
      for (const name of ["ping", "echo", "sum", "stats"]) assert.ok(declared.some((d) => d.name === name), `plugins/ declares ${name}`);
      const res = await call(example, "rpc.discover");
      const methods = res.result.methods as Array<Record<string, any>>;
      assert.deepEqual(methods.map((m) => m.name).sort(), [...declared.map((d) => d.name), "rpc.discover", "rpc.health"].sort());
      for (const d of declared) {
        const m = methods.find((x) => x.name === d.name) as Record<string, any>;
        assert.equal(m.out, d.out, d.name);
        assert.equal(m.description, d.description, d.name);
        if (d.hasParams) {
          assert.equal(typeof m.params, "object", `${d.name} declares params: its JSON Schema is missing`);
          assert.equal(typeof m.params.type, "string", `${d.name}: ${JSON.stringify(m.params)}`);
        } else {
          assert.equal("params" in m, false, d.name);
        }
      }
      const sum = methods.find((m) => m.name === "sum") as Record<string, any>;
      assert.equal(sum.params.type, "array");
      assert.equal(sum.params.items.type, "number");
    });
  });

  describe("registryHash across workers and code changes", () => {
    const running: Served[] = [];

    after(async () => {
      await Promise.all(running.map((s) => s.stop()));
      removeTempApps();
    });

    /** A copy of test/fixtures/middleware/hash in a fresh temp app folder. */
    function tempCopy(): string {
      const dir = tempApp("forkrpc-mw-hash-", {});
      cpSync(join(FIXTURE, "hash"), dir, { recursive: true });
      return dir;
    }

    async function start(dir: string, args: string[] = [], cwd?: string): Promise<Served> {
      // Plugins are found next to the config, whatever the working folder.
      const s = await serve({ args: ["--config", join(dir, "rpc.config.ts"), ...args], timeoutMs: 60_000, cwd });
      running.push(s);
      return s;
    }

    async function stop(s: Served): Promise<void> {
      running.splice(running.indexOf(s), 1);
      await s.stop();
    }

    /** rpc.health from fresh connections until `workers` distinct pids answered (bounded). */
    async function healthByPid(s: Served, workers: number): Promise<Map<number, any>> {
      const byPid = new Map<number, any>();
      for (let i = 0; i < 40 && byPid.size < workers; i++) {
        const res = await call(s, "rpc.health");
        assert.equal(res.out, "rpc.health", JSON.stringify(res));
        byPid.set(res.result.pid, res.result);
      }
      assert.equal(byPid.size, workers, `saw pids ${[...byPid.keys()].join(", ")}`);
      return byPid;
    }

    let dirA = "";
    let hashA = "";

    test("two workers of one server report the same registryHash", async () => {
      dirA = tempCopy();
      const s = await start(dirA, ["--workers", "2", "--accept", "round-robin"]);
      try {
        const byPid = await healthByPid(s, 2);
        assert.equal(byPid.has(s.pid), false, "workers answer, not the master");
        const hashes = [...byPid.values()].map((h) => h.registryHash);
        for (const hash of hashes) assert.match(hash, /^[0-9a-f]{16}$/);
        assert.equal(hashes[0], hashes[1]);
        hashA = hashes[0];
      } finally {
        await stop(s);
      }
    });

    test("the registryHash changes when a plugin file changes", async () => {
      assert.ok(hashA !== "", "needs the previous test's hash");
      const plugin = join(dirA, "plugins", "hello.ts");
      writeFileSync(plugin, readFileSync(plugin, "utf8").replace('return "hello";', 'return "hello, changed";'));
      const s = await start(dirA);
      try {
        assert.deepEqual(await call(s, "hello"), { out: "hello", result: "hello, changed" });
        const h = (await call(s, "rpc.health")).result;
        assert.match(h.registryHash, /^[0-9a-f]{16}$/);
        assert.notEqual(h.registryHash, hashA);
      } finally {
        await stop(s);
      }
    });

    test("the same code in another folder reports the same registryHash", async () => {
      // docs/middleware.md: registryHash "tells whether all workers (and all servers) run the same code".
      // Started from different working folders: nothing in the hash may depend on it.
      const one = tempCopy();
      const two = tempCopy();
      const [s1, s2] = await Promise.all([start(one), start(two, [], tmpdir())]);
      try {
        const [h1, h2] = await Promise.all([call(s1, "rpc.health"), call(s2, "rpc.health")]);
        assert.equal(h1.result.registryHash, h2.result.registryHash, `identical copies at ${one} and ${two}`);
      } finally {
        await Promise.all([stop(s1), stop(s2)]);
      }
    });
  });
});

// ---------------------------------------------------------------------------
describe("fast path", () => {
  test("a method with no middleware at all still answers (sanity; no timing)", async () => {
    const peer = await open(bare);
    peer.write(Buffer.concat([request("ping", 1, { id: 1 }), request("ping", { a: [1, 2] }), request("boom", null, { id: 3 })]));
    assert.deepEqual(await peer.read(), { out: "pong", result: 1, id: 1 });
    assert.deepEqual(await peer.read(), { out: "pong", result: { a: [1, 2] } });
    assertError(await peer.read(), "INTERNAL", 3);
    peer.write(request("ping", "again"));
    assert.deepEqual(await peer.read(), { out: "pong", result: "again" });
  });
});

describe("@Use middleware classes", () => {
  after(removeTempApps);

  test("a class whose use is an arrow-function property is constructed, and it and what it injects get lifecycle hooks", async () => {
    const dir = tempApp("forkrpc-use-class-", {
      "rpc.config.ts": `import { defineConfig } from "forkrpc";\nexport default defineConfig({ plugins: ["plugins/**/*.ts"] });\n`,
      "plugins/probe.ts": `import { Rpc, Use, injectable, singleton, type MiddlewareContext } from "forkrpc";

@singleton()
export class Pool {
  started = false;
  onWorkerStart() { this.started = true; }
}

@injectable()
export class Stamp {
  started = false;
  constructor(private readonly pool: Pool) {}
  onWorkerStart() { this.started = true; }
  use = async (ctx: MiddlewareContext, next: () => Promise<void>) => {
    await next();
    ctx.response.result = { handler: ctx.response.result, stampStarted: this.started, poolStarted: this.pool.started };
  };
}

@Use(Stamp)
@Rpc("probe")
export class Probe {
  handle() { return "ran"; }
}
`,
    });
    const served = await serve({ args: ["--config", join(dir, "rpc.config.ts")] });
    try {
      const answer = await callOnce(served.port, "probe", null);
      assert.deepEqual(answer, { out: "probe", result: { handler: "ran", stampStarted: true, poolStarted: true } }, served.stderr());
    } finally {
      await served.stop();
    }
  });
});
