/**
 * The framework's own log lines, on stderr, one per line, prefixed with the
 * process role and pid. (Structured request logging is a middleware's job.)
 */
export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = ORDER[(process.env.FORKRPC_LOG_LEVEL as Level) ?? "info"] ?? ORDER.info;
let role = "master";

export function setLogRole(name: string): void {
  role = name;
}

export function setLogLevel(level: Level): void {
  threshold = ORDER[level];
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
