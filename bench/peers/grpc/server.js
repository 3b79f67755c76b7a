// A gRPC service as grpc-js users write one: ping.proto loaded at run time
// with @grpc/proto-loader, a unary Ping handler that answers its params,
// a grpc.Server bound insecurely (h2c: loopback, no TLS, as every peer).
//
//   node bench/peers/grpc/server.js [--port N] [--workers N] [--host H]
//   (--workers 0 serves in this one process, for profiling)
//
// grpc-js has no multi-process mode of its own: a grpc.Server is one event
// loop, and its docs leave using more cores to the application. The cluster
// part is minimal-node.js's: the primary forks N workers, each binds its own
// grpc.Server to the shared port (node:cluster hands them one listening
// socket, accepted competitively: SCHED_NONE), and the primary prints one
// readiness line once all of them are bound. SIGTERM/SIGINT on the primary:
// each worker tryShutdown()s its server and exits, then the primary exits.
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "50051" },
    workers: { type: "string", default: "2" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const port = Number(values.port);
const workers = Number(values.workers);
const host = values.host;

const PROTO = fileURLToPath(new URL("ping.proto", import.meta.url));

/** Binds a server with the Ping service; resolves with it once it listens. */
function serve() {
  const definition = protoLoader.loadSync(PROTO, { keepCase: true });
  const { Pinger } = grpc.loadPackageDefinition(definition).forkrpc.bench;
  const server = new grpc.Server();
  server.addService(Pinger.service, {
    Ping(call, callback) {
      callback(null, { result: call.request.params });
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve(server)));
  });
}

const shutdown = (server) => server.tryShutdown(() => process.exit(0));

if (workers === 0) {
  const server = await serve();
  process.stdout.write(`grpc ready on ${host}:${port} in one process (pid ${process.pid})\n`);
  process.once("SIGTERM", () => shutdown(server));
  process.once("SIGINT", () => shutdown(server));
} else if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let bound = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("message", (worker, message) => {
    if (message === "bound" && ++bound === workers) {
      process.stdout.write(`grpc ready on ${host}:${port} with ${workers} workers (pid ${process.pid})\n`);
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    if (bound < workers) {
      process.stderr.write(`grpc: worker ${worker.process.pid} exited before it was bound (${signal ?? `code ${code}`})\n`);
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
  const server = await serve();
  process.send("bound");
  process.on("message", (message) => {
    if (message === "stop") {
      // tryShutdown waits for open calls; h2load's connections are gone by then.
      setTimeout(() => server.forceShutdown(), 2_000).unref();
      shutdown(server);
    }
  });
}
