/**
 * The framework's own log lines, on stderr, one per line, prefixed with the
 * process role and pid. (Structured request logging is a middleware's job.)
 */
export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const threshold = thresholdOf(process.env.FORKRPC_LOG_LEVEL);
let role = "master";

export function setLogRole(name: string): void {
  role = name;
}

/**
 * The level a FORKRPC_LOG_LEVEL value names; info for anything unknown. Own
 * keys only: "constructor" or "toString" must not pick up Object.prototype.
 * The request logger (middleware/logger.ts) reads the variable through this
 * too, so both logs agree on what a value means.
 */
export function levelOf(name: string | undefined): Level {
  return name !== undefined && Object.hasOwn(ORDER, name) ? (name as Level) : "info";
}

/** The threshold a level name stands for (see levelOf). */
export function thresholdOf(name: string | undefined): number {
  return ORDER[levelOf(name)];
}

function write(level: Level, message: string): void {
  if (ORDER[level] < threshold) return;
  process.stderr.write(`forkrpc ${role}[${process.pid}] ${level}: ${message}\n`);
}

export const log = {
  debug: (message: string) => write("debug", message),
  info: (message: string) => write("info", message),
  warn: (message: string) => write("warn", message),
  error: (message: string) => write("error", message),
};

/** Longest id shown in a log line or a heartbeat: an id may be as long as a frame (1 MiB by default). */
export const SHOWN_ID_CHARS = 64;

/** A request id as logs and heartbeats show it: string ids past SHOWN_ID_CHARS are cut, with "...". */
export function shownId<T extends string | number | null | undefined>(id: T): T | string {
  return typeof id === "string" && id.length > SHOWN_ID_CHARS ? `${id.slice(0, SHOWN_ID_CHARS)}...` : id;
}
