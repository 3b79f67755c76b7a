// The grpc peer's pinned dependencies (package-lock.json), installed into
// bench/peers/grpc/node_modules; and the versions the report names,
// h2load's included (it is the load generator of this peer).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { installPinned, pinnedVersions } from "../../lib/install.js";

const DIR = fileURLToPath(new URL(".", import.meta.url));

export const GRPC_VERSIONS = pinnedVersions(DIR);

export function prepareGrpc() {
  installPinned(DIR, "grpc");
  h2loadVersion(); // fails the prepare, with the reason, when h2load is missing
}

/** "h2load nghttp2/1.52.0" (Debian: apt install nghttp2-client). */
export function h2loadVersion() {
  try {
    return execFileSync("h2load", ["--version"], { encoding: "utf8" }).trim();
  } catch (error) {
    throw new Error(`the grpc peer is loaded by h2load, which did not run (${error.message}); on Debian: apt install nghttp2-client`);
  }
}
