// A load generator as a child process that prints `{"phase":"start"}` and
// `{"phase":"end"}` lines around its measured window, then one JSON report
// as its last line: loadgen.c and the Node client harness both do.
import { spawn } from "node:child_process";

/**
 * Runs `file args`, calling `onPhase(phase)` at each phase line; resolves at
 * exit with its last line parsed as the report (null when it is not JSON),
 * the exit code or signal, and its stderr.
 */
export function runPhased(file, args, { cwd, onPhase } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let seen = 0;
    child.stdout.on("data", (c) => {
      out += c;
      for (let end = out.indexOf("\n", seen); end !== -1; end = out.indexOf("\n", seen)) {
        const phase = /^\{"phase":"(\w+)"\}$/.exec(out.slice(seen, end))?.[1];
        seen = end + 1;
        if (phase !== undefined) onPhase?.(phase);
      }
    });
    child.stderr.on("data", (c) => (err += c));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      let report = null;
      try {
        report = JSON.parse(out.trim().split("\n").pop() ?? "");
      } catch {
        // no report
      }
      resolve({ report, code, signal, err });
    });
  });
}
