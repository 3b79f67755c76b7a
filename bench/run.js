// The forkrpc benchmark: every peer server under the same ping load from the
// C load generator, over a grid of cells (connections x pipeline depth x
// payload size). In each cell the peers take turns (A B C A B C, one fresh
// server per measurement), so noise on a shared machine shows as spread
// between rounds instead of hiding in one number. Figures are compared only
// as ratios against the baseline peer measured in the same run.
//
//   npm run bench:grid [-- --rounds 2 --duration 5 --warmup 1
//                     --connections 1,32,512 --pipeline 1,32 --payload 16,16384
//                     --workers 2 --threads 1 --peers minimal-node,forkrpc,...
//                     --results bench/RESULTS.md]
//
//   npm run bench:middleware    (--peers forkrpc-mw0,forkrpc-mw3, one cell,
//                                --results bench/RESULTS-middleware.md)
//
// (`npm run bench` runs this with its defaults, then bench/scaling.js.)
//
// --peers picks peers by name (bench/peers/index.js), the first being the
// baseline; without it, the default set. --connections, --pipeline and
// --payload take comma-separated lists: the grid is every combination.
//
// See bench/README.md for what is measured and how to read it.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gridChart } from "./lib/chart.js";
import { hostFacts, hostLines, invocation } from "./lib/host.js";
import { buildLoadgen } from "./lib/loadgen.js";
import { measureLoad } from "./lib/measure.js";
import { benchArgs } from "./lib/options.js";
import { gridTable, pairTable, ratioTable, runsTable, summarize, summaryTable } from "./lib/report.js";
import { freePort, setServerNode, startPeer, stopPeer } from "./lib/server.js";
import { cellName, gridCells } from "./lib/grid.js";
import { checkTargets, targetsTable } from "./lib/targets.js";
import { findPeers } from "./peers/index.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

const { values, int, ints } = benchArgs({
  duration: { type: "string", default: "5" },
  warmup: { type: "string", default: "1" },
  connections: { type: "string", default: "1,32,512" },
  pipeline: { type: "string", default: "1,32" },
  payload: { type: "string", default: "16,16384" },
  peers: { type: "string" },
  results: { type: "string", default: "bench/RESULTS.md" },
  node: { type: "string" },
});
const settings = {
  rounds: int("rounds"),
  duration: int("duration"),
  warmup: int("warmup"),
  workers: int("workers"),
  threads: int("threads"),
};
const peers = findPeers(values.peers?.split(","));
/** --node PATH: the servers run on that Node binary (a registry build, e.g.), the load generator and this script on ours. */
const serverNode = values.node === undefined ? null : { path: resolve(values.node), version: setServerNode(resolve(values.node)) };

const cells = gridCells({ connections: ints("connections"), pipeline: ints("pipeline"), payload: ints("payload") });

/**
 * The cell whose full per-run table the results show: the issue's headline
 * load (32 x 32, 16 characters) when the grid has it, else the first cell.
 */
const headline =
  cells.find((c) => c.connections === 32 && c.pipeline === 32 && c.payload === 16) ?? cells[0];

/**
 * One peer, one cell, one round: start, warm up, measure, stop. A run that
 * cannot complete (the server would not start, no connection connected) is
 * recorded as failed with its reason, and the bench goes on.
 */
async function measure(binary, peer, cell, round) {
  const base = { round, peer: peer.name, cell: cellName(cell), ...cell };
  const port = await freePort();
  let server;
  try {
    server = await startPeer(peer, { port, workers: settings.workers });
    const load = { ...settings, ...cell, protocol: peer.protocol };
    return { ...base, ...(await measureLoad(binary, server, load)) };
  } catch (error) {
    return { ...base, failed: String(error.message).split("\n")[0] };
  } finally {
    if (server !== undefined) await stopPeer(server);
  }
}

