/**
 * The request logger handed to middleware and handlers (ctx.log): pino,
 * JSON lines on stderr. Each RpcServer makes one (so one per worker) and its
 * connections hand it to each request's context, which makes ctx.log, a
 * child bound to the method and id, on first use. No module state.
 */
import { pino, type Logger } from "pino";
import { levelOf } from "../log.ts";

export function createRequestLogger(): Logger {
  return pino({ level: levelOf(process.env.FORKRPC_LOG_LEVEL), base: { pid: process.pid } }, pino.destination(2));
}
