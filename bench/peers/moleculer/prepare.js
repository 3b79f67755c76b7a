// The moleculer peer's pinned dependencies (package-lock.json), installed
// into bench/peers/moleculer/node_modules (the Node client harness loads the
// client broker from there too).
import { fileURLToPath } from "node:url";
import { installPinned, pinnedVersions } from "../../lib/install.js";

const DIR = fileURLToPath(new URL(".", import.meta.url));

export const MOLECULER_VERSIONS = pinnedVersions(DIR);

export function prepareMoleculer() {
  installPinned(DIR, "moleculer");
}

/** The node list of the readiness line (server.js): "127.0.0.1:N/bench-server-0,...". */
export function moleculerNodes(server) {
  const nodes = /moleculer ready on .* \(nodes (\S+)\)/.exec(server.output.join("\n"))?.[1];
  if (nodes === undefined) throw new Error("the moleculer peer's readiness line names no nodes");
  return { nodes };
}
