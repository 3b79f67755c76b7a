// The forkrpc benchmark: each peer server in turn, on a free port, under the
// same pipelined ping load from the C load generator; rounds alternate the
// peers (A B A B) so that noise on a shared machine shows as spread between
// rounds instead of hiding in one number. Figures are compared only as
// ratios against the baseline peer measured in the same run.
//
//   npm run bench [-- --rounds 2 --duration 10 --warmup 2 --connections 32
//                     --pipeline 32 --payload 16 --workers 2 --threads 1
//                     --peers minimal-node,forkrpc --results bench/RESULTS.md]
//
//   npm run bench:middleware    (--peers forkrpc-mw0,forkrpc-mw3
//                                --results bench/RESULTS-middleware.md)
//
// --peers picks peers by name (bench/peers/index.js), the first being the
// baseline; without it, the default set (minimal-node, forkrpc).
//
// See bench/README.md for what is measured and how to read it.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildLoadgen } from "./lib/loadgen.js";
import { measureLoad } from "./lib/measure.js";
import { ratioTable, runsTable, summarize, summaryTable } from "./lib/report.js";
import { freePort, startPeer, stopPeer } from "./lib/server.js";
import { findPeers } from "./peers/index.js";
import { benchArgs } from "./lib/options.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

const { values, int } = benchArgs({
  payload: { type: "string", default: "16" },
  peers: { type: "string" },
  results: { type: "string", default: "bench/RESULTS.md" },
});
const settings = {
  rounds: int("rounds"),
  duration: int("duration"),
  warmup: int("warmup"),
  connections: int("connections"),
  pipeline: int("pipeline"),
  payload: int("payload"),
  workers: int("workers"),
  threads: int("threads"),
};
const peers = findPeers(values.peers?.split(","));

/** One peer, one round: start, warm up, measure, stop. */
async function measure(binary, peer, round) {
  const port = await freePort();
  const server = await startPeer(peer, { port, workers: settings.workers });
  try {
    return { round, peer: peer.name, ...(await measureLoad(binary, server, settings)) };
  } finally {
    await stopPeer(server);
  }
}

function machine() {
  const git = (...args) => {
    try {
      return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    node: process.version,
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    kernel: `${os.type()} ${os.release()}`,
    commit: git("rev-parse", "--short", "HEAD"),
    dirty: git("status", "--porcelain", "--", "src", "plugins", "rpc.config.ts", "package.json", "bench/fixtures") !== "",
  };
}

/** How this run was started, as markdown for the results header. */
function invocation() {
  const script = process.env.npm_lifecycle_event;
  if (script === "bench" && process.argv.length <= 2) return "`npm run bench` (bench/run.js)";
  const command = `\`${["node", "bench/run.js", ...process.argv.slice(2)].join(" ")}\``;
  return script?.startsWith("bench") ? `\`npm run ${script}\` (${command})` : command;
}

const range = (xs) => `${Math.min(...xs).toFixed(2)} to ${Math.max(...xs).toFixed(2)}`;

function resultsMarkdown({ date, host, loadBefore, loadAfter, runs, summaries }) {
  const base = summaries[0].peer;
  return `# forkrpc bench results

Written by ${invocation()}; see bench/README.md for how to read it.
Only the ratios mean anything beyond this machine and this moment.

- date: ${date}
- node: ${host.node}
- machine: ${host.nproc} CPUs (${host.cpu}), ${host.kernel}
- load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}
- other processes on the machine used ${range(runs.map((r) => r.other_cores))} cores during the measured windows${Math.max(...runs.map((r) => r.other_cores)) > 0.25 ? " (busy machine: read the spread between rounds before the ratios)" : ""}
- forkrpc: commit ${host.commit}${host.dirty ? " plus uncommitted changes (src/, plugins/, configs or bench/fixtures/)" : ""}
- load: ${settings.connections} connections x ${settings.pipeline} pipelined pings, ${settings.payload}-character string params, ${settings.duration} s measured after ${settings.warmup} s warm-up, C load generator with ${settings.threads} thread(s) on the same machine
- servers: ${settings.workers} workers each; rounds: ${settings.rounds}, peers alternating (${summaries.map((s) => s.peer).join(", ")})

## Runs

${runsTable(runs)}

## Per peer (mean of rounds)

${summaryTable(summaries)}

${summaries.length > 1 ? `## Ratios against ${base}\n\n${ratioTable(runs, summaries)}\n` : ""}
## Peers

${peers.map((p) => `- **${p.name}**: ${p.note}`).join("\n")}
`;
}

async function main() {
  const binary = buildLoadgen();
  const host = machine();
  const loadBefore = os.loadavg()[0];
  const date = new Date().toISOString();
  process.stdout.write(
    `bench: ${peers.map((p) => p.name).join(" vs ")}, ${settings.rounds} rounds, ` +
      `${settings.connections}x${settings.pipeline} pipelined, ${settings.duration} s each (load avg ${loadBefore.toFixed(2)})\n`,
  );
  for (const peer of peers) await peer.prepare?.();
  const runs = [];
  for (let round = 1; round <= settings.rounds; round++) {
    for (const peer of peers) {
      const run = await measure(binary, peer, round);
      runs.push(run);
      process.stdout.write(
        `  round ${round} ${peer.name}: ${Math.round(run.rps)} rps, p50 ${run.p50_us} us, p99 ${run.p99_us} us, ` +
          `${run.server_cpu_us_per_req.toFixed(2)} server CPU us/req, errors ${run.errors}\n`,
      );
    }
  }
  const summaries = summarize(
    runs,
    peers.map((p) => p.name),
  );
  const loadAfter = os.loadavg()[0];
  process.stdout.write(`\n${runsTable(runs)}\n\n${summaryTable(summaries)}\n\n`);
  if (summaries.length > 1) process.stdout.write(`${ratioTable(runs, summaries)}\n`);
  if (values.results !== "-") {
    const results = { date, host, loadBefore, loadAfter, runs, summaries };
    writeFileSync(resolve(ROOT, values.results), resultsMarkdown(results));
    const rawDir = join(ROOT, "bench/results/raw");
    mkdirSync(rawDir, { recursive: true });
    writeFileSync(join(rawDir, `${date.replace(/[:.]/g, "-")}.json`), `${JSON.stringify({ settings, ...results }, null, 2)}\n`);
    process.stdout.write(`\nwrote ${values.results} (raw figures in bench/results/raw/)\n`);
  }
  const errors = runs.reduce((n, r) => n + r.errors + r.connections_lost, 0);
  if (errors > 0) {
    process.stderr.write(`bench: ${errors} bad answers or lost connections: the figures above are suspect\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
