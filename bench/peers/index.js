// The servers the bench knows how to start. Each peer is started on a free
// port with the same worker count, and is ready when its stdout matches
// `ready` (or, with `ready: "port"`, when its port accepts). Adding a peer
// (another framework, another language) is one entry here: a command line, a
// readiness line, and a note for the report. Optional fields:
// - prepare(peer): run once before the first start (install the peer's own
//   pinned dependencies under bench/, build it, warm a cache);
// - group: true, for a server whose children outlive their parent: it runs
//   in its own process group and is stopped as one;
// - protocol: the load generator's wire mode when it is not forkrpc's;
// - warmup: false, for a server that a warm-up load would break;
// - versions(): what to print as its versions in the results header;
// - against: the forkrpc peer it compares with like for like (same load
//   generator); the results then show their ratios cell by cell;
// - target(server): more load options than the port, read from the running
//   server (moleculer: the addresses of its nodes, from its readiness line).
//
// The first peer is the baseline every other peer's figures are divided by.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startPeer, stopPeer } from "../lib/server.js";
import { GRPC_VERSIONS, h2loadVersion, prepareGrpc } from "./grpc/prepare.js";
import { MOLECULER_VERSIONS, moleculerNodes, prepareMoleculer } from "./moleculer/prepare.js";
import { NEST_VERSIONS, prepareNest } from "./nestjs/prepare.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * One throwaway start (1 worker) before the measured ones, so that those
 * find the TypeScript loader's compile cache warm, as every start after a
 * deploy's first does: otherwise the first measurement of a run would carry
 * the compiler in its memory figures and the others not.
 */
async function warmStart(peer) {
  const server = await startPeer(peer, { port: await freePort(), workers: 1 });
  await stopPeer(server);
}

