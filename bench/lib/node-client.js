// Running the Node client harness (bench/node-client.js) with runLoadgen's
// contract: the same phase lines and report, so measureLoad and the tables
// read it as they read loadgen.c's. It runs with forkrpc's loader flags
// (package.json's `start` command's), whichever the target, so both targets'
// client processes are the same Node with the same hooks.
import { runPhased } from "./phase-process.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HARNESS = fileURLToPath(new URL("../node-client.js", import.meta.url));

/** The node flags of package.json's `start` script (what precedes its entry file). */
export function loaderFlags() {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
  const args = pkg.scripts.start.trim().split(/\s+/).slice(1);
  const flags = [];
  for (let i = 0; i < args.length && args[i].startsWith("--"); i++) {
    flags.push(args[i]);
    if (!args[i].includes("=") && args[i] !== "--no-warnings" && i + 1 < args.length && !args[i + 1].startsWith("--")) flags.push(args[++i]);
  }
  return flags;
}

/** Resolves with the harness's report; rejects when it printed none, or answered nothing (unless `warmingUp`). */
export async function runNodeClient({ port, nodes = "", connections, pipeline, seconds, payload, protocol, onPhase, warmingUp = false }) {
  const target = protocol.slice("node-".length);
  const args = [
    ...loaderFlags(),
    HARNESS,
    ...["--target", target, "--port", port, "--nodes", nodes, "--connections", connections, "--pipeline", pipeline],
    ...["--seconds", seconds, "--payload", payload],
  ].map(String);
  const { report, code, signal, err } = await runPhased(process.execPath, args, { cwd: ROOT, onPhase });
  const why =
    report === null || report.phase !== undefined
      ? `exit ${signal ?? code}, no report`
      : report.requests === 0 && !warmingUp
        ? `no call was answered${report.first_error ? ` (${report.first_error})` : ""}`
        : null;
  if (why !== null) throw new Error(`node-client ${target}: ${why}${err ? `\n${err.slice(-600)}` : ""}`);
  return report;
}
