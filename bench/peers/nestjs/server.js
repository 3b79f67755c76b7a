// A NestJS microservice as its users write one: a module, a controller with
// a @MessagePattern("ping") handler that returns its data, served by Nest's
// built-in TCP transport (`<length>#<json>` framing, see README.md). Plain
// JS without a TypeScript build, so the decorators are applied as the
// functions they are; what they record is what `tsc` would make them record.
//
//   node bench/peers/nestjs/server.js [--port N] [--workers N] [--host H]
//   (--workers 0 serves in this one process, for profiling)
//
// The cluster part is ../cluster-peer.js (as minimal-node.js does it): the primary forks N workers that
// accept competitively on one shared socket (SCHED_NONE), and prints one
// readiness line once all of them listen. SIGTERM/SIGINT on the primary: the
// workers close their microservice and exit, then the primary exits.
import "reflect-metadata";
import { Controller, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { MessagePattern, Transport } from "@nestjs/microservices";
import { peerArgs, servePeer } from "../cluster-peer.js";

const { port, workers, host } = peerArgs(3000);

class PingController {
  ping(data) {
    return data;
  }
}
const proto = PingController.prototype;
MessagePattern("ping")(proto, "ping", Object.getOwnPropertyDescriptor(proto, "ping"));
Controller()(PingController);

class AppModule {}
Module({ controllers: [PingController] })(AppModule);

async function serve() {
  const app = await NestFactory.createMicroservice(AppModule, {
    transport: Transport.TCP,
    options: { host, port },
    logger: ["error"],
  });
  await app.listen();
  return app;
}

await servePeer({
  name: "nestjs",
  where: `${host}:${port}`,
  workers,
  start: async () => {
    const app = await serve();
    return { stop: () => app.close() };
  },
});