/** `npm start` without npm: the same node flags, so the bench runs what users run. */
export function npmStartCommand() {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const [node, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (node !== "node") throw new Error(`package.json scripts.start must start with "node", got "${node}"`);
  return args;
}

/** A peer that is one Node script taking --port and --workers. */
function nodeScript(file) {
  return ({ port, workers, node }) => ({ file: node, args: [file, "--port", String(port), "--workers", String(workers)], cwd: ROOT });
}

/** forkrpc as `npm start` starts it, with `extra` flags. */
function forkrpcStart(extra = []) {
  return ({ port, workers, node }) => ({
    file: node,
    args: [...npmStartCommand(), ...extra, "--port", String(port), "--workers", String(workers)],
    cwd: ROOT,
  });
}

export const PEERS = [
  {
    name: "minimal-node",
    note: "hand-written Node cluster server, same framing, JSON.parse per frame (the Node ceiling)",
    command: nodeScript("bench/peers/minimal-node.js"),
    ready: /minimal-node ready/,
  },
  {
    name: "forkrpc",
    note: "this repository from source, started with package.json's `start` command (its TypeScript loader included), rpc.config.ts, plugins/ping.ts",
    command: forkrpcStart(),
    ready: /forkrpc ready:/,
    prepare: warmStart,
  },
  {
    name: "nestjs",
    note: `NestJS microservices (peers/nestjs/: ${NEST_VERSIONS}) over its built-in TCP transport and its \`<length>#<json>\` framing: a @MessagePattern("ping") controller returning its data, NestFactory.createMicroservice with Nest's defaults and an errors-only logger, one per cluster worker (SCHED_NONE, as minimal-node). Its requests carry ids, and answers are matched by id`,
    command: nodeScript("bench/peers/nestjs/server.js"),
    ready: /nestjs ready/,
    prepare: prepareNest,
    versions: () => NEST_VERSIONS,
    protocol: "nest",
  },
  {
    name: "tutorial-py3",
    note: "the tutorial's PreForking server (../shared/seed/prefork.md) ported to Python 3, its own code otherwise: 10 forked children and the parent accept on one socket with listen(1), one connection at a time per process, a print per request, one recv(length) per body. It ignores --workers",
    command: ({ port }) => ({
      file: "python3",
      args: ["bench/peers/tutorial-py3/prefork.py", String(port)],
      cwd: ROOT,
    }),
    ready: "port",
    // A warm-up would kill it: its processes die of the BrokenPipeError of
    // answering requests still in flight when the warm-up load closes.
    // CPython has no JIT to warm up anyway.
    warmup: false,
    group: true,
  },
  {
    name: "grpc",
    note: `gRPC with @grpc/grpc-js (peers/grpc/: ${GRPC_VERSIONS}): a unary Ping(PingRequest) returns (PingReply) echoing its string, ping.proto loaded by @grpc/proto-loader, one grpc.Server per cluster worker on the shared port (grpc-js has no multi-process mode; SCHED_NONE, as minimal-node). Loaded by h2load over h2c, not by loadgen.c: connections x pipeline are h2load's clients (-c) x concurrent streams per client (-m), each request one pre-encoded gRPC message; HTTP/2 framing (HEADERS, DATA, trailers per call) against forkrpc's length-prefixed JSON`,
    command: nodeScript("bench/peers/grpc/server.js"),
    ready: /grpc ready/,
    prepare: prepareGrpc,
    versions: () => `${GRPC_VERSIONS}, loaded by ${h2loadVersion()}`,
    protocol: "grpc",
    against: "forkrpc",
  },
  // Moleculer can be called only by a Moleculer broker, a Node process: it
  // and forkrpc under the same Node client harness (bench/node-client.js),
  // not loadgen.c. Not in the default grid (the harness, not the server,
  // sets their rps); compare them with --peers forkrpc-node,moleculer.
  {
    name: "forkrpc-node",
    note: "the `forkrpc` peer's server, loaded by the Node client harness (bench/node-client.js: one RpcClient, a pool of `connections` connections, connections x pipeline calls in flight) instead of loadgen.c: the baseline for moleculer",
    default: false,
    command: forkrpcStart(),
    ready: /forkrpc ready:/,
    prepare: warmStart,
    protocol: "node-forkrpc",
  },
  {
    name: "moleculer",
    note: `Moleculer (peers/moleculer/: ${MOLECULER_VERSIONS}): one ServiceBroker node per worker process (its way to use cores: nodes, not a shared socket), each with a \`ping\` service whose action returns its params, TCP transporter with static addresses (no UDP discovery), JSON serializer. Called by a client broker in the Node client harness (bench/node-client.js), which balances calls over the nodes round-robin on one TCP connection per node whatever \`connections\` is, connections x pipeline calls in flight`,
    default: false,
    command: nodeScript("bench/peers/moleculer/server.js"),
    ready: /moleculer ready on .* \(nodes /,
    prepare: prepareMoleculer,
    versions: () => MOLECULER_VERSIONS,
    protocol: "node-moleculer",
    against: "forkrpc-node",
    target: moleculerNodes,
  },
  // The cost of the middleware path (npm run bench:middleware): the same
  // start command, the same plugins/ping.ts, with and without three trivial
  // global middleware. Not in the default run; pick them with --peers.
  forkrpcWithConfig({
    name: "forkrpc-mw0",
    config: "bench/fixtures/middleware-0/rpc.config.ts",
    note: "forkrpc as the `forkrpc` peer, with bench/fixtures/middleware-0/rpc.config.ts: plugins/ping.ts only, no middleware (the direct dispatch path)",
  }),
  forkrpcWithConfig({
    name: "forkrpc-mw3",
    config: "bench/fixtures/middleware-3/rpc.config.ts",
    note: "forkrpc as the `forkrpc` peer, with bench/fixtures/middleware-3/rpc.config.ts: plugins/ping.ts behind three trivial global middleware (`async (ctx, next) => { await next(); }`, one setting ctx.state.bench, one reading ctx.request.method)",
  }),
  // The cost of recording metrics (npm run bench:metrics): forkrpc-mw0 above
  // with an admin server, so workers record every call.
  forkrpcWithConfig({
    name: "forkrpc-metrics",
    config: "bench/fixtures/metrics-on/rpc.config.ts",
    note: "forkrpc-mw0 with `admin` set (bench/fixtures/metrics-on/rpc.config.ts): every call recorded into per-method histograms, sent with the heartbeats",
  }),
];

/** The `forkrpc` peer's command with `--config FILE` (relative to the repository). */
function forkrpcWithConfig({ name, config, note }) {
  return {
    name,
    note,
    default: false,
    command: forkrpcStart(["--config", config]),
    ready: /forkrpc ready:/,
    prepare: warmStart,
  };
}

/** The named peers, in the order given; without names, the default set (every peer not marked `default: false`). */
export function findPeers(names) {
  if (names === undefined) return PEERS.filter((p) => p.default !== false);
  return names.map((name) => {
    const peer = PEERS.find((p) => p.name === name);
    if (peer === undefined) throw new Error(`unknown peer "${name}"; known: ${PEERS.map((p) => p.name).join(", ")}`);
    return peer;
  });
}
