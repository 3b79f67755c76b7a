// The Node client harness: one Node process calling `ping` as fast as its
// callers let it, through a framework's own client, for a bounded time. It
// exists because a Moleculer service can only be called by another
// Moleculer broker (a Node process): to compare server CPU per request like
// with like, forkrpc is called the same way, through RpcClient, by the same
// harness, with the same calls in flight.
//
//   node [forkrpc's loader flags] bench/node-client.js --target forkrpc|moleculer
//     --port N [--nodes host:port/nodeID,...] --connections C --pipeline P
//     --seconds S --payload N
//
// C x P calls are kept in flight: each of C x P loops awaits its call and
// sends the next. forkrpc: one RpcClient with a pool of C connections (it
// sends each call on its least busy connection). moleculer: one client
// broker (TCP transporter, static `urls`: the server's nodes), which holds
// one TCP connection per server node whatever C is, and balances calls
// between the nodes round-robin (its default).
//
// Output, as loadgen.c's: {"phase":"start"} once connected and once every
// connection (or node) has answered a call, {"phase":"end"} when the time
// is up, then one JSON report line (requests and latency of the window,
// errors, this process's CPU). Exits 1 on any bad answer; never runs longer
// than the window plus DRAIN_MS.
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const DRAIN_MS = 3_000;
const CONNECT_MS = 15_000;

const { values } = parseArgs({
  options: {
    target: { type: "string" },
    port: { type: "string" },
    nodes: { type: "string", default: "" },
    connections: { type: "string", default: "32" },
    pipeline: { type: "string", default: "32" },
    seconds: { type: "string", default: "3" },
    payload: { type: "string", default: "16" },
  },
});
const connections = Number(values.connections);
const pipeline = Number(values.pipeline);
const seconds = Number(values.seconds);
const payloadChars = Number(values.payload);
const payload = Array.from({ length: payloadChars }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");

/**
 * A caller: `call()` resolves with ping's answer; `served()` is how many of
 * its connections are open at the window's end (RpcClient's pool count);
 * `close()` lets the process exit.
 */
async function forkrpcCaller() {
  const { RpcClient } = await import("forkrpc/client");
  const client = new RpcClient({ host: "127.0.0.1", port: Number(values.port), connections, timeoutMs: 10_000 });
  // One call per connection in parallel: the pool opens all of them.
  await Promise.all(Array.from({ length: connections }, () => client.call("ping", payload)));
  return { call: () => client.call("ping", payload), served: () => client.stats().connections, close: () => client.destroy() };
}

async function moleculerCaller() {
  const require = createRequire(new URL("peers/moleculer/package.json", import.meta.url));
  const { ServiceBroker } = require("moleculer");
  const nodes = values.nodes.split(",").filter(Boolean);
  const broker = new ServiceBroker({
    nodeID: `bench-client-${process.pid}`,
    transporter: { type: "TCP", options: { udpDiscovery: false, urls: nodes, useHostname: false } },
    logLevel: "error",
    requestTimeout: 10_000,
  });
  await broker.start();
  const ids = nodes.map((n) => n.split("/")[1]);
  const deadline = Date.now() + CONNECT_MS;
  // Gossip brings the nodes' service lists (every 2 s by default): wait until every node offers ping.
  while (!ids.every((id) => broker.registry.getNodeList({ onlyAvailable: true, withServices: true }).some((n) => n.id === id && n.services.some((s) => s.name === "ping")))) {
    if (Date.now() > deadline) throw new Error(`the moleculer nodes ${ids.join(", ")} did not all offer ping within ${CONNECT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const id of ids) await broker.call("ping.ping", { params: payload }, { nodeID: id });
  // Its connections are one per node, whatever --connections is: every node answered above, so all of them are served.
  return { call: () => broker.call("ping.ping", { params: payload }), served: () => connections, close: () => broker.stop() };
}

const caller = await (values.target === "forkrpc" ? forkrpcCaller() : values.target === "moleculer" ? moleculerCaller() : Promise.reject(new Error(`--target must be forkrpc or moleculer, got "${values.target}"`)));

let measuring = true;
let requests = 0;
let errors = 0;
let firstError = null;
const latencies = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
process.stdout.write('{"phase":"start"}\n');

async function loop() {
  while (measuring) {
    const sent = performance.now();
    try {
      const answer = await caller.call();
      if (!measuring) return;
      if (answer === payload) {
        requests++;
        latencies.push(performance.now() - sent);
      } else {
        errors++;
        firstError ??= `answer is not the params sent: ${JSON.stringify(answer).slice(0, 80)}`;
      }
    } catch (error) {
      if (!measuring) return;
      errors++;
      firstError ??= String(error.message ?? error);
    }
  }
}

const loops = Array.from({ length: connections * pipeline }, loop);
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const served = caller.served();
process.stdout.write('{"phase":"end"}\n');
await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
latencies.sort((a, b) => a - b);
const q = (p) => (latencies.length === 0 ? null : Math.round(1000 * latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]));
process.stdout.write(
  `${JSON.stringify({
    requests,
    seconds: elapsed,
    rps: requests / elapsed,
    p50_us: q(0.5),
    p90_us: q(0.9),
    p99_us: q(0.99),
    p999_us: q(0.999),
    max_us: q(1),
    errors,
    first_error: firstError,
    connections_lost: 0,
    connections_unconnected: 0,
    connections_served: requests > 0 ? served : 0,
    cpu_us: cpu.user + cpu.system,
    connections,
    pipeline,
    payload: payloadChars,
    threads: 1,
    protocol: `node-${values.target}`,
  })}\n`,
);
await Promise.race([caller.close(), new Promise((r) => setTimeout(r, 1_000).unref())]);
process.exit(errors > 0 ? 1 : 0);
