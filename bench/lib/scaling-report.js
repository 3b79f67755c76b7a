// The markdown of bench/RESULTS-scaling.md: a summary with the verdicts, then
// one section per figure (bench/scaling.js), each with its baseline.
import { hostLines } from "./host.js";
import { cell, mean, ratioTable, runsTable, summarize, summaryTable, table } from "./report.js";

/** Target of the idle figure: resident memory per idle connection. */
export const IDLE_TARGET_KB = 10;
/** Marginal CPU per byte may vary this much across payload sizes and still count as linear (noise). */
const LINEAR_TOLERANCE = 1.5;
/** Frame bytes around a PAYLOAD-character string: 4 + {"in":"ping","params":"..."} and 4 + {"out":"pong","result":"..."}. */
const REQUEST_OVERHEAD = 4 + 25;
const ANSWER_OVERHEAD = 4 + 26;

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- idle connections ----

function idleVerdict(idle) {
  if (idle === undefined) return null;
  if (idle.error !== undefined) return `**10,000 idle connections**: FAILED: ${idle.error}`;
  if (idle.skipped !== undefined) return `**Idle connections**: SKIPPED: ${idle.skipped}`;
  const [base, fk] = idle.runs;
  const met = fk.answered === fk.connections && fk.idle_kb_per_connection <= IDLE_TARGET_KB;
  return (
    `**${fk.connections.toLocaleString("en-US")} idle connections**: forkrpc answered ${fk.answered.toLocaleString("en-US")} / ${fk.connections.toLocaleString("en-US")} ` +
    `and grew by ${cell(fk.idle_kb_per_connection, 2)} KB per idle connection (${cell(fk.pinged_kb_per_connection, 2)} KB after one ping each); ` +
    `target <= ${IDLE_TARGET_KB} KB and every connection answered: ${met ? "**met**" : "**not met**"}. ` +
    `minimal-node: ${base.answered.toLocaleString("en-US")} answered, ${cell(base.idle_kb_per_connection, 2)} KB idle ` +
    `(forkrpc / minimal-node = ${cell(fk.idle_kb_per_connection / base.idle_kb_per_connection, 2)}).`
  );
}

function idleSection(idle, settings) {
  if (idle.error !== undefined) return `Failed: ${idle.error}`;
  if (idle.skipped !== undefined) return `Skipped: ${idle.skipped}`;
  const rows = idle.runs.map((r) => [
    r.peer,
    `${r.answered.toLocaleString("en-US")} / ${r.connections.toLocaleString("en-US")}`,
    cell(r.rss_before_mb, 1),
    cell(r.rss_idle_mb, 1),
    cell(r.rss_pinged_mb, 1),
    cell(r.idle_kb_per_connection, 2),
    cell(r.pinged_kb_per_connection, 2),
    cell(r.open_ms, 0),
    cell(r.accept_lag_ms, 0),
    cell(r.answer_ms, 0),
    r.held_per_process.join(" / "),
    `${r.lost_before_ping} / ${r.closed_by_server}`,
    `${r.processes_lost} / ${r.processes_new}`,
  ]);
  const [base, fk] = idle.runs;
  return `${settings.idleConnections.toLocaleString("en-US")} connections opened ${settings.idleBatch} at a time by one Node client process,
held idle ${settings.idleHold} s, then one \`{"in":"ping","params":"x"}\` on each (answer checked: \`"out":"pong"\`, \`"result":"x"\`).
RSS is the server tree's (master + workers) from /proc; "KB/conn" is its growth over the RSS before the
first connection, divided by the connections opened. ulimit -n: ${idle.limits.files}; ephemeral ports: ${idle.limits.ports}.

${table(
  [
    "peer",
    "answered",
    "RSS before MB",
    "RSS idle MB",
    "RSS after pings MB",
    "KB/conn idle",
    "KB/conn after pings",
    "open ms",
    "accept lag ms",
    "answer all ms",
    "held per process (master / workers)",
    "closed by server before / after pings",
    "processes lost / new",
  ],
  rows,
  2,
)}

forkrpc / minimal-node: KB/conn idle ${cell(fk.idle_kb_per_connection / base.idle_kb_per_connection, 2)}, after the pings ${cell(fk.pinged_kb_per_connection / base.pinged_kb_per_connection, 2)}; time to answer all ${cell(fk.answer_ms / base.answer_ms, 2)}.`;
}

// ---- registered methods ----

