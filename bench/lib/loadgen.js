// Building and running the C load generator (bench/loadgen.c).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { mtime } from "./files.js";
import { runH2load } from "./h2load.js";
import { runNodeClient } from "./node-client.js";
import { runPhased } from "./phase-process.js";

const SOURCE = fileURLToPath(new URL("../loadgen.c", import.meta.url));
const BUILD_DIR = fileURLToPath(new URL("../.build/", import.meta.url));
const BINARY = `${BUILD_DIR}loadgen`;

/** Compiles the load generator into bench/.build/ unless the binary is newer than the source. */
export function buildLoadgen() {
  if (mtime(BINARY) > mtime(SOURCE)) return BINARY;
  mkdirSync(BUILD_DIR, { recursive: true });
  const cc = process.env.CC ?? "cc";
  execFileSync(cc, ["-O2", "-Wall", "-Wextra", "-o", BINARY, SOURCE, "-lpthread"], { stdio: "inherit" });
  return BINARY;
}

/** Why a run's output is not a measurement, or null when it is one. */
function failure(report, code, signal) {
  if (report === null || report.phase !== undefined) return `exit ${signal ?? code}, no report`;
  if (report.error !== undefined) return report.error;
  if (report.connections_served === 0) {
    const connected = report.connections - report.connections_unconnected;
    return `no connection was served (${connected} of ${report.connections} connected, none answered, ${report.connections_lost} lost)`;
  }
  return null;
}

/**
 * Runs one load: resolves with the generator's JSON report. A run that
 * printed no report, an error report (no connection connected), or a report
 * in which no connection was served (nothing answered: nothing measured)
 * rejects with the reason. `protocol` is the wire the peer speaks: "forkrpc"
 * (the default) or "nest" (NestJS's TCP transport, see loadgen.c); "grpc"
 * runs h2load instead (h2load.js), and "node-forkrpc" / "node-moleculer" the
 * Node client harness (node-client.js), with the same report.
 * `onPhase("start" | "end")` is called as the measured window begins and
 * ends (after the connect phase, before the teardown).
 */
export function runLoadgen(binary, options) {
  if (options.protocol === "grpc") return runH2load(options);
  if (options.protocol?.startsWith("node-")) return runNodeClient(options);
  return runC(binary, options);
}

async function runC(binary, { port, connections, pipeline, seconds, payload, threads = 1, protocol = "forkrpc", onPhase }) {
  const args = ["127.0.0.1", port, connections, pipeline, seconds, payload, threads, protocol].map(String);
  const { report, code, signal, err } = await runPhased(binary, args, { onPhase });
  const why = failure(report, code, signal);
  if (why !== null) throw new Error(`loadgen ${args.join(" ")}: ${why}${err ? `\n${err}` : ""}`);
  return report;
}
