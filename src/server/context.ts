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
}
