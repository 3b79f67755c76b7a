// A gRPC service as grpc-js users write one: ping.proto loaded at run time
// with @grpc/proto-loader, a unary Ping handler that answers its params,
// a grpc.Server bound insecurely (h2c: loopback, no TLS, as every peer).
//
//   node bench/peers/grpc/server.js [--port N] [--workers N] [--host H]
//   (--workers 0 serves in this one process, for profiling)
//
// grpc-js has no multi-process mode of its own: a grpc.Server is one event
// loop, and its docs leave using more cores to the application. The cluster
// part is ../cluster-peer.js (as minimal-node.js does it): the primary forks N workers, each binds its own
// grpc.Server to the shared port (node:cluster hands them one listening
// socket, accepted competitively: SCHED_NONE), and the primary prints one
// readiness line once all of them are bound. SIGTERM/SIGINT on the primary:
// each worker tryShutdown()s its server and exits, then the primary exits.
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import { peerArgs, servePeer } from "../cluster-peer.js";

const { port, workers, host } = peerArgs(50051);

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

await servePeer({
  name: "grpc",
  where: `${host}:${port}`,
  workers,
  start: async () => {
    const server = await serve();
    // tryShutdown waits for open calls; h2load's connections are gone by then.
    const stop = () =>
      new Promise((resolve) => {
        setTimeout(() => server.forceShutdown(), 2_000).unref();
        server.tryShutdown(() => resolve());
      });
    return { stop };
  },
});