function methodsVerdict(methods) {
  if (methods === undefined) return null;
  if (methods.error !== undefined) return `**1 vs 1001 methods**: FAILED: ${methods.error}`;
  const [base, many] = summarize(methods.runs, methods.peers.map((p) => p.name));
  const perRound = (key) =>
    [...new Set(methods.runs.map((r) => r.round))]
      .map((round) => {
        const a = methods.runs.find((r) => r.round === round && r.peer === many.peer);
        const b = methods.runs.find((r) => r.round === round && r.peer === base.peer);
        return cell(a[key] / b[key], 3);
      })
      .join(", ");
  return (
    `**1 vs 1001 registered methods** (ping at 32 x 32): ${many.peer} / ${base.peer} server CPU us/req ${cell(many.server_cpu_us_per_req / base.server_cpu_us_per_req, 3)} ` +
    `(rounds: ${perRound("server_cpu_us_per_req")}), rps ${cell(many.rps / base.rps, 3)} (rounds: ${perRound("rps")}); ` +
    `expected ~1 (a method lookup is one Map.get).`
  );
}

function methodsSection(methods, settings) {
  if (methods.error !== undefined) return `Failed: ${methods.error}`;
  const names = methods.peers.map((p) => p.name);
  const summaries = summarize(methods.runs, names);
  return `Both servers run the whole figure, measured alternately (${names.join(", ")}, ${plural(settings.rounds, "round")}):
${settings.connections} connections x ${settings.pipeline} pipelined pings, 16-character params, ${settings.duration} s after ${settings.warmup} s warm-up.
Methods announced on the ready lines: ${names.map((n) => `${n} ${methods.announced[n] ?? "?"}`).join(", ")}.

${methods.peers.map((p) => `- **${p.name}**: ${p.note}`).join("\n")}

${runsTable(methods.runs)}

${summaryTable(summaries)}

${ratioTable(methods.runs, summaries)}`;
}

// ---- payload sizes ----

/** Per size and peer: means of the rounds, MB/s each way, CPU per byte (total and above the smallest size). */
function payloadRows(payload) {
  const sizes = [...new Set(payload.runs.map((r) => r.size))];
  const peers = [...new Set(payload.runs.map((r) => r.peer))];
  const rows = [];
  for (const peer of peers) {
    let first = null;
    for (const size of sizes) {
      const mine = payload.runs.filter((r) => r.peer === peer && r.size === size);
      const rps = mean(mine.map((r) => r.rps));
      const cpu = mean(mine.map((r) => r.server_cpu_us_per_req));
      first ??= { size, cpu };
      rows.push({
        peer,
        size,
        rounds: mine,
        load: payload.loads[size],
        requests: mean(mine.map((r) => r.requests)),
        rps,
        cpu,
        cores: mean(mine.map((r) => r.server_cores)),
        in_mbs: (rps * (REQUEST_OVERHEAD + size)) / 1e6,
        out_mbs: (rps * (ANSWER_OVERHEAD + size)) / 1e6,
        ns_per_byte: (cpu * 1000) / size,
        marginal_ns_per_byte: size > first.size ? ((cpu - first.cpu) * 1000) / (size - first.size) : null,
        errors: mine.reduce((n, r) => n + r.errors + r.connections_lost, 0),
      });
    }
  }
  return rows;
}

/**
 * Whether forkrpc's cost grows with bytes and nothing worse: its CPU per
 * extra byte across the large sizes (flat means linear), next to the
 * baseline's (what Node and the kernel do anyway), and its CPU ratio to the
 * baseline, which should not grow with the payload.
 */
function payloadChecks(rows) {
  const checks = [];
  const marginals = (peer) => rows.filter((r) => r.peer === peer && r.size >= 16384 && r.marginal_ns_per_byte !== null);
  const fk = marginals("forkrpc");
  const base = marginals(rows.find((r) => r.peer !== "forkrpc").peer);
  if (fk.length >= 2) {
    const flat = (list) => Math.max(...list.map((r) => r.marginal_ns_per_byte)) <= LINEAR_TOLERANCE * Math.min(...list.map((r) => r.marginal_ns_per_byte));
    const show = (list) => list.map((r) => `${cell(r.marginal_ns_per_byte, 2)} at ${r.size} B`).join(", ");
    checks.push(
      `CPU ns per extra payload byte, forkrpc: ${show(fk)} (${flat(fk) ? "flat" : "not flat"} within ${LINEAR_TOLERANCE}x); ` +
        `${base[0]?.peer}: ${show(base)} (${flat(base) ? "flat" : "not flat"})`,
    );
  }
  const ratios = rows
    .filter((r) => r.peer === "forkrpc")
    .map((r) => ({ size: r.size, ratio: r.cpu / rows.find((b) => b.peer !== "forkrpc" && b.size === r.size).cpu }));
  if (ratios.length >= 2) {
    const [smallest] = ratios;
    const worse = ratios.filter((r) => r.ratio > smallest.ratio * 1.1);
    checks.push(
      `forkrpc / ${rows.find((r) => r.peer !== "forkrpc").peer} CPU per request: ${ratios.map((r) => `${cell(r.ratio, 2)} at ${r.size} B`).join(", ")} ` +
        `(${worse.length === 0 ? "the gap does not grow with the payload" : `above the ${smallest.size} B gap (+10%) at ${worse.map((r) => `${r.size} B`).join(", ")}`})`,
    );
  }
  return checks;
}

