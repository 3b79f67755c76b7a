// A NestJS microservice as its users write one: a module, a controller with
// a @MessagePattern("ping") handler that returns its data, served by Nest's
// built-in TCP transport (`<length>#<json>` framing, see README.md). Plain
// JS without a TypeScript build, so the decorators are applied as the
// functions they are; what they record is what `tsc` would make them record.
//
//   node bench/peers/nestjs/server.js [--port N] [--workers N] [--host H]
//   (--workers 0 serves in this one process, for profiling)
//
// The cluster part is minimal-node.js's: the primary forks N workers that
// accept competitively on one shared socket (SCHED_NONE), and prints one
// readiness line once all of them listen. SIGTERM/SIGINT on the primary: the
// workers close their microservice and exit, then the primary exits.
import "reflect-metadata";
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { Controller, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { MessagePattern, Transport } from "@nestjs/microservices";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "3000" },
    workers: { type: "string", default: "2" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const port = Number(values.port);
const workers = Number(values.workers);
const host = values.host;

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

if (workers === 0) {
  const app = await serve();
  process.stdout.write(`nestjs ready on ${host}:${port} in one process (pid ${process.pid})\n`);
  const stop = () => app.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} else if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("listening", () => {
    if (++listening === workers) {
      process.stdout.write(`nestjs ready on ${host}:${port} with ${workers} workers (pid ${process.pid})\n`);
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    if (listening < workers) {
      process.stderr.write(`nestjs: worker ${worker.process.pid} exited before it listened (${signal ?? `code ${code}`})\n`);
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
  const app = await serve();
  process.on("message", (message) => {
    if (message === "stop") app.close().then(() => process.exit(0));
  });
}
