// forkrpc's scaling figures, each against a baseline measured in the same
// run (this is a shared, noisy 2-core machine: only ratios travel):
//
//   idle     10,000 idle connections: RSS per connection, all still answered
//            (baseline: minimal-node)
//   methods  ping with 1001 registered methods vs ping alone, A B A B
//            (baseline: the same app with only ping)
//   payload  16 B to 512 KB params: rps, MB/s, CPU per request and per byte
//            (baseline: minimal-node, alternating per size and round)
//   startup  spawn to "forkrpc ready:" with 1, 100 and 1000 plugin files
//            (floor: minimal-node's ready line)
//
//   npm run bench:scaling [-- --figures idle,methods,payload,startup
//       --rounds 2 --duration 4 --warmup 1 --connections 32 --pipeline 32
//       --workers 2 --threads 1 --idle-connections 10000 --idle-hold 10
//       --idle-batch 500 --payload-sizes 16,1024,16384,65536,524288
//       --starts 3 --results bench/RESULTS-scaling.md]
//
// --results - writes nothing. About 3-4 minutes with the defaults. See
// bench/README.md (Scaling) for what each figure measures and how to read it.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { announcedMethods, appPeer, generateApp } from "./lib/apps.js";
import { hostFacts, invocation } from "./lib/host.js";
import { measureIdle } from "./lib/idle.js";
import { buildLoadgen } from "./lib/loadgen.js";
import { measureLoad } from "./lib/measure.js";
import { benchArgs } from "./lib/options.js";
import { problems, resultsMarkdown } from "./lib/scaling-report.js";
import { freePort, startPeer, stopPeer } from "./lib/server.js";
import { findPeers } from "./peers/index.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FIGURES = ["idle", "methods", "payload", "startup"];

const { values, int } = benchArgs({
  duration: { type: "string", default: "4" },
  warmup: { type: "string", default: "1" },
  figures: { type: "string", default: FIGURES.join(",") },
  "idle-connections": { type: "string", default: "10000" },
  "idle-hold": { type: "string", default: "10" },
  "idle-batch": { type: "string", default: "500" },
  "payload-sizes": { type: "string", default: "16,1024,16384,65536,524288" },
  starts: { type: "string", default: "3" },
  results: { type: "string", default: "bench/RESULTS-scaling.md" },
});
const settings = {
  rounds: int("rounds"),
  duration: int("duration"),
  warmup: int("warmup"),
  connections: int("connections"),
  pipeline: int("pipeline"),
  workers: int("workers"),
  threads: int("threads"),
  idleConnections: int("idle-connections"),
  idleHold: int("idle-hold"),
  idleBatch: int("idle-batch"),
  payloadSizes: values["payload-sizes"].split(",").map(Number),
  starts: int("starts"),
};
const figures = values.figures.split(",");
for (const name of figures) if (!FIGURES.includes(name)) throw new Error(`unknown figure "${name}"; known: ${FIGURES.join(", ")}`);
if (!settings.payloadSizes.every((n) => Number.isInteger(n) && n > 0)) throw new Error("--payload-sizes must be whole numbers above 0");

const say = (line) => process.stdout.write(`${line}\n`);
const [minimal, forkrpc] = findPeers(["minimal-node", "forkrpc"]);

/**
 * The load at a payload size. Up to 1 KB, the usual cell; up to 64 KB, 4
 * pipelined (32 x 4 x 64 KB = 8 MB in flight each way); above, 8
 * connections x 1 (4 MB at 512 KB). Besides bounding memory, few requests in
 * flight keep the figures honest where a request takes milliseconds: a
 * window ends with every in-flight request partly paid for and not counted,
 * so in flight must stay small next to the requests completed.
 */
function loadFor(size) {
  if (size <= 1024) return { connections: settings.connections, pipeline: settings.pipeline };
  if (size <= 65536) return { connections: settings.connections, pipeline: Math.min(4, settings.pipeline) };
  return { connections: Math.min(8, settings.connections), pipeline: 1 };
}

/** The soft limit on open files (inherited by every process started here), and the ephemeral port range. */
function socketLimits() {
  const text = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  return { files: text === "unlimited" ? Infinity : Number(text), ports: high - low + 1 };
}

async function idleFigure() {
  const limits = socketLimits();
  // The client holds every connection in one process; the workers split them.
  const needed = settings.idleConnections + 100;
  if (limits.files < needed || limits.ports < needed) {
    const why =
      `ulimit -n is ${limits.files} and the ephemeral port range has ${limits.ports} ports; ` +
      `${settings.idleConnections} connections need at least ${needed} of each. ` +
      "Raise the limit (ulimit -n 20000) or pass a smaller --idle-connections.";
    say(`idle: SKIPPED: ${why}`);
    return { limits, skipped: why };
  }
  const runs = [];
  for (const peer of [minimal, forkrpc]) {
    const run = await measureIdle(peer, {
      workers: settings.workers,
      connections: settings.idleConnections,
      batch: settings.idleBatch,
      hold: settings.idleHold,
    });
    runs.push(run);
    say(
      `  idle ${peer.name}: ${run.answered}/${run.connections} answered, ${run.idle_kb_per_connection.toFixed(2)} KB/connection idle ` +
        `(${run.pinged_kb_per_connection.toFixed(2)} after the pings), opened in ${Math.round(run.open_ms)} ms, ` +
        `answered in ${Math.round(run.answer_ms)} ms`,
    );
  }
  return { limits, runs };
}

/** Starts every peer (kept running while the others are measured); stops them all whatever happens. */
async function withPeers(peers, body) {
  const servers = [];
  try {
    for (const peer of peers) servers.push(await startPeer(peer, { port: await freePort(), workers: settings.workers }));
    return await body(servers);
  } finally {
    for (const server of servers) await stopPeer(server);
  }
}

