/**
 * RpcClient against raw servers written in the test: garbage answers never
 * crash the client. They close that connection and fail or retry its calls
 * with a clear error; a goaway is obeyed to the letter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { RpcClient } from "forkrpc/client";
import { RawServer, outcome, waitFor, type RawConnection, type RawRequest } from "./helpers.ts";

const prefix = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** What a broken server answers to a request, and the message the client must give. */
const GARBAGE: Array<{ name: string; answer: (req: RawRequest) => string | Buffer | object; why: RegExp }> = [
  { name: "not JSON", answer: () => "this is not json{", why: /not JSON/ },
  { name: "not an object", answer: () => "[1,2,3]", why: /not a JSON object/ },
  { name: "no out", answer: (req) => ({ result: 1, id: req.id }), why: /`out` is missing/ },
  { name: "an id of the wrong type", answer: () => ({ out: "pong", result: 1, id: { x: 1 } }), why: /`id` is not a string or a finite number/ },
  { name: "an unknown id", answer: () => ({ out: "pong", result: 1, id: 999_999 }), why: /id 999999, which this client never sent/ },
  { name: "a string id", answer: (req) => ({ out: "pong", result: 1, id: String(req.id) }), why: /never sent/ },
  { name: "no id", answer: () => ({ out: "pong", result: 1 }), why: /an answer without an id/ },
  { name: "an error without a code", answer: (req) => ({ out: "error", result: { message: "x" }, id: req.id }), why: /no string `code` and `message`/ },
  { name: "a zero length prefix", answer: () => prefix(0), why: /BAD_FRAME/ },
  { name: "a length prefix past maxResponseBytes", answer: () => Buffer.concat([prefix(2 ** 31), Buffer.from("{")]), why: /FRAME_TOO_LARGE/ },
  { name: "deep nesting", answer: () => "[".repeat(600) + "]".repeat(600), why: /nested deeper/ },
  { name: "invalid UTF-8 in a string", answer: () => Buffer.concat([prefix(3), Buffer.from([0x22, 0xff, 0x22])]), why: /`out` is missing|not a JSON object/ },
];

