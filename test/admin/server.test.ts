/**
 * The admin HTTP server against hostile clients, on 127.0.0.1: an /events
 * subscriber that never reads must not make the master buffer snapshots for
 * it without bound.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { AdminServer, MAX_STREAMS } from "../../src/admin/server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function source(snapshotBytes: number) {
  const big = "x".repeat(snapshotBytes);
  return { metrics: () => "", ready: () => true, snapshot: () => ({ big }) };
}

/** Resolves with the bytes read once the socket ends, or null if it is still open after `ms`. */
function readUntilEnd(socket: Socket, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    let bytes = 0;
    const timer = setTimeout(() => resolve(null), ms);
    socket.on("data", (chunk: Buffer) => (bytes += chunk.length));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(bytes);
    });
    socket.resume();
  });
}

test("an /events client that never reads is dropped instead of buffered without bound", async () => {
  // 256 KB a snapshot every 10 ms: ~25 MB/s, past any loopback socket buffer within the pause.
  const admin = new AdminServer(source(256 * 1024), 10);
  try {
    const { port } = await admin.listen("127.0.0.1", 0);
    const s = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => s.once("connect", resolve).once("error", reject));
    s.on("error", () => {});
    s.write("GET /events HTTP/1.1\r\nhost: x\r\n\r\n");
    s.pause();
    await sleep(2_000);
    const bytes = await readUntilEnd(s, 4_000);
    s.destroy();
    assert.notEqual(bytes, null, "the stream is still open: the server kept buffering for a client that did not read");
    assert.ok((bytes as number) < 40 * 1024 * 1024, `${bytes} bytes were buffered`);
  } finally {
    admin.close();
  }
});

test("/events takes at most MAX_STREAMS subscribers: the next is answered 503, and a slot freed is taken again", async () => {
  const admin = new AdminServer(source(16), 60_000);
  const sockets: Socket[] = [];
  const subscribe = async (port: number): Promise<string> => {
    const s = connect(port, "127.0.0.1");
    sockets.push(s);
    s.on("error", () => {});
    s.setEncoding("latin1");
    s.write("GET /events HTTP/1.1\r\nhost: x\r\n\r\n");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no status line within 5 s")), 5_000);
      s.once("data", (text: string) => {
        clearTimeout(timer);
        resolve(text.slice(0, text.indexOf("\r\n")));
      });
    });
  };
  try {
    const { port } = await admin.listen("127.0.0.1", 0);
    for (let i = 0; i < MAX_STREAMS; i++) assert.equal(await subscribe(port), "HTTP/1.1 200 OK");
    assert.equal(await subscribe(port), "HTTP/1.1 503 Service Unavailable");
    sockets[0]?.destroy();
    await sleep(200);
    assert.equal(await subscribe(port), "HTTP/1.1 200 OK");
  } finally {
    for (const s of sockets) s.destroy();
    admin.close();
  }
});

test("HEAD /events is answered with the stream's headers and ends (it took a subscriber slot and never ended)", async () => {
  const admin = new AdminServer(source(16), 60_000);
  try {
    const { port } = await admin.listen("127.0.0.1", 0);
    const res = await fetch(`http://127.0.0.1:${port}/events`, { method: "HEAD", signal: AbortSignal.timeout(3_000) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
  } finally {
    admin.close();
  }
});
