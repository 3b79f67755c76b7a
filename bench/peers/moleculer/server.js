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
import { ServiceBroker } from "moleculer";
import { peerArgs, servePeer } from "../cluster-peer.js";

const { port, workers } = peerArgs(4000);

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

// Not a shared socket: node 0 listens on --port, the others on ports the OS picks.
await servePeer({
  name: "moleculer",
  where: `127.0.0.1:${port}`,
  workers,
  sharedSocket: false,
  start: async (index) => {
    const { broker, port: bound } = await serve(index, index === 0 ? port : 0);
    return { stop: () => broker.stop(), detail: `127.0.0.1:${bound}/bench-server-${index}` };
  },
  suffix: (nodes) => ` (nodes ${[...nodes].sort().join(",")})`,
});
