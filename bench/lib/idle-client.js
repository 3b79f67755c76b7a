// The client of the idle-connections figure (bench/scaling.js), run as its
// own process so that its memory and file descriptors are not the bench's:
//
//   node bench/lib/idle-client.js PORT COUNT BATCH MAX_SECONDS
//
// Opens COUNT connections to 127.0.0.1:PORT, BATCH at a time (a batch starts
// once the previous one has connected, so the server's accept queue never
// holds more than BATCH), then waits for commands on stdin, one a line:
//   ping   sends {"in":"ping","params":"x"} on every open connection and
//          waits for each answer (at most ANSWER_TIMEOUT_MS);
//   close  closes every connection and exits.
// Each step reports one JSON line on stdout. The process exits on its own
// after MAX_SECONDS whatever happens, and when stdin closes.
import net from "node:net";
import { createInterface } from "node:readline";

const ANSWER_TIMEOUT_MS = 30_000;
const REQUEST = (() => {
  const body = Buffer.from(JSON.stringify({ in: "ping", params: "x" }));
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  return frame;
})();

const [port, count, batch, maxSeconds] = process.argv.slice(2).map(Number);
if (![port, count, batch, maxSeconds].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write("usage: node bench/lib/idle-client.js PORT COUNT BATCH MAX_SECONDS\n");
  process.exit(2);
}
const report = (fields) => process.stdout.write(`${JSON.stringify(fields)}\n`);

setTimeout(() => {
  report({ event: "timeout", error: `idle-client: still running after ${maxSeconds} s, exiting` });
  process.exit(3);
}, maxSeconds * 1000).unref();

/** Every connection: its socket, whether the server closed it, its answer. */
const conns = [];
const errors = new Map();

function connectOne() {
  return new Promise((resolve) => {
    const conn = { socket: null, open: false, closedByPeer: false, answer: null, pending: Buffer.alloc(0), onAnswer: null };
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    conn.socket = socket;
    socket.once("connect", () => {
      conn.open = true;
      resolve(conn);
    });
    socket.on("error", (error) => {
      errors.set(error.code ?? error.message, (errors.get(error.code ?? error.message) ?? 0) + 1);
      if (!conn.open) resolve(conn);
    });
    socket.on("close", () => {
      if (conn.open) conn.closedByPeer = true;
      conn.open = false;
      conn.onAnswer?.();
    });
    socket.on("data", (chunk) => readAnswer(conn, chunk));
  });
}

/** The first whole frame on a connection is its answer; a close or anything else settles it too. */
function readAnswer(conn, chunk) {
  conn.pending = Buffer.concat([conn.pending, chunk]);
  if (conn.pending.length < 4) return;
  const length = conn.pending.readUInt32LE(0);
  if (conn.pending.length < 4 + length) return;
  let ok = false;
  try {
    const answer = JSON.parse(conn.pending.toString("utf8", 4, 4 + length));
    ok = answer?.out === "pong" && answer?.result === "x";
  } catch {
    // not JSON: a wrong answer
  }
  conn.answer = ok ? "pong" : "wrong";
  conn.onAnswer?.();
}

async function open() {
  const start = performance.now();
  for (let i = 0; i < count; i += batch) {
    const size = Math.min(batch, count - i);
    conns.push(...(await Promise.all(Array.from({ length: size }, connectOne))));
  }
  report({
    event: "opened",
    opened: conns.filter((c) => c.open).length,
    failed: conns.filter((c) => !c.open).length,
    errors: Object.fromEntries(errors),
    ms: performance.now() - start,
  });
}

async function pingAll() {
  const lostBeforePing = conns.filter((c) => c.closedByPeer).length;
  const start = performance.now();
  const waits = [];
  for (const conn of conns) {
    if (!conn.open) continue;
    waits.push(new Promise((resolve) => (conn.onAnswer = resolve)));
    conn.socket.write(REQUEST);
  }
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, ANSWER_TIMEOUT_MS)));
  await Promise.race([Promise.all(waits), timeout]);
  clearTimeout(timer);
  report({
    event: "answered",
    sent: waits.length,
    answered: conns.filter((c) => c.answer === "pong").length,
    wrong: conns.filter((c) => c.answer === "wrong").length,
    unanswered: conns.filter((c) => c.answer === null).length,
    lostBeforePing,
    closedByPeer: conns.filter((c) => c.closedByPeer).length,
    errors: Object.fromEntries(errors),
    ms: performance.now() - start,
  });
}

function closeAll() {
  for (const conn of conns) conn.socket.destroy();
  report({ event: "closed" });
  process.exit(0);
}

await open();
const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (line === "ping") pingAll();
  else if (line === "close") closeAll();
});
commands.on("close", closeAll);
