// Turning runs into tables: one row per run, one per peer (mean of its
// rounds), and ratios against the baseline peer, per round and overall.

/** Columns of the per-run table: [heading, value of a run, decimals]. */
const RUN_COLUMNS = [
  ["round", (r) => r.round, 0],
  ["peer", (r) => r.peer, null],
  ["rps", (r) => r.rps, 0],
  ["p50 us", (r) => r.p50_us, 0],
  ["p99 us", (r) => r.p99_us, 0],
  ["server CPU us/req", (r) => r.server_cpu_us_per_req, 2],
  ["server cores", (r) => r.server_cores, 2],
  ["busiest proc share", (r) => r.busiest_process_share, 2],
  ["req/read", (r) => r.requests_per_read, 1],
  ["req/write", (r) => r.requests_per_write, 1],
  ["loadgen CPU us/req", (r) => r.loadgen_cpu_us_per_req, 2],
  ["loadgen cores", (r) => r.loadgen_cores, 2],
  ["other load cores", (r) => r.other_cores, 2],
  ["steal cores", (r) => r.steal_cores, 2],
  ["RSS total MB", (r) => r.rss_total_mb, 1],
  ["RSS max proc MB", (r) => r.rss_largest_mb, 1],
  ["PSS total MB", (r) => r.pss_total_mb, 1],
  ["in flight / done", (r) => `${cell(100 * r.in_flight_share, 2)}%`, null],
  ["served", (r) => `${r.connections_served ?? `<${r.connections}`}/${r.connections}`, null],
  ["errors", (r) => r.errors, 0],
];

/** Figures compared across peers: [key, heading, lower is better]. */
const COMPARED = [
  ["rps", "rps", false],
  ["server_cpu_us_per_req", "server CPU us/req", true],
  ["requests_per_write", "req/write (batching)", false],
  ["p50_us", "p50 us", true],
  ["p99_us", "p99 us", true],
  ["rss_total_mb", "RSS total MB", true],
  ["pss_total_mb", "PSS total MB", true],
];

