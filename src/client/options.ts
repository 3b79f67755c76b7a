/**
 * RpcClient's options, their defaults, and the check that runs once in the
 * constructor (a wrong option is a programming error: it throws a TypeError).
 */
import type { ConnectionOptions as TlsConnectOptions } from "node:tls";

/** TLS to the server (docs/tls.md): PEM texts, not paths. */
export interface ClientTlsOptions {
  /** CA certificate(s) the server's certificate must chain to. Default: Node's root CAs. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate (chain) for mutual TLS, with its key. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name the server's certificate must carry (and SNI). Default: host, when it is a name. */
  servername?: string;
  /** Refuse a server whose certificate does not verify. Default true; false only for tests. */
  rejectUnauthorized?: boolean;
}

/**
 * The client's TLS settings, and the last session a server gave it: every
 * new connection offers it, so that reconnects resume instead of paying a
 * full handshake (with the master's shared ticket keys, on any worker).
 */
export interface ClientTls {
  readonly connect: TlsConnectOptions;
  session: Buffer | undefined;
}

export interface ClientOptions {
  /** Server host. Default "127.0.0.1". */
  host?: string;
  /** Server port. Required. */
  port: number;
  /** Connections in the pool; requests are spread over them. Default 1. */
  connections?: number;
  /**
   * Default time limit of a call, in ms, from `call()` to its answer
   * (waiting for a connection and retries included). 0 disables it.
   * Default 10 000.
   */
  timeoutMs?: number;
  /** Headers sent with every request, under the per-call `meta`. */
  meta?: Record<string, unknown>;
  /** Times one call may be sent again after UNAVAILABLE or (when idempotent) a lost connection. Default 5. */
  maxRetries?: number;
  /** First delay before reconnecting after a connection drops or fails to open, in ms. Default 50. */
  reconnectDelayMs?: number;
  /** Ceiling of the reconnect delay, which doubles after each failure. Default 5 000. */
  reconnectDelayMaxMs?: number;
  /** How long opening a connection may take before it counts as failed, in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /**
   * How long an answer frame may take to arrive once its first byte has,
   * in ms; a connection whose server stalls mid-frame for longer is dropped
   * and its calls are treated as on a lost connection. 0 disables it.
   * Default 10 000.
   */
  readTimeoutMs?: number;
  /** Largest request this client sends; match the server's limits.maxFrameBytes. Default 1 MiB. */
  maxRequestBytes?: number;
  /** Largest response this client accepts; a larger one closes the connection. Default 64 MiB. */
  maxResponseBytes?: number;
  /** Speak TLS to the server (its config.tls). Absent: plaintext. */
  tls?: ClientTlsOptions;
}

export interface CallOptions {
  /** Time limit of this call in ms (0: none); overrides the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Headers for this call, merged over the client's `meta`. */
  meta?: Record<string, unknown>;
  /**
   * Running this request twice is harmless: if its connection dies after it
   * was sent and before it was answered, send it again instead of failing.
   */
  idempotent?: boolean;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  readonly timeoutMs: number;
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  readonly maxRetries: number;
  readonly reconnectDelayMs: number;
  readonly reconnectDelayMaxMs: number;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  readonly tls: ClientTls | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new TypeError("RpcClient needs options: { host, port }");
  const resolved: ResolvedOptions = {
    host: options.host ?? "127.0.0.1",
    port: options.port,
    connections: options.connections ?? 1,
    timeoutMs: options.timeoutMs ?? 10_000,
    meta: options.meta,
    maxRetries: options.maxRetries ?? 5,
    reconnectDelayMs: options.reconnectDelayMs ?? 50,
    reconnectDelayMaxMs: options.reconnectDelayMaxMs ?? 5_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    readTimeoutMs: options.readTimeoutMs ?? 10_000,
    maxRequestBytes: options.maxRequestBytes ?? 1024 * 1024,
    maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
    tls: options.tls === undefined ? undefined : resolveTls(options.tls),
  };
  if (typeof resolved.host !== "string" || resolved.host === "") throw new TypeError("options.host must be a non-empty string");
  integer("port", resolved.port, 1, 65_535);
  integer("connections", resolved.connections, 1, 1_024);
  checkTimeout("timeoutMs", resolved.timeoutMs);
  checkMeta("meta", resolved.meta);
  integer("maxRetries", resolved.maxRetries, 0, 1_000);
  integer("reconnectDelayMs", resolved.reconnectDelayMs, 1, MAX_TIMER_MS);
  integer("reconnectDelayMaxMs", resolved.reconnectDelayMaxMs, resolved.reconnectDelayMs, MAX_TIMER_MS);
  integer("connectTimeoutMs", resolved.connectTimeoutMs, 1, MAX_TIMER_MS);
  checkTimeout("readTimeoutMs", resolved.readTimeoutMs);
  integer("maxRequestBytes", resolved.maxRequestBytes, 1, 2 ** 32 - 1);
  integer("maxResponseBytes", resolved.maxResponseBytes, 1, 2 ** 32 - 1);
  return resolved;
}

function resolveTls(tls: ClientTlsOptions): ClientTls {
  if (tls === null || typeof tls !== "object") throw new TypeError("options.tls must be an object: { ca?, cert?, key?, servername?, rejectUnauthorized? }");
  const known = new Set(["ca", "cert", "key", "servername", "rejectUnauthorized"]);
  const unknown = Object.keys(tls).find((k) => !known.has(k));
  if (unknown !== undefined) throw new TypeError(`options.tls has an unknown key "${unknown}"`);
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new TypeError("options.tls: give cert and key together");
  if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== "boolean") throw new TypeError("options.tls.rejectUnauthorized must be a boolean");
  if (tls.servername !== undefined && (typeof tls.servername !== "string" || tls.servername === "")) throw new TypeError("options.tls.servername must be a non-empty string");
  return { connect: { ...tls }, session: undefined };
}

/** Checks a call's own options; the same rules as the client's. */
export function checkCallOptions(options: CallOptions): void {
  if (options.timeoutMs !== undefined) checkTimeout("timeoutMs", options.timeoutMs);
  checkMeta("meta", options.meta);
}

function checkTimeout(name: string, value: number): void {
  integer(name, value, 0, MAX_TIMER_MS);
}

function checkMeta(name: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== "object" || Array.isArray(value))) {
    throw new TypeError(`options.${name} must be an object`);
  }
}

function integer(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`options.${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
}
