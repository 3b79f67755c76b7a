/**
 * The messages between the master and its workers: one table, namespaced
 * acts, dispatched through one function. Anything else on the channel is
 * not ours and is ignored.
 */

import type { MetricsDelta } from "../metrics/shape.ts";

/** The master passes the write end of its report pipe (for the watchdog) in this variable. */
export const REPORT_FD_ENV = "FORKRPC_REPORT_FD";

/** The worker listens, its registry is built and its start hooks ran. */
export interface ReadyMessage {
  readonly act: "forkrpc:ready";
  readonly host: string;
  readonly port: number;
  readonly methods: number;
  /** rpc.health's registry hash: what the service registry advertises. */
  readonly registryHash: string;
}

/** The worker could not boot; it exits right after. */
export interface BootFailedMessage {
  readonly act: "forkrpc:boot-failed";
  readonly code: string;
  readonly message: string;
}

/** The worker's last words: an uncaught exception or unhandled rejection. */
export interface FatalMessage {
  readonly act: "forkrpc:fatal";
  readonly message: string;
}

/** A request running on a worker, as its heartbeat reports it. */
export interface InflightRequest {
  readonly method: string;
  readonly id: string | number | null;
  readonly ms: number;
}

/** Sent every heartbeatMs from the worker's event loop: it is alive, and how it is doing. */
export interface HeartbeatMessage {
  readonly act: "forkrpc:heartbeat";
  readonly served: number;
  readonly connections: number;
  readonly accepted: number;
  /** Connections closed at once: over limits.maxConnections, or a failed accept. */
  readonly rejected: number;
  /** Of `rejected`, those lost to a failed accept. */
  readonly acceptFailed: number;
  readonly rssBytes: number;
  /** The longest-running requests (a bounded few), for hung-worker reports. */
  readonly oldest: readonly InflightRequest[];
  /** How many requests are in flight (as activity.ts counts them). */
  readonly inflight: number;
  /** What changed since the last heartbeat, when the master serves metrics (config.admin). */
  readonly metrics?: MetricsDelta;
}

/** Stop accepting, answer what was received, close idle connections, exit. */
export interface DrainMessage {
  readonly act: "forkrpc:drain";
  readonly reason: string;
}

/** A worker serving TLS asks for the master's session-ticket keys (a message sent before it listened would be lost). */
export interface WantTicketKeysMessage {
  readonly act: "forkrpc:want-ticket-keys";
}

/** The session-ticket keys every worker uses (48 bytes, base64): the answer to the ask, and each rotation. */
export interface TicketKeysMessage {
  readonly act: "forkrpc:ticket-keys";
  readonly keys: string;
}

/** config.tls's files changed and the master found them good: new handshakes are to use them. */
export interface TlsReloadMessage {
  readonly act: "forkrpc:tls-reload";
  readonly file: string;
}

export type ToPrimary = ReadyMessage | BootFailedMessage | FatalMessage | HeartbeatMessage | WantTicketKeysMessage;
export type ToWorker = DrainMessage | TicketKeysMessage | TlsReloadMessage;

type Handlers<M extends { act: string }> = { [A in M["act"]]: (msg: Extract<M, { act: A }>) => void };

/** Returns a listener that routes our messages to their handler. */
export function router<M extends { act: string }>(handlers: Handlers<M>): (msg: unknown) => void {
  return (msg) => {
    if (typeof msg !== "object" || msg === null) return;
    const act = (msg as { act?: unknown }).act;
    if (typeof act !== "string" || !Object.hasOwn(handlers, act)) return;
    (handlers as Record<string, (m: unknown) => void>)[act]?.(msg);
  };
}

/** Sends to the master, if there is one (there is none with --workers 0); `sent` runs once it left, or at once without a master. */
export function toPrimary(msg: ToPrimary, sent?: () => void): void {
  if (!process.connected || process.send === undefined) return sent?.();
  if (sent === undefined) process.send(msg);
  else process.send(msg, undefined, {}, () => sent());
}