function payloadVerdict(payload) {
  if (payload === undefined) return null;
  if (payload.error !== undefined) return `**Payload sizes**: FAILED: ${payload.error}`;
  const sizes = payload.runs.map((r) => r.size);
  return `**Payload ${Math.min(...sizes)} B to ${Math.max(...sizes)} B**: ${payloadChecks(payloadRows(payload)).join("; ")}.`;
}

function payloadSection(payload, settings) {
  if (payload.error !== undefined) return `Failed: ${payload.error}`;
  const rows = payloadRows(payload);
  const sizes = [...new Set(rows.map((r) => r.size))];
  const loads = sizes.map((s) => `${s} B: ${payload.loads[s].connections} x ${payload.loads[s].pipeline}`).join(", ");
  const main = table(
    ["size B", "peer", "conns x pipeline", "requests per run", "in flight / done", "rps", "MB/s in", "MB/s out", "server CPU us/req", "ns/byte", "ns/extra byte", "server cores", "errors"],
    rows.map((r) => [
      String(r.size),
      r.peer,
      `${r.load.connections} x ${r.load.pipeline}`,
      cell(r.requests, 0),
      `${cell((100 * r.load.connections * r.load.pipeline) / Math.max(r.requests, 1), 1)}%`,
      cell(r.rps, 0),
      cell(r.in_mbs, 1),
      cell(r.out_mbs, 1),
      cell(r.cpu, 2),
      cell(r.ns_per_byte, 2),
      cell(r.marginal_ns_per_byte, 2),
      cell(r.cores, 2),
      String(r.errors),
    ]),
    2,
  );
  const ratioRows = sizes.map((size) => {
    const fk = rows.find((r) => r.size === size && r.peer === "forkrpc");
    const base = rows.find((r) => r.size === size && r.peer !== "forkrpc");
    const perRound = (key) => fk.rounds.map((a, i) => cell(a[key] / base.rounds[i][key], 2)).join(", ");
    return [String(size), cell(fk.rps / base.rps, 2), perRound("rps"), cell(fk.cpu / base.cpu, 2), perRound("server_cpu_us_per_req")];
  });
  const labelled = payload.runs.map((r) => ({ ...r, peer: `${r.peer} ${r.size} B` }));
  return `Both servers run the whole figure; for each size, rounds alternate the peers (${plural(settings.rounds, "round")}, ${settings.duration} s after ${settings.warmup} s warm-up).
Params are a string of PAYLOAD characters, echoed back. The requests in flight drop with size
(${loads}): at most 8 MB in flight each way, and few requests in flight next to those a run completes, since a
run's CPU includes the in-flight requests' partial work but not their count ("in flight / done" is that bias's bound). MB/s counts whole frames (request ${REQUEST_OVERHEAD} + size bytes, answer ${ANSWER_OVERHEAD} + size).
"ns/byte" is server CPU per request / size; "ns/extra byte" is (CPU per request - CPU per request at the smallest size) / (size - smallest size):
the cost of one more payload byte, which stays flat when cost grows linearly with the payload.

${main}

Ratios forkrpc / minimal-node (means; then round by round):

${table(["size B", "rps", "rps per round", "server CPU us/req", "CPU per round"], ratioRows, 1)}

${payloadChecks(rows)
  .map((c) => `- ${c}`)
  .join("\n")}

<details><summary>All runs</summary>

${runsTable(labelled)}

</details>`;
}

// ---- startup ----

function startupMedians(startup) {
  return startup.peers.map((p) => {
    const mine = startup.starts.filter((s) => s.peer === p.name);
    return { ...p, starts: mine, median: median(mine.map((s) => s.ms)), announced: mine[0]?.announced ?? null };
  });
}