for (const { name, answer, why } of GARBAGE) {
  test(`a response with ${name} closes the connection and rejects the call with a clear error`, async () => {
    const raw = await RawServer.start((conn, req) => conn.send(answer(req)));
    const client = new RpcClient({ port: raw.port, reconnectDelayMs: 1_000, reconnectDelayMaxMs: 1_000 });
    try {
      const t0 = performance.now();
      const r = await outcome(client.call("ping", "x", { timeoutMs: 3_000 }));
      assert.ok(performance.now() - t0 < 1_000, "at once, not at the deadline");
      assert.ok(!r.ok);
      assert.equal(r.error.code, "UNAVAILABLE");
      assert.match(r.error.message, /connection lost; the request may have run \(malformed response from the server: /);
      assert.match(r.error.message, why);
      await waitFor("the client to close the connection", () => raw.connections[0]!.socket.destroyed || raw.connections[0]!.ended);
    } finally {
      client.destroy();
      await raw.close();
    }
  });
}

test("after garbage on one connection, calls there are retried (unsent, or idempotent) and the client goes on", async () => {
  // Connection 0 answers its first request with garbage; later connections answer properly.
  const raw = await RawServer.start((conn, req) => {
    if (conn.index === 0) conn.send("garbage");
    else conn.send({ out: "pong", result: req.params, id: req.id });
  });
  const client = new RpcClient({ port: raw.port, reconnectDelayMs: 10, reconnectDelayMaxMs: 50 });
  try {
    const idempotent = client.call("ping", "again", { idempotent: true, timeoutMs: 3_000 });
    const plain = outcome(client.call("ping", "once", { timeoutMs: 3_000 }));
    assert.equal(await idempotent, "again");
    const lost = await plain;
    assert.ok(!lost.ok && lost.error.code === "UNAVAILABLE", "the plain call may have run, so it fails");
    assert.equal(await client.call("ping", "later"), "later");
    assert.equal(raw.connections.length, 2);
    assert.deepEqual(
      raw.connections[1]!.requests.map((r) => r.params),
      ["again", "later"],
    );
  } finally {
    client.destroy();
    await raw.close();
  }
});

test("a server that closes without answering: the call may have run, so it fails unless idempotent", async () => {
  // The first connection answers nothing and is cut once both calls are on
  // it; later connections answer.
  const raw = await RawServer.start((conn, req) => {
    if (conn.index !== 0) conn.send({ out: "pong", result: req.params, id: req.id });
    else if (conn.requests.length === 2) setTimeout(() => conn.socket.destroy(), 20);
  });
  const client = new RpcClient({ port: raw.port, reconnectDelayMs: 10, reconnectDelayMaxMs: 50 });
  try {
    const [plain, idempotent] = await Promise.all([
      outcome(client.call("ping", "plain")),
      outcome(client.call("ping", "idem", { idempotent: true })),
    ]);
    assert.ok(!plain.ok);
    assert.equal(plain.error.code, "UNAVAILABLE");
    assert.match(plain.error.message, /connection lost; the request may have run/);
    assert.deepEqual(idempotent, { ok: true, value: "idem" });
    assert.deepEqual(raw.connections[0]!.requests.map((r) => r.params), ["plain", "idem"], "both were written to the first connection");
    assert.deepEqual(raw.connections.slice(1).flatMap((c) => c.requests.map((r) => r.params)), ["idem"], "only the idempotent one was sent again");
  } finally {
    client.destroy();
    await raw.close();
  }
});

test("a server that always answers UNAVAILABLE: sent 1 + maxRetries times, alternating connections, then the server's error", async () => {
  const raw = await RawServer.start((conn, req) => {
    if (req.params === "warm") conn.send({ out: "pong", result: "warm", id: req.id });
    else conn.send({ out: "error", result: { code: "UNAVAILABLE", message: "busy elsewhere" }, id: req.id });
  });
  const client = new RpcClient({ port: raw.port, connections: 2, maxRetries: 4 });
  try {
    await client.call("ping", "warm");
    await waitFor("both connections to open", () => client.stats().connections === 2);
    const r = await outcome(client.call("ping", "x"));
    assert.ok(!r.ok);
    assert.equal(r.error.code, "UNAVAILABLE");
    assert.equal(r.error.message, "busy elsewhere");
    const on = raw.connections.map((c) => c.requests.filter((q) => q.params === "x").length);
    assert.deepEqual(on, [3, 2], "each retry went to the other connection");
  } finally {
    client.destroy();
    await raw.close();
  }
});

test("goaway: nothing more is sent on that connection, new calls go to a fresh one, and it is closed once nothing is owed", async () => {
  let first: RawConnection | undefined;
  const raw = await RawServer.start((conn, req) => {
    if (conn.index === 0 && req.params === "slow") {
      first = conn;
      // The goaway comes before the answer it still owes, as a draining worker sends it.
      conn.send({ out: "goaway", result: { reason: "SIGTERM" } });
      setTimeout(() => conn.send({ out: "slow", result: "done", id: req.id }), 300);
    } else if (conn.index === 0) {
      conn.send({ out: "error", result: { code: "UNAVAILABLE", message: "going away" }, id: req.id });
    } else {
      conn.send({ out: "pong", result: req.params, id: req.id });
    }
  });
  const client = new RpcClient({ port: raw.port });
  try {
    const slow = client.call("ping", "slow");
    await waitFor("the goaway", () => client.stats().goaways === 1);
    const after = await Promise.all([client.call("ping", "a"), client.call("ping", "b")]);
    assert.deepEqual(after, ["a", "b"]);
    assert.equal(first!.ended, false, "still open: an answer is owed");
    assert.equal(await slow, "done");
    await waitFor("the client to end the old connection", () => first!.ended);
    assert.deepEqual(first!.requests.map((r) => r.params), ["slow"], "nothing was sent after the goaway");
    assert.deepEqual(raw.connections[1]!.requests.map((r) => r.params), ["a", "b"]);
    await delay(50);
    assert.equal(client.stats().connections, 1);
  } finally {
    await client.close();
    await raw.close();
  }
});

test("a server that sends goaway on every connection before answering anything is reconnected to with backoff, not in a spin", async () => {
  const raw = await RawServer.start((conn, req) => {
    conn.send({ out: "goaway", result: { reason: "always" } });
    conn.send({ out: "error", result: { code: "UNAVAILABLE", message: "going away" }, id: req.id });
  });
  const client = new RpcClient({ port: raw.port, maxRetries: 1_000 });
  try {
    const r = await outcome(client.call("ping", "x", { timeoutMs: 1_000 }));
    assert.ok(!r.ok);
    assert.equal(r.error.code, "DEADLINE_EXCEEDED");
    const n = raw.connections.length;
    assert.ok(n >= 3 && n <= 15, `${n} connections in 1 s`);
  } finally {
    client.destroy();
    await raw.close();
  }
});
