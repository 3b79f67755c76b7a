// How much of a `forkrpc bench` figure is the load generator: the C load
// generator (bench/loadgen.c) and `forkrpc bench` (src/cli/bench.ts, from
// source, as `npm run forkrpc -- bench` runs it) take turns on the SAME
// server, the same grid cell as `npm run bench` (32 connections x 32
// pipelined pings, 16-character params, 1 load thread), C first in each
// round. A warm-up with the C generator runs before the first round.
//
//   node bench/loadgen-vs-cli.js [--rounds 2 --duration 10 --warmup 2
//                                 --connections 32 --pipeline 32 --workers 2
//                                 --threads 1 --peer minimal-node]
//
// Prints a markdown table (per run, then means and the cli/C ratios) and
// writes the raw figures to bench/results/raw/ (gitignored). Per run: rps
// and latency as each generator reports them; each generator's own CPU per
// request and in cores over its measured window (getrusage for C,
// process.cpuUsage for forkrpc bench); the server tree's CPU (/proc) around
// the run, per request and per second of window; the generator's whole
// process CPU, start and exit included (cutime/cstime of this process once
// it has exited); and what the rest of the machine used meanwhile. 127.0.0.1 only;
// every run is bounded by its duration; the server is stopped by its pid.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildLoadgen, runLoadgen } from "./lib/loadgen.js";
import { CLOCK_TICKS, cpuBetween, cpuSample, machineSample } from "./lib/proctree.js";
import { freePort, startPeer, stopPeer } from "./lib/server.js";
import { findPeers } from "./peers/index.js";
import { benchArgs } from "./lib/options.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PAYLOAD = 16;

const { values, int: n } = benchArgs({ peer: { type: "string", default: "minimal-node" } });
const settings = {
  rounds: n("rounds"),
  duration: n("duration"),
  warmup: n("warmup"),
  connections: n("connections"),
  pipeline: n("pipeline"),
  workers: n("workers"),
  threads: n("threads"),
};
const [peer] = findPeers([values.peer]);

/** The C generator's params: PAYLOAD characters 'a', 'b', ... as loadgen.c writes them. */
const params = JSON.stringify(Array.from({ length: PAYLOAD }, (_, i) => String.fromCharCode(97 + (i % 26))).join(""));

/** `npm run forkrpc -- bench ... --json`, resolving with its summary. */
function runCli(port) {
  const args = [
    "--import", "./loader/register.js", "--conditions=forkrpc-source", "src/cli/main.ts", "bench",
    "--host", "127.0.0.1", "--port", String(port), "--connections", String(settings.connections),
    "--pipeline", String(settings.pipeline), "--duration", String(settings.duration),
    "--threads", String(settings.threads), "--params", params, "--json",
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const killer = setTimeout(() => child.kill("SIGKILL"), (settings.duration + 30) * 1000);
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("exit", (code) => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`forkrpc bench exited ${code} without a summary\n${err}`));
      }
    });
  });
}

/**
 * CPU microseconds of this process's children that have exited (cutime +
 * cstime of /proc/self/stat): around one run, the whole generator process,
 * its start and its exit included, whichever generator it is.
 */
function childrenCpuUs() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1e6) / CLOCK_TICKS;
}

/** One run of one generator, with the server's CPU and the machine's busy time around it. */
async function measure(server, generator, round, binary) {
  const serverBefore = cpuSample(server.pid);
  const machineBefore = machineSample();
  const childrenBefore = childrenCpuUs();
  const started = performance.now();
  let run;
  if (generator === "C loadgen") {
    const r = await runLoadgen(binary, { port: server.port, connections: settings.connections, pipeline: settings.pipeline, seconds: settings.duration, payload: PAYLOAD, threads: settings.threads });
    run = { requests: r.requests, seconds: r.seconds, rps: r.rps, p50: r.p50_us, p99: r.p99_us, p999: r.p999_us, errors: r.errors + r.connections_lost, loadgenCpuUs: r.cpu_us };
  } else {
    const s = await runCli(server.port);
    run = { requests: s.requests, seconds: s.seconds, rps: s.rps, p50: s.latencyUs.p50, p99: s.latencyUs.p99, p999: s.latencyUs.p999, errors: s.errors + s.connectionsLost, loadgenCpuUs: s.loadgen.cpuUs };
  }
  const wallUs = (performance.now() - started) * 1000;
  const serverUs = cpuBetween(serverBefore, cpuSample(server.pid)).total;
  const machineUs = machineSample().busy - machineBefore.busy;
  const generatorUs = childrenCpuUs() - childrenBefore;
  return {
    round,
    generator,
    ...run,
    loadgenUsPerReq: run.loadgenCpuUs / Math.max(run.requests, 1),
    loadgenCores: run.loadgenCpuUs / (run.seconds * 1e6),
    serverUsPerReq: serverUs / Math.max(run.requests, 1),
    serverCores: serverUs / (run.seconds * 1e6),
    generatorProcessS: generatorUs / 1e6,
    otherCores: Math.max(0, machineUs - serverUs - generatorUs) / wallUs,
  };
}