function startupVerdict(startup) {
  if (startup === undefined) return null;
  if (startup.error !== undefined) return `**Startup**: FAILED: ${startup.error}`;
  const rows = startupMedians(startup);
  const [floor, one, ...more] = rows;
  const last = more.at(-1) ?? one;
  const perFile = last.files > one.files ? (last.median - one.median) / (last.files - one.files) : null;
  return (
    `**Startup to ready** (median of ${startup.starts.length / rows.length}, 2 workers): ${[one, ...more].map((r) => `${r.files} file(s) ${cell(r.median, 0)} ms`).join(", ")}; ` +
    `minimal-node ${cell(floor.median, 0)} ms` +
    (perFile === null ? "." : `; ${cell(perFile, 2)} ms per extra plugin file.`)
  );
}

function startupSection(startup, settings) {
  if (startup.error !== undefined) return `Failed: ${startup.error}`;
  const rows = startupMedians(startup);
  const floor = rows[0].median;
  return `Time from spawn to the ready line on stdout ("forkrpc ready:", "minimal-node ready"), ${settings.workers} workers,
each start stopped before the next, the peers in turn (${plural(settings.starts, "round")}). Generated plugin files hold one trivial
method each (one of them is ping). It includes the bench's own scan of /proc after the ready line (a few ms).

${table(
  ["peer", "plugin files", "methods announced", "starts ms", "median ms", "median - minimal-node ms"],
  rows.map((r) => [
    r.name,
    r.files === null ? "-" : String(r.files),
    r.announced === null ? "-" : String(r.announced),
    r.starts.map((s) => cell(s.ms, 0)).join(", "),
    cell(r.median, 0),
    cell(r.median - floor, 0),
  ]),
  1,
)}`;
}

// ---- the whole file ----

/** What went wrong in a run (a failed figure, an unanswered connection, bad answers, a worker lost), one line each. */
export function problems({ results }) {
  const found = [];
  for (const [name, figure] of Object.entries(results)) if (figure?.error !== undefined) found.push(`${name} failed: ${figure.error}`);
  for (const r of results.idle?.runs ?? []) {
    if (r.answered !== r.connections) found.push(`idle ${r.peer}: ${r.connections - r.answered} of ${r.connections} connections not answered (${r.open_failed} not opened, ${r.wrong} wrong, ${r.unanswered} silent)`);
    if (r.processes_lost + r.processes_new > 0) found.push(`idle ${r.peer}: ${r.processes_lost} server processes gone, ${r.processes_new} new during the figure`);
  }
  for (const [name, runs] of [["methods", results.methods?.runs], ["payload", results.payload?.runs]]) {
    for (const r of runs ?? []) {
      if (r.errors + r.connections_lost > 0) found.push(`${name} ${r.peer}${r.size ? ` ${r.size} B` : ""} round ${r.round}: ${r.errors} bad answers, ${r.connections_lost} lost connections`);
    }
  }
  const methods = results.methods;
  if (methods?.announced !== undefined && methods.announced["methods-1001"] !== 1001) found.push(`methods: the 1001-method app announced ${methods.announced["methods-1001"]} methods`);
  for (const s of results.startup?.starts ?? []) {
    if (s.methods !== null && s.announced !== s.methods) found.push(`startup ${s.peer}: announced ${s.announced} methods, expected ${s.methods}`);
  }
  return found;
}

export function resultsMarkdown(run, invocation) {
  const { results, settings } = run;
  const verdicts = [idleVerdict(results.idle), methodsVerdict(results.methods), payloadVerdict(results.payload), startupVerdict(results.startup)].filter(
    (v) => v !== null,
  );
  const wrong = problems(run);
  const sections = [
    ["Idle connections", results.idle, idleSection],
    ["1 vs 1001 registered methods", results.methods, methodsSection],
    ["Payload sizes", results.payload, payloadSection],
    ["Startup time to ready", results.startup, startupSection],
  ]
    .filter(([, figure]) => figure !== undefined)
    .map(([title, figure, section]) => `## ${title}\n\n${section(figure, settings)}${figure.seconds ? `\n\n(${cell(figure.seconds, 0)} s)` : ""}`);
  return `# forkrpc scaling results

Written by ${invocation}; see bench/README.md (Scaling) for how to read it.
Each figure has a baseline measured in the same run; only the ratios mean
anything beyond this machine and this moment (a shared 2-core machine: the
servers, the load generator and other people's work share its CPUs).

${hostLines(run)}
- servers: ${settings.workers} workers each; loads from the C load generator (${plural(settings.threads, "thread")}) or a Node client, on the same machine

## Summary

${verdicts.map((v) => `- ${v}`).join("\n")}
- Problems seen: ${wrong.length === 0 ? "none (every connection answered, no bad answers, no lost connections or workers)" : `\n${wrong.map((w) => `  - ${w}`).join("\n")}`}

${sections.join("\n\n")}
`;
}
