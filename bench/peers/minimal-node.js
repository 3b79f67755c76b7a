// The "Node ceiling": the least a Node cluster server can do to answer the
// forkrpc framing, with nothing forkrpc adds (no envelope checks, no registry,
// no ordering slots, no timeouts). Whatever forkrpc costs above this is the
// price of its features; whatever this costs is the price of Node itself.
//
//   node bench/peers/minimal-node.js [--port N] [--workers N] [--host H]
//   (--workers 0 serves in this one process, for profiling)
//
// - master forks N workers that accept competitively on one shared socket
//   (cluster SCHED_NONE, as forkrpc does);
// - every frame is parsed with JSON.parse and answered
//   {"out":"pong","result":params}, whatever its "in";
// - TCP_NODELAY; all answers to one read leave in one write.
// Plain JS, no dependencies. SIGTERM/SIGINT on the master: the workers stop
// accepting, finish their connections and exit, then the master exits.
import cluster from "node:cluster";
import net from "node:net";
import { peerArgs, stopBackstop } from "./cluster-peer.js";

const MAX_FRAME = 1024 * 1024;

const { port, workers, host } = peerArgs(8080);

if (workers === 0) {
  // One process, no cluster (as forkrpc's --workers 0): for profiling.
  net.createServer(onConnection).listen(port, host, () => {
    process.stdout.write(`minimal-node ready on ${host}:${port} in one process (pid ${process.pid})\n`);
  });
  process.once("SIGTERM", () => process.exit(0));
  process.once("SIGINT", () => process.exit(0));
} else if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("listening", (_worker, address) => {
    if (++listening === workers) {
      process.stdout.write(`minimal-node ready on ${host}:${address.port} with ${workers} workers (pid ${process.pid})\n`);
    }
  });
  const stop = () => {
    stopBackstop();
    cluster.disconnect(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} else {
  // A signal to the whole process group: leave it to the master's disconnect.
  process.on("SIGTERM", () => {});
  process.on("SIGINT", () => {});
  net.createServer(onConnection).listen(port, host);
}

function onConnection(socket) {
  socket.setNoDelay(true);
  socket.on("error", () => {});
  /** The start of a frame split across reads (rare: only at read boundaries). */
  let pending = null;
  socket.on("data", (chunk) => {
    let buf = chunk;
    if (pending !== null) {
      buf = Buffer.concat([pending, chunk]);
      pending = null;
    }
    const answers = [];
    let at = 0;
    while (buf.length - at >= 4) {
      const n = buf.readUInt32LE(at);
      if (n === 0 || n > MAX_FRAME) {
        socket.destroy();
        return;
      }
      if (buf.length - at - 4 < n) break;
      let req;
      try {
        req = JSON.parse(buf.toString("utf8", at + 4, at + 4 + n));
      } catch {
        socket.destroy();
        return;
      }
      const params = req !== null && typeof req === "object" && req.params !== undefined ? req.params : null;
      answers.push(JSON.stringify({ out: "pong", result: params }));
      at += 4 + n;
    }
    if (at < buf.length) pending = Buffer.from(buf.subarray(at));
    if (answers.length > 0) socket.write(encodeFrames(answers));
  });
}

function encodeFrames(texts) {
  let total = 0;
  const lengths = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    lengths[i] = Buffer.byteLength(texts[i]);
    total += 4 + lengths[i];
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    out.writeUInt32LE(lengths[i], at);
    at = out.write(texts[i], at + 4) + at + 4;
  }
  return out;
}
