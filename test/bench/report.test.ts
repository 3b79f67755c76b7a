/**
 * bench/lib/report.js's parts for peers that are compared with a forkrpc
 * counterpart (pairTable) or whose load generator cannot count served
 * connections (h2load: connections_served null). Pure, no network.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../helpers/server.ts";

// Plain JS without declarations: imported through a computed specifier (typed any).
const report = await import(pathToFileURL(join(ROOT, "bench/lib/report.js")).href);

const run = (peer: string, round: number, rps: number, cpu: number, served: number | null = 32) => ({
  peer,
  round,
  cell: "32x32 16 B",
  connections: 32,
  rps,
  server_cpu_us_per_req: cpu,
  connections_served: served,
  errors: 0,
  connections_lost: 0,
});

test("pairTable: rps and CPU per request of a peer over its counterpart's, overall and round by round", () => {
  const runs = [run("forkrpc", 1, 1000, 2), run("grpc", 1, 100, 100), run("forkrpc", 2, 3000, 2), run("grpc", 2, 300, 60)];
  const grid = report.summarize(runs, ["forkrpc", "grpc"]).map((s: object) => ({ ...s, cell: "32x32 16 B" }));
  const text: string = report.pairTable(runs, grid, [{ peer: "grpc", against: "forkrpc" }]);
  const row = text.split("\n").find((line) => line.includes("grpc / forkrpc"));
  assert.ok(row !== undefined, text);
  const cells = row.split("|").map((c) => c.trim());
  assert.equal(cells[3], "0.100"); // 200 / 2000
  assert.equal(cells[4], "0.100, 0.100");
  assert.equal(cells[5], "40.000"); // 80 / 2
  assert.equal(cells[6], "50.000, 30.000");
});

test("pairTable: a peer whose counterpart is not in the run has no row", () => {
  const runs = [run("moleculer", 1, 100, 30)];
  const grid = report.summarize(runs, ["moleculer"]).map((s: object) => ({ ...s, cell: "32x32 16 B" }));
  const text: string = report.pairTable(runs, grid, [{ peer: "moleculer", against: "forkrpc-node" }]);
  assert.equal(text.split("\n").length, 2, text);
});

test("summarize and gridTable: one round with an unknown served count (null) marks the peer <N, not a mean", () => {
  const runs = [run("grpc", 1, 100, 100, 32), run("grpc", 2, 100, 100, null)];
  const [summary] = report.summarize(runs, ["grpc"]);
  assert.equal(summary.connections_served, null);
  const text: string = report.gridTable([{ ...summary, cell: "32x32 16 B", connections: 32 }], "grpc");
  assert.match(text, /\*\*<32\*\* \/ 32/);
});
