/**
 * The client's read timeout, against raw servers that stall in the middle of
 * an answer frame: the connection is dropped after readTimeoutMs, its calls
 * fail or are retried as on any lost connection, and the client goes on with
 * a fresh connection. Upper bounds on time are generous (a loaded machine):
 * they check that a call does fail, not how fast.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { RpcClient } from "forkrpc/client";
import { frame } from "../helpers/wire.ts";
import { RawServer, outcome, waitFor, type RawConnection, type RawRequest } from "./helpers.ts";

const READ_TIMEOUT_MS = 200;

const answer = (req: RawRequest): Buffer => frame(JSON.stringify({ out: "pong", result: req.params, id: req.id }));

/** Where an answer's bytes stop when its server stalls. */
const STALLS: Array<{ name: string; cut: (bytes: Buffer) => number }> = [
  { name: "the length and half the body", cut: (bytes) => 4 + Math.floor((bytes.length - 4) / 2) },
  { name: "two bytes of the length", cut: () => 2 },
];

const dropped = (conn: RawConnection) => conn.socket.destroyed || conn.ended;

/** A server whose first connection stalls inside its first answer; later connections answer properly. */
function stallFirst(cut: (bytes: Buffer) => number) {
  return RawServer.start((conn, req) => {
    const bytes = answer(req);
    if (conn.index === 0) conn.send(bytes.subarray(0, cut(bytes)));
    else conn.send(bytes);
  });
}

const fastReconnect = { readTimeoutMs: READ_TIMEOUT_MS, reconnectDelayMs: 10, reconnectDelayMaxMs: 50 };

for (const { name, cut } of STALLS) {
  test(`a server that sends ${name} and stalls: the call fails UNAVAILABLE after readTimeoutMs, and the next call goes to a fresh connection`, async () => {
    const raw = await stallFirst(cut);
    const client = new RpcClient({ port: raw.port, ...fastReconnect });
    try {
      const t0 = performance.now();
      const r = await outcome(client.call("ping", "stalled", { timeoutMs: 10_000 }));
      const took = performance.now() - t0;
      assert.ok(!r.ok, "it fails");
      assert.equal(r.error.code, "UNAVAILABLE");
      assert.match(r.error.message, /^connection lost; the request may have run \(the server sent part of an answer and not the rest within readTimeoutMs \(200 ms\)\)$/);
      assert.deepEqual(r.error.data, { mayHaveRun: true });
      assert.ok(took >= READ_TIMEOUT_MS, `not before readTimeoutMs: ${took} ms`);
      assert.ok(took < 3_000, `within about readTimeoutMs, not at the call's deadline: ${took} ms`);
      await waitFor("the client to drop the stalled connection", () => dropped(raw.connections[0]!));
      assert.equal(await client.call("ping", "next", { timeoutMs: 5_000 }), "next");
      assert.equal(raw.connections.length, 2);
      assert.deepEqual(raw.connections[1]!.requests.map((q) => q.params), ["next"]);
    } finally {
      client.destroy();
      await raw.close();
    }
  });
}

test("with timeoutMs: 0 a call on a stalled connection does not hang: the read timeout fails it", async () => {
  const raw = await stallFirst(STALLS[0]!.cut);
  const client = new RpcClient({ port: raw.port, timeoutMs: 0, ...fastReconnect });
  try {
    const settled = outcome(client.call("ping", "stalled"));
    const r = await Promise.race([settled, delay(5_000, "still waiting after 5 s", { ref: false })]);
    assert.ok(typeof r === "object" && !r.ok, String(r));
    assert.equal(r.error.code, "UNAVAILABLE");
    assert.match(r.error.message, /readTimeoutMs/);
    assert.equal(await client.call("ping", "next"), "next");
  } finally {
    client.destroy();
    await raw.close();
  }
});

