// A Moleculer service as its users write one: a ServiceBroker with the TCP
// transporter (peer to peer, no external broker) and a `ping` service whose
// action returns its params. Called by a client broker in another process
// (bench/lib/node-client.js), since Moleculer speaks only to other brokers.
//
//   node bench/peers/moleculer/server.js [--port N] [--workers N]
//   (--workers 0 runs one broker in this process, for profiling)
//
// Moleculer scales over cores by running more nodes (brokers), each its own
// process with its own TCP port, and its callers balance between them
// (round-robin by default): there is no shared accept socket. So the primary
// forks N workers, each one broker node `bench-server-<i>`; worker 0 listens
// on --port, the others on a port the OS picks. UDP discovery is off (no
// multicast on a shared machine): the client is given the nodes' addresses
// (static `urls`), which the primary prints in its readiness line:
//   moleculer ready on 127.0.0.1:N with 2 workers (nodes 127.0.0.1:N/bench-server-0,127.0.0.1:M/bench-server-1)
// SIGTERM/SIGINT on the primary: each worker stops its broker and exits,
// then the primary exits.
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { ServiceBroker } from "moleculer";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "4000" },
    workers: { type: "string", default: "2" },
  },
});
const port = Number(values.port);
const workers = Number(values.workers);

/** Starts node `index` with the ping service; resolves with it and the port it listens on. */
async function serve(index, listenPort) {
  const broker = new ServiceBroker({
    nodeID: `bench-server-${index}`,
    transporter: { type: "TCP", options: { udpDiscovery: false, port: listenPort, useHostname: false } },
    logLevel: "error",
  });
  broker.createService({
    name: "ping",
    actions: {
      ping(ctx) {
        return ctx.params.params;
      },
    },
  });
  await broker.start();
  return { broker, port: broker.transit.tx.opts.port };
}

if (workers === 0) {
  const { broker, port: bound } = await serve(0, port);
  process.stdout.write(`moleculer ready on 127.0.0.1:${bound} in one process (nodes 127.0.0.1:${bound}/bench-server-0) (pid ${process.pid})\n`);
  const stop = () => broker.stop().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} else if (cluster.isPrimary) {
  const nodes = [];
  for (let i = 0; i < workers; i++) cluster.fork({ BENCH_NODE_INDEX: String(i), BENCH_NODE_PORT: String(i === 0 ? port : 0) });
  cluster.on("message", (worker, message) => {
    if (message?.bound === undefined) return;
    nodes.push(`127.0.0.1:${message.bound}/bench-server-${message.index}`);
    if (nodes.length === workers) {
      nodes.sort();
      process.stdout.write(`moleculer ready on 127.0.0.1:${port} with ${workers} workers (nodes ${nodes.join(",")}) (pid ${process.pid})\n`);
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    if (nodes.length < workers) {
      process.stderr.write(`moleculer: worker ${worker.process.pid} exited before it listened (${signal ?? `code ${code}`})\n`);
      process.exit(1);
    }
  });
  const stop = () => {
    const backstop = setTimeout(() => {
      for (const w of Object.values(cluster.workers)) w.process.kill("SIGKILL");
      process.exit(1);
    }, 10_000);
    backstop.unref();
    for (const w of Object.values(cluster.workers)) w.send("stop");
    cluster.on("exit", () => {
      if (Object.keys(cluster.workers).length === 0) process.exit(0);
    });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} else {
  // A signal to the whole process group: leave it to the primary's "stop".
  process.on("SIGTERM", () => {});
  process.on("SIGINT", () => {});
  const index = Number(process.env.BENCH_NODE_INDEX);
  const { broker, port: bound } = await serve(index, Number(process.env.BENCH_NODE_PORT));
  process.send({ bound, index });
  process.on("message", (message) => {
    if (message === "stop") broker.stop().then(() => process.exit(0));
  });
}
