// Building and running the C load generator (bench/loadgen.c).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SOURCE = fileURLToPath(new URL("../loadgen.c", import.meta.url));
const BUILD_DIR = fileURLToPath(new URL("../.build/", import.meta.url));
const BINARY = `${BUILD_DIR}loadgen`;

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Compiles the load generator into bench/.build/ unless the binary is newer than the source. */
export function buildLoadgen() {
  if (mtime(BINARY) > mtime(SOURCE)) return BINARY;
  mkdirSync(BUILD_DIR, { recursive: true });
  const cc = process.env.CC ?? "cc";
  execFileSync(cc, ["-O2", "-Wall", "-Wextra", "-o", BINARY, SOURCE, "-lpthread"], { stdio: "inherit" });
  return BINARY;
}

/**
 * Runs one load: resolves with the generator's JSON report. A run that
 * printed no report (or an error report) rejects with the reason.
 */
export function runLoadgen(binary, { port, connections, pipeline, seconds, payload, threads }) {
  const args = ["127.0.0.1", port, connections, pipeline, seconds, payload, threads].map(String);
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      let report = null;
      try {
        report = JSON.parse(out.trim().split("\n").pop() ?? "");
      } catch {
        // no report: fall through
      }
      if (report === null || report.error !== undefined) {
        const why = report?.error ?? `exit ${signal ?? code}, no report`;
        reject(new Error(`loadgen ${args.join(" ")}: ${why}${err ? `\n${err}` : ""}`));
      } else {
        resolve(report);
      }
    });
  });
}
