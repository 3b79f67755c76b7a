/**
 * The request logger handed to middleware and handlers (ctx.log): pino,
 * JSON lines on stderr, one instance per process.
 */
import { pino, type Logger } from "pino";
import { levelOf } from "../log.ts";

let shared: Logger | null = null;

export function requestLogger(): Logger {
  shared ??= pino({ level: levelOf(process.env.FORKRPC_LOG_LEVEL), base: { pid: process.pid } }, pino.destination(2));
  return shared;
}
