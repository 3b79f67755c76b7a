// What a results file says about where and on what it was measured: node,
// CPUs, kernel, the commit (and whether forkrpc's files differ from it).
// The same facts as bench/run.js's header.
import { execFileSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function git(...args) {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

/** The facts; `watched` are the paths whose uncommitted changes make the run "dirty". */
export function hostFacts(watched = ["src", "loader", "plugins", "rpc.config.ts", "package.json", "bench/fixtures"]) {
  return {
    node: process.version,
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    kernel: `${os.type()} ${os.release()}`,
    commit: git("rev-parse", "--short", "HEAD"),
    dirty: git("status", "--porcelain", "--", ...watched) !== "",
  };
}

/** The header lines every results file starts with, as markdown list items. */
export function hostLines({ date, host, loadBefore, loadAfter }) {
  return [
    `- date: ${date}`,
    `- node: ${host.node}`,
    `- machine: ${host.nproc} CPUs (${host.cpu}), ${host.kernel}`,
    `- load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}`,
    `- forkrpc: commit ${host.commit}${host.dirty ? " plus uncommitted changes (src/, loader/, plugins/, configs or bench/)" : ""}`,
  ].join("\n");
}

/**
 * How this run was started, as markdown for a results header: the npm
 * script that ran `script` (a bench/ file) if any, and the node command.
 */
export function invocation(script) {
  const command = `\`${["node", script, ...process.argv.slice(2)].join(" ")}\``;
  const npmScript = process.env.npm_lifecycle_event;
  return npmScript?.startsWith("bench") ? `\`npm run ${npmScript}\` (${command})` : command;
}