/** hostFacts plus the Python version (a peer runs on it). */
function machine() {
  let python = "not found";
  try {
    python = execFileSync("python3", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    // reported as such
  }
  const facts = hostFacts(["src", "loader", "plugins", "rpc.config.ts", "package.json", "bench/fixtures", "bench/peers"]);
  const node = serverNode === null ? facts.node : `${serverNode.version} for the servers (--node ${serverNode.path}), ${facts.node} for the bench`;
  return { ...facts, node, python };
}

const range = (xs) => (xs.length === 0 ? "-" : `${Math.min(...xs).toFixed(2)} to ${Math.max(...xs).toFixed(2)}`);

function resultsMarkdown({ date, host, loadBefore, loadAfter, runs, grid, targets, chartFile }) {
  const base = peers[0].name;
  const measured = runs.filter((r) => r.failed === undefined);
  const { headlineRuns, headlineSummaries } = headlineOf(runs);
  const failed = runs.filter((r) => r.failed !== undefined);
  const versions = peers.flatMap((p) => (p.versions === undefined ? [] : [`${p.name}: ${p.versions()}`]));
  return `# forkrpc bench results

Written by ${invocation("bench/run.js")}; see bench/README.md for how to read it,
and for what the profiles say is left (bench/README.md#what-the-profiles-say-is-left).
Only the ratios mean anything beyond this machine and this moment.

${hostLines({ date, host, loadBefore, loadAfter })}
- python: ${host.python}${versions.length > 0 ? `; ${versions.join("; ")}` : ""}
- other processes on the machine used ${range(measured.map((r) => r.other_cores))} cores during the measured windows${Math.max(0, ...measured.map((r) => r.other_cores)) > 0.25 ? " (busy machine: read the spread between rounds before the ratios)" : ""}
- load: ping with an N-character string param, pipelined without ids, ${settings.duration} s measured after ${settings.warmup} s warm-up, C load generator with ${settings.threads} thread(s) on the same machine${otherGenerators()}
- servers: ${settings.workers} workers each (the Python peer forks its own 10); a fresh server per measurement; rounds: ${settings.rounds}, peers alternating in each cell (${peers.map((p) => p.name).join(", ")})
${targets.length > 0 ? `\n## Targets\n\n${targetsTable(targets)}\n` : ""}
## The grid (mean of rounds)

${chartFile === null ? "" : `![requests/s and server CPU per request, every cell and peer](${chartFile})\n\n`}${gridTable(grid, base)}
${grid.some((s) => s.connections_served < s.connections) ? "\nA **bold** count of connections served is a peer that left some connections without a single answer for the whole window (never accepted, or never read): its rps is what the served ones got, and its latencies cover only them, so they flatter it.\n" : ""}${grid.some((s) => s.connections_served === null) ? "**<N** is h2load's: it does not count served connections, but its slowest connection got no answer in the window.\n" : ""}${failed.length > 0 ? `\nRuns that could not be measured:\n\n${failed.map((r) => `- ${r.peer}, ${r.cell}, round ${r.round}: ${r.failed}`).join("\n")}\n` : ""}
## ${cellName(headline)}: every run

${runsTable(headlineRuns)}

${headlineSummaries.length > 1 ? `${ratioTable(headlineRuns, headlineSummaries)}\n` : ""}${pairsSection(runs, grid)}
## Peers

${peers.map((p) => `- **${p.name}**: ${p.note}`).join("\n")}
`;
}

/**
 * Peers with an `against` (the peer they compare with like for like, e.g.
 * moleculer against forkrpc under the same Node client) whose counterpart
 * is in the run: their ratios cell by cell. Empty otherwise.
 */
function pairs() {
  return peers.filter((p) => p.against !== undefined && peers.some((q) => q.name === p.against)).map((p) => ({ peer: p.name, against: p.against }));
}

function pairsSection(runs, grid) {
  if (pairs().length === 0) return "";
  return `
## Each peer against its forkrpc counterpart (same load generator)

${pairTable(runs, grid, pairs())}

Above 1 in rps, and below 1 in CPU/req, the peer does better than forkrpc.
`;
}

/** The peers not loaded by loadgen.c, and by what, for the results header. */
function otherGenerators() {
  const by = { grpc: "h2load", "node-forkrpc": "the Node client harness", "node-moleculer": "the Node client harness" };
  const other = peers.filter((p) => by[p.protocol] !== undefined).map((p) => `${p.name} by ${by[p.protocol]}`);
  return other.length === 0 ? "" : ` (except ${other.join(", ")}: bench/README.md#other-load-generators)`;
}

/** The headline cell's measured runs and their means per peer. */
function headlineOf(runs) {
  const headlineRuns = runs.filter((r) => r.cell === cellName(headline) && r.failed === undefined);
  const headlineSummaries = summarize(headlineRuns, peers.map((p) => p.name)).filter((s) => s.rounds > 0);
  return { headlineRuns, headlineSummaries };
}

/** Means per cell and peer, in grid order. */
function gridSummaries(runs) {
  return cells.flatMap((cell) => {
    const mine = runs.filter((r) => r.cell === cellName(cell) && r.failed === undefined);
    return summarize(mine, peers.map((p) => p.name))
      .filter((s) => s.rounds > 0)
      .map((s) => ({ ...s, cell: cellName(cell), ...cell }));
  });
}

async function main() {
  const binary = buildLoadgen();
  for (const peer of peers) await peer.prepare?.(peer);
  const host = machine();
  const loadBefore = os.loadavg()[0];
  const date = new Date().toISOString();
  const perMeasure = settings.duration + settings.warmup + 2;
  const estimate = Math.ceil((cells.length * peers.length * settings.rounds * perMeasure) / 60);
  process.stdout.write(
    `bench: ${peers.map((p) => p.name).join(", ")}; ${cells.length} cells x ${settings.rounds} rounds; ` +
      `${settings.duration} s each (about ${estimate} min; load avg ${loadBefore.toFixed(2)})\n`,
  );
  const runs = [];
  for (const cell of cells) {
    for (let round = 1; round <= settings.rounds; round++) {
      for (const peer of peers) {
        const run = await measure(binary, peer, cell, round);
        runs.push(run);
        process.stdout.write(
          run.failed !== undefined
            ? `  ${run.cell} round ${round} ${peer.name}: failed: ${run.failed}\n`
            : `  ${run.cell} round ${round} ${peer.name}: ${Math.round(run.rps)} rps, p50 ${run.p50_us} us, ` +
                `p99 ${run.p99_us} us, ${run.server_cpu_us_per_req.toFixed(2)} CPU us/req, ` +
                `served ${run.connections_served ?? "?"}/${run.connections}, errors ${run.errors}, lost ${run.connections_lost}\n`,
        );
      }
    }
  }
  const grid = gridSummaries(runs);
  const targets = checkTargets(grid);
  const loadAfter = os.loadavg()[0];
  const { headlineSummaries } = headlineOf(runs);
  process.stdout.write(`\n${gridTable(grid, peers[0].name)}\n\n${cellName(headline)}:\n${summaryTable(headlineSummaries)}\n\n`);
  if (pairs().length > 0) process.stdout.write(`${pairTable(runs, grid, pairs())}\n\n`);
  if (targets.length > 0) process.stdout.write(`${targetsTable(targets)}\n`);
  if (values.results !== "-") {
    const results = { date, host, loadBefore, loadAfter, runs, grid, targets };
    // The raw figures first: whatever goes wrong after, the run is kept.
    const rawDir = join(ROOT, "bench/results/raw");
    mkdirSync(rawDir, { recursive: true });
    writeFileSync(join(rawDir, `${date.replace(/[:.]/g, "-")}.json`), `${JSON.stringify({ settings, cells, ...results }, null, 2)}\n`);
    const resultsFile = resolve(ROOT, values.results);
    mkdirSync(dirname(resultsFile), { recursive: true });
    const chartFile = grid.length > 0 ? resultsFile.replace(/\.md$/, "") + ".svg" : null;
    if (chartFile !== null) writeFileSync(chartFile, gridChart(grid, peers.map((p) => p.name)));
    writeFileSync(resultsFile, resultsMarkdown({ ...results, chartFile: chartFile === null ? null : basename(chartFile) }));
    process.stdout.write(`\nwrote ${values.results}${chartFile === null ? "" : " and its chart"} (raw figures in bench/results/raw/)\n`);
  }
  // A peer kept for comparison may fail cells (that is a finding, reported);
  // forkrpc and the baseline may not.
  const strict = new Set([peers[0].name, ...peers.filter((p) => p.name.startsWith("forkrpc")).map((p) => p.name)]);
  const bad = runs.filter(
    (r) => strict.has(r.peer) && (r.failed !== undefined || r.errors + r.connections_lost > 0 || r.connections_served < r.connections),
  );
  if (bad.length > 0) {
    process.stderr.write(`bench: ${bad.length} runs of ${[...strict].join("/")} failed, answered badly or lost connections: the figures above are suspect\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