const fmt = (x, digits = 0) => x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const COLUMNS = [
  ["round", (r) => String(r.round)],
  ["generator", (r) => r.generator],
  ["rps", (r) => fmt(r.rps)],
  ["p50 us", (r) => fmt(r.p50)],
  ["p99 us", (r) => fmt(r.p99)],
  ["p99.9 us", (r) => fmt(r.p999)],
  ["loadgen CPU us/req", (r) => fmt(r.loadgenUsPerReq, 2)],
  ["loadgen cores", (r) => fmt(r.loadgenCores, 2)],
  ["server CPU us/req", (r) => fmt(r.serverUsPerReq, 2)],
  ["server cores", (r) => fmt(r.serverCores, 2)],
  ["loadgen process CPU s", (r) => fmt(r.generatorProcessS, 2)],
  ["other load cores", (r) => fmt(r.otherCores, 2)],
  ["errors", (r) => fmt(r.errors)],
];

function table(rows) {
  const head = `| ${COLUMNS.map(([h]) => h).join(" | ")} |`;
  const rule = `|${COLUMNS.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`;
  return [head, rule, ...rows.map((r) => `| ${COLUMNS.map(([, f]) => f(r)).join(" | ")} |`)].join("\n");
}

function mean(runs, key) {
  return runs.reduce((a, r) => a + r[key], 0) / runs.length;
}

async function main() {
  const binary = buildLoadgen();
  const port = await freePort();
  const server = await startPeer(peer, { port, workers: settings.workers });
  const date = new Date().toISOString();
  const loadBefore = os.loadavg()[0];
  const runs = [];
  try {
    if (settings.warmup > 0) await runLoadgen(binary, { port, connections: settings.connections, pipeline: settings.pipeline, seconds: settings.warmup, payload: PAYLOAD, threads: settings.threads });
    for (let round = 1; round <= settings.rounds; round++) {
      for (const generator of ["C loadgen", "forkrpc bench"]) {
        const run = await measure(server, generator, round, binary);
        runs.push(run);
        process.stderr.write(`  round ${round} ${generator}: ${fmt(run.rps)} rps, ${fmt(run.loadgenUsPerReq, 2)} loadgen CPU us/req\n`);
      }
    }
  } finally {
    await stopPeer(server);
  }
  const c = runs.filter((r) => r.generator === "C loadgen");
  const cli = runs.filter((r) => r.generator === "forkrpc bench");
  const perRound = c.map((r, i) => (cli[i].rps / r.rps).toFixed(3)).join(", ");
  const lines = [
    `- date: ${date}`,
    `- machine: ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? "unknown"}), ${os.type()} ${os.release()}, Node ${process.version}; load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0].toFixed(2)}`,
    `- server: ${peer.name} (${peer.note}), ${settings.workers} workers, one instance for every run`,
    `- load: ${settings.connections} connections x ${settings.pipeline} pipelined pings, ${PAYLOAD}-character params, ${settings.duration} s per run, ${settings.threads} load thread(s), C then forkrpc bench in each of ${settings.rounds} rounds, after a ${settings.warmup} s C warm-up`,
    "",
    table(runs),
    "",
    `Means: C loadgen ${fmt(mean(c, "rps"))} rps at ${fmt(mean(c, "loadgenUsPerReq"), 2)} CPU us/req; forkrpc bench ${fmt(mean(cli, "rps"))} rps at ${fmt(mean(cli, "loadgenUsPerReq"), 2)} CPU us/req.`,
    `Ratio forkrpc bench / C loadgen: rps ${(mean(cli, "rps") / mean(c, "rps")).toFixed(3)} (per round ${perRound}); load generator CPU per request ${(mean(cli, "loadgenUsPerReq") / mean(c, "loadgenUsPerReq")).toFixed(2)}x.`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  const rawDir = join(ROOT, "bench/results/raw");
  mkdirSync(rawDir, { recursive: true });
  writeFileSync(join(rawDir, `loadgen-vs-cli-${date.replace(/[:.]/g, "-")}.json`), `${JSON.stringify({ date, settings, peer: peer.name, runs }, null, 2)}\n`);
}

main().catch((error) => {
  process.stderr.write(`loadgen-vs-cli: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
