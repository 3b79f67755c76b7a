// The servers the bench knows how to start. Each peer is started on a free
// port with the same worker count, and is ready when its stdout matches
// `ready`. Adding a peer (another framework, another language) is one entry
// here: a command line, a readiness line, and a note for the report.
//
// The first peer is the baseline every other peer's figures are divided by.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `npm start` without npm: the same node flags, so the bench runs what users run. */
function npmStartCommand() {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const [node, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (node !== "node") throw new Error(`package.json scripts.start must start with "node", got "${node}"`);
  return args;
}

export const PEERS = [
  {
    name: "minimal-node",
    note: "hand-written Node cluster server, same framing, JSON.parse per frame (the Node ceiling)",
    command: ({ port, workers }) => ({
      file: process.execPath,
      args: ["bench/peers/minimal-node.js", "--port", String(port), "--workers", String(workers)],
      cwd: ROOT,
    }),
    ready: /minimal-node ready/,
  },
  {
    name: "forkrpc",
    note: "this repository from source, started with package.json's `start` command (its TypeScript loader included), rpc.config.ts, plugins/ping.ts",
    command: ({ port, workers }) => ({
      file: process.execPath,
      args: [...npmStartCommand(), "--port", String(port), "--workers", String(workers)],
      cwd: ROOT,
    }),
    ready: /forkrpc ready:/,
  },
];

export function findPeers(names) {
  if (names === undefined) return PEERS;
  return names.map((name) => {
    const peer = PEERS.find((p) => p.name === name);
    if (peer === undefined) throw new Error(`unknown peer "${name}"; known: ${PEERS.map((p) => p.name).join(", ")}`);
    return peer;
  });
}
