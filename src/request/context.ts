import type { Logger } from "pino";
import type { RequestId } from "../protocol/envelope.ts";

/** Where a request came from. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

/** What a handler knows about the request it is serving. */
export interface RpcContext {
  /** The method name the client called. */
  readonly method: string;
  /** The request's id, or undefined when the client sent none. */
  readonly id: RequestId | undefined;
  /** The request's `meta` object (empty when absent). */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly peer: Peer;
  /** Aborts when the client closes its connection or the deadline passes: stop work nobody will read. */
  readonly signal: AbortSignal;
  /** Values middleware shared with the handler (auth puts `principal` here). */
  readonly state: Record<string, unknown>;
  /**
   * A pino logger bound to this request (`method`, and `id` when sent):
   * JSON lines on stderr, level from FORKRPC_LOG_LEVEL. Made on first use.
   * @example ctx.log.info({ name }, "greeting");
   */
  readonly log: Logger;
}
