// What the Node peers (grpc, moleculer, nestjs) share: their flags, and their
// processes. Plain node, no dependency: each peer's own packages stay in its
// folder.
import cluster from "node:cluster";
import { parseArgs } from "node:util";

/** --port (default `defaultPort`), --workers (default 2; 0: one process, for profiling), --host (default 127.0.0.1). */
export function peerArgs(defaultPort) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: String(defaultPort) },
      workers: { type: "string", default: "2" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  return { port: Number(values.port), workers: Number(values.workers), host: values.host };
}

/**
 * Serves a peer the way the bench starts every one. `start(index)` starts
 * one server and resolves with `{ stop, detail? }`. With `workers` 0 it runs
 * here; otherwise the primary forks that many workers (with `sharedSocket`,
 * SCHED_NONE: they accept competitively on one listening socket, as
 * minimal-node.js's), each runs `start`, and once all have the primary
 * prints one readiness line, `NAME ready on WHERE with N workers` plus
 * `suffix(details)`. SIGTERM/SIGINT on the primary: every worker stops its
 * server and exits, then the primary; a worker still there after 10 s is
 * killed. A worker that exits before it started fails the primary.
 */
export async function servePeer({ name, where, workers, start, sharedSocket = true, suffix = () => "" }) {
  if (workers === 0) {
    const { stop, detail } = await start(0);
    process.stdout.write(`${name} ready on ${where} in one process${suffix([detail])} (pid ${process.pid})\n`);
    const end = () => stop().then(() => process.exit(0));
    process.once("SIGTERM", end);
    process.once("SIGINT", end);
  } else if (cluster.isPrimary) {
    primary(name, where, workers, sharedSocket, suffix);
  } else {
    // A signal to the whole process group: leave it to the primary's "stop".
    process.on("SIGTERM", () => {});
    process.on("SIGINT", () => {});
    const { stop, detail } = await start(Number(process.env.BENCH_PEER_INDEX));
    process.send({ peerStarted: detail ?? null });
    process.on("message", (message) => {
      if (message === "stop") stop().then(() => process.exit(0));
    });
  }
}

function primary(name, where, workers, sharedSocket, suffix) {
  if (sharedSocket) cluster.schedulingPolicy = cluster.SCHED_NONE;
  const details = [];
  for (let i = 0; i < workers; i++) cluster.fork({ BENCH_PEER_INDEX: String(i) });
  cluster.on("message", (_worker, message) => {
    if (message?.peerStarted === undefined) return;
    details.push(message.peerStarted);
    if (details.length === workers) process.stdout.write(`${name} ready on ${where} with ${workers} workers${suffix(details)} (pid ${process.pid})\n`);
  });
  cluster.on("exit", (worker, code, signal) => {
    if (details.length < workers) {
      process.stderr.write(`${name}: worker ${worker.process.pid} exited before it started (${signal ?? `code ${code}`})\n`);
      process.exit(1);
    }
  });
  const stop = () => {
    stopBackstop();
    for (const w of Object.values(cluster.workers)) w.send("stop");
    cluster.on("exit", () => {
      if (Object.keys(cluster.workers).length === 0) process.exit(0);
    });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

/** A stopping master's limit: workers not gone within 10 s are killed, and the master exits 1. */
export function stopBackstop() {
  setTimeout(() => {
    for (const w of Object.values(cluster.workers)) w.process.kill("SIGKILL");
    process.exit(1);
  }, 10_000).unref();
}