const loadOf = (extra) => ({
  warmup: settings.warmup,
  duration: settings.duration,
  connections: settings.connections,
  pipeline: settings.pipeline,
  payload: 16,
  threads: settings.threads,
  ...extra,
});

async function methodsFigure(binary, apps) {
  const peers = [
    appPeer(forkrpc, "ping-only", apps.pingOnly, `forkrpc with ${apps.pingOnly.config}: plugins/ping.ts alone (1 method)`),
    appPeer(forkrpc, "methods-1001", apps.methods, `forkrpc with ${apps.methods.config}: plugins/ping.ts plus 10 files of 100 trivial methods (1001 methods)`),
  ];
  return withPeers(peers, async (servers) => {
    const announced = Object.fromEntries(servers.map((s) => [s.peer.name, announcedMethods(s)]));
    const runs = [];
    for (let round = 1; round <= settings.rounds; round++) {
      for (const server of servers) {
        const run = { round, peer: server.peer.name, ...(await measureLoad(binary, server, loadOf())) };
        runs.push(run);
        say(`  methods round ${round} ${run.peer}: ${Math.round(run.rps)} rps, ${run.server_cpu_us_per_req.toFixed(2)} server CPU us/req, errors ${run.errors}`);
      }
    }
    return { peers: peers.map(({ name, note }) => ({ name, note })), announced, runs };
  });
}

async function payloadFigure(binary) {
  return withPeers([minimal, forkrpc], async (servers) => {
    const runs = [];
    for (const size of settings.payloadSizes) {
      const load = loadFor(size);
      for (let round = 1; round <= settings.rounds; round++) {
        for (const server of servers) {
          const report = await measureLoad(binary, server, loadOf({ payload: size, ...load }));
          const run = { size, round, peer: server.peer.name, ...report };
          runs.push(run);
          say(
            `  payload ${size} B round ${round} ${run.peer}: ${Math.round(run.rps)} rps, ` +
              `${run.server_cpu_us_per_req.toFixed(2)} server CPU us/req, errors ${run.errors}`,
          );
        }
      }
    }
    return { loads: Object.fromEntries(settings.payloadSizes.map((s) => [s, loadFor(s)])), runs };
  });
}

/** Spawn to ready line, each start stopped before the next; rounds cycle through the peers. */
async function startupFigure(apps) {
  const peers = [
    { peer: minimal, files: null, methods: null },
    ...[apps.pingOnly, apps.files100, apps.files1000].map((app) => ({
      peer: appPeer(forkrpc, `files-${app.files}`, app, `forkrpc with ${app.config}: ${app.files} plugin file(s), one method each`),
      files: app.files,
      methods: app.methods,
    })),
  ];
  const starts = [];
  for (let round = 1; round <= settings.starts; round++) {
    for (const { peer, files, methods } of peers) {
      const begin = performance.now();
      const server = await startPeer(peer, { port: await freePort(), workers: settings.workers });
      const ms = performance.now() - begin;
      const announced = files === null ? null : announcedMethods(server);
      await stopPeer(server);
      starts.push({ round, peer: peer.name, files, methods, announced, ms });
      say(`  startup round ${round} ${peer.name}: ${Math.round(ms)} ms${announced === null ? "" : ` (${announced} methods announced)`}`);
    }
  }
  return { peers: peers.map(({ peer, files }) => ({ name: peer.name, files, note: peer.note })), starts };
}

/** Runs one figure; a failure is recorded (and fails the script) without stopping the others. */
async function figure(name, run) {
  if (!figures.includes(name)) return undefined;
  say(`${name}:`);
  const begin = performance.now();
  try {
    return { ...(await run()), seconds: (performance.now() - begin) / 1000 };
  } catch (error) {
    process.stderr.write(`bench:scaling: ${name} failed: ${error.stack ?? error}\n`);
    process.exitCode = 1;
    return { error: String(error.message ?? error) };
  }
}

async function main() {
  const date = new Date().toISOString();
  const host = hostFacts();
  const loadBefore = os.loadavg()[0];
  say(`bench:scaling: ${figures.join(", ")} (load avg ${loadBefore.toFixed(2)})`);
  const binary = figures.includes("methods") || figures.includes("payload") ? buildLoadgen() : null;
  const apps = {
    pingOnly: generateApp("ping-only"),
    methods: generateApp("methods-1001", { extraFiles: 10, methodsPerFile: 100 }),
    files100: generateApp("files-100", { extraFiles: 99 }),
    files1000: generateApp("files-1000", { extraFiles: 999 }),
  };
  const results = {
    idle: await figure("idle", idleFigure),
    methods: await figure("methods", () => methodsFigure(binary, apps)),
    payload: await figure("payload", () => payloadFigure(binary)),
    startup: await figure("startup", () => startupFigure(apps)),
  };
  const run = { date, host, loadBefore, loadAfter: os.loadavg()[0], settings, results };
  const markdown = resultsMarkdown(run, invocation("bench/scaling.js"));
  say(`\n${markdown}`);
  if (values.results !== "-") {
    writeFileSync(resolve(ROOT, values.results), markdown);
    const rawDir = join(ROOT, "bench/results/raw");
    mkdirSync(rawDir, { recursive: true });
    writeFileSync(join(rawDir, `scaling-${date.replace(/[:.]/g, "-")}.json`), `${JSON.stringify(run, null, 2)}\n`);
    say(`wrote ${values.results} (raw figures in bench/results/raw/)`);
  }
  const wrong = problems(run);
  if (wrong.length > 0) {
    process.stderr.write(`bench:scaling: ${wrong.join("; ")}\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench:scaling: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
