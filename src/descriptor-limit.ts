/**
 * The default for limits.maxConnections: what the process's descriptor limit
 * allows, less room for the worker's own files. A worker at rest holds ~25
 * descriptors (stdio, IPC, the listening socket, epoll, the loader's and
 * libuv's); a plugin's own files and outgoing connections need more, so a
 * twentieth of the limit (at least 64) is kept back. Past the limit, accept()
 * and every file open fail with EMFILE: better a refused connection than a
 * heartbeat that cannot read /proc.
 */
import { readFileSync } from "node:fs";

const RESERVED_MIN = 64;

/** The soft RLIMIT_NOFILE of this process, or undefined where /proc does not tell (not Linux). */
export function descriptorLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "latin1").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === undefined || soft === "unlimited") return undefined;
    const n = Number(soft);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Connections a worker may hold with `limit` descriptors; 0 (no cap) when the limit is unknown. */
export function connectionsFor(limit: number | undefined): number {
  if (limit === undefined) return 0;
  return Math.max(1, limit - Math.max(RESERVED_MIN, Math.ceil(limit / 20)));
}
