/**
 * The request logger handed to middleware and handlers (ctx.log): pino,
 * JSON lines on stderr, one instance per process.
 */
import { pino, type Logger } from "pino";

let shared: Logger | null = null;

export function requestLogger(): Logger {
  shared ??= pino({ level: process.env.FORKRPC_LOG_LEVEL ?? "info", base: { pid: process.pid } }, pino.destination(2));
  return shared;
}