/** A figure as table text: `decimals` places (null: the value as it is); no finite number shows as "-". */
export function cell(value, decimals) {
  if (decimals === null) return String(value);
  if (typeof value !== "number" || !Number.isFinite(value)) return "-";
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/**
 * A markdown table whose columns also line up in a terminal: the first
 * `left` columns are text (left-aligned), the rest numbers.
 */
export function table(headings, rows, left = 2) {
  const widths = headings.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => (i < left ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i < left ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(headings), rule, ...rows.map(line)].join("\n");
}

export function runsTable(runs) {
  return table(
    RUN_COLUMNS.map(([h]) => h),
    runs.map((r) => RUN_COLUMNS.map(([, get, d]) => cell(get(r), d))),
  );
}

const SUMMED = [
  "rps",
  "p50_us",
  "p99_us",
  "server_cpu_us_per_req",
  "server_cores",
  "requests_per_write",
  "loadgen_cpu_us_per_req",
  "loadgen_cores",
  "other_cores",
  "rss_total_mb",
  "rss_largest_mb",
  "pss_total_mb",
  "in_flight_share",
  "errors",
  "connections_lost",
  "connections_served",
];

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per peer: the mean of each figure over its rounds, and the rps spread ((max-min)/mean). */
export function summarize(runs, peerNames) {
  return peerNames.map((peer) => {
    const mine = runs.filter((r) => r.peer === peer);
    const summary = { peer, rounds: mine.length };
    for (const key of SUMMED) summary[key] = mean(mine.map((r) => r[key]));
    // A load generator that cannot count served connections (h2load) reports
    // null when some went unserved: the mean would hide it.
    if (mine.some((r) => r.connections_served === null)) summary.connections_served = null;
    const rps = mine.map((r) => r.rps);
    summary.rps_spread = (Math.max(...rps) - Math.min(...rps)) / summary.rps;
    return summary;
  });
}

export function summaryTable(summaries) {
  const rows = summaries.map((s) => [
    String(s.rounds),
    s.peer,
    cell(s.rps, 0),
    `${cell(s.rps_spread * 100, 1)}%`,
    cell(s.p50_us, 0),
    cell(s.p99_us, 0),
    cell(s.server_cpu_us_per_req, 2),
    cell(s.server_cores, 2),
    cell(s.requests_per_write, 1),
    cell(s.loadgen_cores, 2),
    cell(s.other_cores, 2),
    cell(s.rss_total_mb, 1),
  ]);
  return table(
    ["rounds", "peer", "rps (mean)", "rps spread", "p50 us", "p99 us", "server CPU us/req", "server cores", "req/write", "loadgen cores", "other load cores", "RSS total MB"],
    rows,
  );
}

/**
 * The grid: one row per cell and peer (summaries from summarize with their
 * cell's fields), with each peer's rps and CPU per request as a multiple of
 * the baseline's in the same cell.
 */
export function gridTable(grid, base) {
  const rows = grid.map((s) => {
    const b = grid.find((x) => x.cell === s.cell && x.peer === base);
    const times = (key) => (b === undefined || s.peer === base ? "" : `${cell(s[key] / b[key], 2)}x`);
    const served = s.connections_served;
    return [
      s.cell,
      s.peer,
      cell(s.rps, 0),
      times("rps"),
      cell(s.p50_us, 0),
      cell(s.p99_us, 0),
      cell(s.server_cpu_us_per_req, 2),
      times("server_cpu_us_per_req"),
      cell(s.rss_total_mb, 1),
      cell(s.pss_total_mb, 1),
      served === null
        ? `**<${s.connections}** / ${s.connections}`
        : served < s.connections
          ? `**${cell(served, 0)}** / ${s.connections}`
          : `${s.connections} / ${s.connections}`,
      cell(s.errors + s.connections_lost, 0),
      String(s.rounds),
    ];
  });
  return table(
    ["cell", "peer", "rps", `rps vs ${base}`, "p50 us", "p99 us", "server CPU us/req", `CPU/req vs ${base}`, "RSS sum MB", "PSS MB", "connections served", "errors + lost", "rounds"],
    rows,
  );
}

/** Each peer against the baseline (the first peer): overall (means) and round by round. */
export function ratioTable(runs, summaries) {
  const [base, ...others] = summaries;
  const rounds = [...new Set(runs.map((r) => r.round))];
  const rows = [];
  for (const other of others) {
    for (const [key, heading, lowerIsBetter] of COMPARED) {
      const perRound = rounds.map((round) => {
        const a = runs.find((r) => r.round === round && r.peer === other.peer);
        const b = runs.find((r) => r.round === round && r.peer === base.peer);
        return a && b ? cell(a[key] / b[key], 3) : "-";
      });
      rows.push([
        `${other.peer} / ${base.peer}`,
        heading,
        cell(other[key] / base[key], 3),
        perRound.join(", "),
        lowerIsBetter ? "lower" : "higher",
      ]);
    }
  }
  return table(["ratio", "figure", "overall (means)", "per round", "better is"], rows);
}

/**
 * Each peer against the peer it is meant to be compared with (its
 * `against`, when that one is in the run), cell by cell: rps and server CPU
 * per request as ratios, overall (means) and round by round.
 */
export function pairTable(runs, grid, pairs) {
  const rows = [];
  for (const { peer, against } of pairs) {
    for (const s of grid.filter((x) => x.peer === peer)) {
      const b = grid.find((x) => x.cell === s.cell && x.peer === against);
      if (b === undefined) continue;
      const rounds = [...new Set(runs.filter((r) => r.cell === s.cell).map((r) => r.round))];
      const perRound = (key) =>
        rounds
          .map((round) => {
            const x = runs.find((r) => r.cell === s.cell && r.round === round && r.peer === peer && r.failed === undefined);
            const y = runs.find((r) => r.cell === s.cell && r.round === round && r.peer === against && r.failed === undefined);
            return x && y ? cell(x[key] / y[key], 3) : "-";
          })
          .join(", ");
      rows.push([
        s.cell,
        `${peer} / ${against}`,
        cell(s.rps / b.rps, 3),
        perRound("rps"),
        cell(s.server_cpu_us_per_req / b.server_cpu_us_per_req, 3),
        perRound("server_cpu_us_per_req"),
      ]);
    }
  }
  return table(["cell", "ratio", "rps", "rps per round", "server CPU/req", "CPU/req per round"], rows);
}
