/**
 * RpcClient against a real `forkrpc serve` (one process): pipelining,
 * multiplexing, deadlines and meta, errors, retries of UNAVAILABLE answers,
 * close() and destroy().
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RpcClient, RpcError, type ClientOptions } from "forkrpc/client";
import { serve, type Served } from "../helpers/server.ts";
import { CONFIG, outcome } from "./helpers.ts";
import type { Ping, Echo } from "../fixtures/client/plugins/ping.ts";
import type { Sleep } from "../fixtures/client/plugins/sleep.ts";

describe("RpcClient against one server", () => {
  let served: Served;
  before(async () => {
    served = await serve({ args: ["--config", CONFIG], timeoutMs: 60_000 });
  });
  after(async () => {
    await served?.stop();
  });

  function client(options: Partial<ClientOptions> = {}) {
    return new RpcClient({ host: "127.0.0.1", port: served.port, ...options });
  }

  test("call resolves to the result; request to { out, result }", async () => {
    const c = client();
    try {
      assert.equal(await c.call<typeof Ping>("ping", "hello", { timeoutMs: 500 }), "hello");
      assert.deepEqual(await c.request("ping", "hello"), { out: "pong", result: "hello" });
      assert.equal(await c.call("echo"), null, "params default to null");
    } finally {
      await c.close();
    }
  });

  for (const connections of [1, 2]) {
    test(`10,000 pipelined calls on one client (${connections} connection${connections > 1 ? "s" : ""}) all resolve with the right results`, async (t) => {
      const c = client({ connections });
      try {
        const t0 = performance.now();
        const results = await Promise.all(Array.from({ length: 10_000 }, (_, i) => c.call<typeof Echo>("echo", { i, s: `n${i}` })));
        const ms = performance.now() - t0;
        t.diagnostic(`10,000 calls in ${ms.toFixed(0)} ms over ${connections} connection(s)`);
        results.forEach((r, i) => assert.deepEqual(r, { i, s: `n${i}` }));
        const stats = c.stats();
        assert.equal(stats.outstanding, 0);
        assert.equal(stats.opened, connections);
        assert.equal(stats.retries, 0);
      } finally {
        await c.close();
      }
    });
  }

  test("id-multiplexed calls come back as each finishes, a slow one in between", async () => {
    const c = client({ connections: 1 });
    try {
      const order: string[] = [];
      const t0 = performance.now();
      const slow = c.call<typeof Sleep>("sleep", { ms: 1_000, tag: "slow" }).then((r) => (order.push("slow"), r));
      const medium = c.call<typeof Sleep>("sleep", { ms: 400, tag: "medium" }).then((r) => (order.push("medium"), r));
      const pings = Array.from({ length: 50 }, (_, i) => c.call("ping", `p${i}`).then((r) => (order.push("ping"), r)));
      const pinged = await Promise.all(pings);
      const pingsDone = performance.now() - t0;
      assert.deepEqual(pinged, Array.from({ length: 50 }, (_, i) => `p${i}`));
      assert.ok(pingsDone < 900, `pings answered after ${pingsDone.toFixed(0)} ms, not behind the slow call`);
      assert.equal((await medium).tag, "medium");
      assert.equal((await slow).tag, "slow");
      assert.ok(performance.now() - t0 >= 990);
      assert.deepEqual(order, [...Array(50).fill("ping"), "medium", "slow"]);
    } finally {
      await c.close();
    }
  });

  test("a client timeout rejects with DEADLINE_EXCEEDED in about the time asked, and the server saw meta.timeoutMs", async () => {
    const c = client({ meta: { token: "t-1" } });
    try {
      // Connected first: what the request carries is then the 300 ms less
      // only the time to its write, not a connect on a busy machine.
      await c.call("seenMeta", { key: "nothing yet" });
      const t0 = performance.now();
      const r = await outcome(c.call("recordMeta", { key: "deadline", ms: 3_000 }, { timeoutMs: 300, meta: { trace: "abc" } }));
      const took = performance.now() - t0;
      assert.equal(r.ok, false);
      const error = (r as { error: RpcError }).error;
      assert.ok(RpcError.is(error));
      assert.equal(error.code, "DEADLINE_EXCEEDED");
      // Whichever gives up first says so: the client's own timer, or the
      // server enforcing the meta.timeoutMs the client sent (same code).
      assert.match(error.message, /recordMeta within 300 ms|deadline of \d+ ms exceeded/);
      assert.ok(took >= 250 && took < 1_000, `rejected after ${took.toFixed(0)} ms`);

      const seen = (await c.call("seenMeta", { key: "deadline" })) as Record<string, unknown>;
      assert.equal(seen.token, "t-1", "the client's meta is sent");
      assert.equal(seen.trace, "abc", "the call's meta is merged in");
      assert.equal(typeof seen.timeoutMs, "number");
      // What is left of the 300 ms when the request is written, never more.
      assert.ok((seen.timeoutMs as number) > 150 && (seen.timeoutMs as number) <= 300, `meta.timeoutMs ${seen.timeoutMs}`);
    } finally {
      await c.close();
    }
  });

  test("the client's default timeoutMs applies, and 0 sends no meta.timeoutMs", async () => {
    const c = client({ timeoutMs: 250 });
    try {
      const r = await outcome(c.call("sleep", { ms: 2_000 }));
      assert.equal(!r.ok && r.error.code, "DEADLINE_EXCEEDED");
      await c.call("recordMeta", { key: "no-deadline" }, { timeoutMs: 0 });
      assert.deepEqual(await c.call("seenMeta", { key: "no-deadline" }), {});
    } finally {
      await c.close();
    }
  });

  test("error responses become RpcError with the server's code, message and data", async () => {
    const c = client();
    try {
      const app = await outcome(c.call("fail", { code: "APP_NOT_FOUND", message: "no user 7", data: { id: 7 } }));
      assert.ok(!app.ok && RpcError.is(app.error));
      assert.equal(app.error.code, "APP_NOT_FOUND");
      assert.equal(app.error.message, "no user 7");
      assert.deepEqual(app.error.data, { id: 7 });

      const missing = await outcome(c.call("noSuchMethod"));
      assert.equal(!missing.ok && missing.error.code, "METHOD_NOT_FOUND");
      const params = await outcome(c.call("sleep", { ms: -1 }));
      assert.equal(!params.ok && params.error.code, "INVALID_PARAMS");
      const internal = await outcome(c.call("crash"));
      assert.ok(!internal.ok);
      assert.equal(internal.error.code, "INTERNAL");
      assert.doesNotMatch(internal.error.message, /a bug/);
      assert.equal(c.stats().retries, 0, "errors are not retried");
    } finally {
      await c.close();
    }
  });

  test("a call answered UNAVAILABLE is sent again, transparently, up to maxRetries", async () => {
    const c = client({ connections: 2, maxRetries: 3 });
    try {
      assert.equal(await c.call("flaky", { key: "twice", times: 2 }), 3, "ran on the third send");
      assert.equal(c.stats().retries, 2);
      const r = await outcome(c.call("flaky", { key: "always", times: 100 }));
      assert.ok(!r.ok);
      assert.equal(r.error.code, "UNAVAILABLE");
      assert.equal(r.error.message, "not yet (run 4)", "the server's error, after 1 + 3 sends");
    } finally {
      await c.close();
    }
  });

  test("requests that cannot be encoded or are too large are refused before sending", async () => {
    const c = client({ maxRequestBytes: 1_000 });
    try {
      const big = await outcome(c.call("echo", 1n as unknown));
      assert.equal(!big.ok && big.error.code, "INVALID_PARAMS");
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const cyc = await outcome(c.call("echo", {}, { meta: cyclic }));
      assert.equal(!cyc.ok && cyc.error.code, "INVALID_REQUEST");
      const large = await outcome(c.call("echo", "x".repeat(2_000)));
      assert.equal(!large.ok && large.error.code, "FRAME_TOO_LARGE");
      const wrong = await outcome(c.call("echo", 1, { timeoutMs: -5 }));
      assert.ok(!wrong.ok && wrong.error instanceof TypeError);
      assert.equal(await c.call("echo", "x".repeat(300)), "x".repeat(300), "the connection is fine");
      assert.equal(c.stats().opened, 1);
    } finally {
      await c.close();
    }
  });

  test("close() refuses new calls, waits for outstanding ones, then closes", async () => {
    const c = client();
    const slow = c.call<typeof Sleep>("sleep", { ms: 300, tag: "in flight" });
    let slowDone = false;
    void slow.then(() => (slowDone = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = c.close();
    assert.equal(c.close(), closed, "close() is idempotent");
    const late = await outcome(c.call("ping", "late"));
    assert.equal(!late.ok && late.error.code, "UNAVAILABLE");
    await closed;
    assert.ok(slowDone, "close() resolved only after the call in flight was answered");
    assert.equal((await slow).tag, "in flight");
    assert.equal(c.stats().connections, 0);
  });

  test("destroy() rejects everything now", async () => {
    const c = client();
    const slow = outcome(c.call("sleep", { ms: 2_000 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const t0 = performance.now();
    c.destroy();
    const r = await slow;
    assert.ok(performance.now() - t0 < 100);
    assert.ok(!r.ok);
    assert.equal(r.error.code, "UNAVAILABLE");
    assert.deepEqual(r.error.data, { mayHaveRun: true });
    const after = await outcome(c.call("ping", "x"));
    assert.equal(!after.ok && after.error.code, "UNAVAILABLE");
    await c.close(); // resolves at once
  });
});