test("calls in flight on a stalled connection: the idempotent one is sent again on a new connection, the other fails as lost", async () => {
  // The first connection stalls inside its first answer once both requests are written to it.
  const raw = await RawServer.start((conn, req) => {
    if (conn.index !== 0) return conn.send(answer(req));
    if (conn.requests.length < 2) return;
    const first = answer(conn.requests[0]!);
    conn.send(first.subarray(0, first.length - 3));
  });
  const client = new RpcClient({ port: raw.port, ...fastReconnect });
  try {
    const [idempotent, plain] = await Promise.all([
      outcome(client.call("ping", "idem", { idempotent: true, timeoutMs: 10_000 })),
      outcome(client.call("ping", "plain", { timeoutMs: 10_000 })),
    ]);
    assert.deepEqual(idempotent, { ok: true, value: "idem" });
    assert.ok(!plain.ok);
    assert.equal(plain.error.code, "UNAVAILABLE");
    assert.match(plain.error.message, /^connection lost; the request may have run \(.*readTimeoutMs/);
    assert.deepEqual(raw.connections[0]!.requests.map((q) => q.params), ["idem", "plain"], "both were written to the stalled connection");
    assert.deepEqual(raw.connections.slice(1).flatMap((c) => c.requests.map((q) => q.params)), ["idem"], "only the idempotent one went again");
    assert.equal(client.stats().retries, 1);
  } finally {
    client.destroy();
    await raw.close();
  }
});

test("readTimeoutMs: 0 turns it off: a stalled connection is kept, and used again once the server finishes the frame", async () => {
  let rest: (() => void) | undefined;
  const raw = await RawServer.start((conn, req) => {
    const bytes = answer(req);
    if (req.params !== "stalled") return conn.send(bytes);
    conn.send(bytes.subarray(0, 6));
    rest = () => conn.send(bytes.subarray(6));
  });
  const client = new RpcClient({ port: raw.port, readTimeoutMs: 0 });
  try {
    const r = await outcome(client.call("ping", "stalled", { timeoutMs: 3 * READ_TIMEOUT_MS }));
    assert.ok(!r.ok);
    assert.equal(r.error.code, "DEADLINE_EXCEEDED", "only the call's deadline ended it");
    assert.equal(dropped(raw.connections[0]!), false, "the connection was kept");
    rest!();
    assert.equal(await client.call("ping", "after", { timeoutMs: 5_000 }), "after");
    assert.equal(raw.connections.length, 1);
  } finally {
    client.destroy();
    await raw.close();
  }
});

test("answers arriving in pieces, each frame complete within readTimeoutMs, are not cut though some frame is always partly received", async () => {
  // Six answers sent as seven pieces 250 ms apart, each piece ending inside
  // the next frame: for 1.5 s the connection is never between frames, yet no
  // frame takes longer than one gap to arrive. The timeout counts per frame.
  const CALLS = 6;
  const GAP_MS = 250;
  const raw = await RawServer.start((conn) => {
    if (conn.requests.length < CALLS) return;
    const frames = conn.requests.map(answer);
    const bytes = Buffer.concat(frames);
    const cuts = [0];
    let at = 0;
    for (const f of frames) {
      cuts.push(at + Math.floor(f.length / 2));
      at += f.length;
    }
    cuts.push(at);
    void (async () => {
      for (let i = 1; i < cuts.length; i++) {
        if (i > 1) await delay(GAP_MS);
        conn.send(bytes.subarray(cuts[i - 1], cuts[i]));
      }
    })();
  });
  const client = new RpcClient({ port: raw.port, readTimeoutMs: 4 * GAP_MS });
  try {
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => client.call("ping", i, { timeoutMs: 10_000 })));
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5]);
    const took = performance.now() - t0;
    assert.ok(took > 4 * GAP_MS, `the pieces outlasted readTimeoutMs as a whole (${took} ms)`);
    assert.equal(raw.connections.length, 1, "never dropped");
  } finally {
    client.destroy();
    await raw.close();
  }
});
