// The targets, checked against the grid's means. Each is a ratio (or
// a bound) between figures of the same run; a target whose peers or cell the
// run did not measure is left out, not passed.
import { cellName } from "./grid.js";

const C32x32 = cellName({ connections: 32, pipeline: 32, payload: 16 });
const C512x32 = cellName({ connections: 512, pipeline: 32, payload: 16 });
const C32x1 = cellName({ connections: 32, pipeline: 1, payload: 16 });

/** [description, check(find) -> {figure, met} | null]; find(peer, cell) is a grid summary or undefined. */
const TARGETS = [
  [
    "forkrpc requests/s at 32x32 16 B >= 0.85 x minimal-node's",
    (find) => ratio(find("forkrpc", C32x32), find("minimal-node", C32x32), "rps", (r) => r >= 0.85),
  ],
  [
    "forkrpc server CPU per request at 32x32 16 B <= 1.2 x minimal-node's",
    (find) =>
      ratio(find("forkrpc", C32x32), find("minimal-node", C32x32), "server_cpu_us_per_req", (r) => r <= 1.2),
  ],
  [
    "forkrpc requests/s at 32x32 16 B >= 8 x nestjs's",
    (find) => ratio(find("forkrpc", C32x32), find("nestjs", C32x32), "rps", (r) => r >= 8),
  ],
  [
    "forkrpc p99 at 512x32 16 B lower than nestjs's",
    (find) => {
      const nest = find("nestjs", C512x32);
      const result = ratio(find("forkrpc", C512x32), nest, "p99_us", (r) => r < 1);
      // A connection never answered gives no latency sample: the p99 of a
      // peer that left some unserved flatters it.
      if (result !== null && nest.connections_served < nest.connections) {
        result.figure += `; nestjs answered only ${Math.round(nest.connections_served)} of 512 connections, so its p99 is an underestimate`;
      }
      return result;
    },
  ],
  [
    "forkrpc p99 at 32x1 16 B (no pipelining) below 2 ms",
    (find) => {
      const run = find("forkrpc", C32x1);
      return run === undefined ? null : { figure: `${(run.p99_us / 1000).toFixed(2)} ms`, met: run.p99_us < 2000 };
    },
  ],
];

function ratio(a, b, key, ok) {
  if (a === undefined || b === undefined) return null;
  const r = a[key] / b[key];
  return { figure: `${r.toFixed(3)}x (${fmt(a[key])} / ${fmt(b[key])})`, met: ok(r) };
}

const fmt = (x) => x.toLocaleString("en-US", { maximumFractionDigits: x < 100 ? 2 : 0 });

/** The targets this grid can judge: [{target, figure, met}]. */
export function checkTargets(grid) {
  const find = (peer, cell) => grid.find((s) => s.peer === peer && s.cell === cell);
  return TARGETS.flatMap(([target, check]) => {
    const result = check(find);
    return result === null ? [] : [{ target, ...result }];
  });
}

export function targetsTable(targets) {
  const rows = targets.map((t) => `| ${t.target} | ${t.figure} | ${t.met ? "met" : "**not met**"} |`);
  return ["| target | figure (forkrpc / peer) | |", "|---|---:|---|", ...rows].join("\n");
}
