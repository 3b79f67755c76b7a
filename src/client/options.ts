/**
 * RpcClient's options, their defaults, and the check that runs once in the
 * constructor (a wrong option is a programming error: it throws a TypeError).
 */
import { MAX_TIMER_MS } from "../protocol/timers.ts";
import { endpointKey } from "./balancer.ts";
import { NAME } from "../registry/keys.ts";
import { parseHostPort } from "../registry/static.ts";
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
  /** Server port. Required unless `endpoints` (or `etcd`) names the servers. */
  port?: number;
  /**
   * Several servers to spread calls over, "host:port" each, instead of
   * `host` and `port`: each call goes to the less loaded of two random ones,
   * and a server that fails or stops answering is left out until it is back.
   */
  endpoints?: readonly string[];
  /**
   * Find the servers in etcd instead: the instances registered under
   * PREFIX/services/SERVICE/ (see docs/scale-out.md), kept current by a
   * watch; only those whose state is "serving" get new calls. Balancing,
   * failover and the health probe are those of `endpoints`.
   */
  etcd?: DiscoveryOptions;
  /** With `etcd`: the service whose servers to call. Default "default". */
  service?: string;
  /**
   * With `endpoints`: how often each server is asked `rpc.health`, and how
   * long its answer may take before the server counts as gone (its
   * connections are cut, idempotent calls on them go elsewhere). false: no
   * probe. Default { intervalMs: 1000, timeoutMs: 1000 }.
   */
  health?: HealthOptions | false;
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

export interface DiscoveryOptions {
  /** etcd's client URLs, "http://10.0.0.1:2379" each. */
  endpoints: readonly string[];
  /** The key prefix the servers register under. Default "/forkrpc". */
  prefix?: string;
  /** Deadline of each request to etcd, in ms. Default 2000. */
  timeoutMs?: number;
}

export interface HealthOptions {
  intervalMs?: number;
  timeoutMs?: number;
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
  /** The servers to balance over, "host:port" each (checked); null: the one at host and port. */
  readonly endpoints: readonly string[] | null;
  /** Where to find the servers in etcd; null: `endpoints` or host and port say. */
  readonly discovery: { readonly etcd: readonly string[]; readonly prefix: string; readonly service: string; readonly timeoutMs: number } | null;
  /** null: no health probe. */
  readonly health: { readonly intervalMs: number; readonly timeoutMs: number } | null;
  readonly tls: ClientTls | undefined;
}

export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new TypeError("RpcClient needs options: { host, port } or { endpoints }");
  const endpoints = resolveEndpoints(options);
  const discovery = resolveDiscovery(options);
  const resolved: ResolvedOptions = {
    host: options.host ?? "127.0.0.1",
    port: endpoints === null && discovery === null ? (options.port as number) : 1,
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
    endpoints,
    discovery,
    health: resolveHealth(options.health),
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

function resolveEndpoints(options: ClientOptions): ResolvedOptions["endpoints"] {
  const list = options.endpoints;
  if (list === undefined) return null;
  if (options.port !== undefined || options.host !== undefined || options.etcd !== undefined) {
    throw new TypeError("options.endpoints replaces host and port (and etcd): give one or the other");
  }
  if (!Array.isArray(list) || list.length === 0) throw new TypeError('options.endpoints must be a non-empty array of "host:port" strings');
  const keys = new Set<string>();
  for (const text of list as unknown[]) {
    const parsed = typeof text === "string" ? parseHostPort(text) : `${typeof text} is not a "host:port" string`;
    if (typeof parsed === "string") throw new TypeError(`options.endpoints: ${parsed}`);
    keys.add(endpointKey(parsed.host, parsed.port));
  }
  if (keys.size !== list.length) throw new TypeError("options.endpoints lists a server twice");
  return list;
}

function resolveDiscovery(options: ClientOptions): ResolvedOptions["discovery"] {
  const etcd = options.etcd;
  if (etcd === undefined) {
    if (options.service !== undefined) throw new TypeError("options.service needs options.etcd (where to find it)");
    return null;
  }
  if (options.endpoints !== undefined || options.port !== undefined || options.host !== undefined) {
    throw new TypeError("options.etcd finds the servers: give no endpoints, host or port with it");
  }
  if (etcd === null || typeof etcd !== "object") throw new TypeError("options.etcd must be an object: { endpoints, prefix? }");
  const urls = etcd.endpoints;
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === "string" && /^https?:\/\/[^/]+/.test(u))) {
    throw new TypeError('options.etcd.endpoints must be a non-empty array of URLs ("http://host:2379")');
  }
  const prefix = etcd.prefix ?? "/forkrpc";
  if (typeof prefix !== "string" || !prefix.startsWith("/")) throw new TypeError('options.etcd.prefix must be a key prefix starting with "/"');
  const service = options.service ?? "default";
  if (typeof service !== "string" || !NAME.test(service)) {
    throw new TypeError("options.service must be 1-128 letters, digits, '.', '_', ':' or '-'");
  }
  const timeoutMs = etcd.timeoutMs ?? 2_000;
  integer("etcd.timeoutMs", timeoutMs, 1, MAX_TIMER_MS);
  return { etcd: urls, prefix, service, timeoutMs };
}

function resolveHealth(health: HealthOptions | false | undefined): ResolvedOptions["health"] {
  if (health === false) return null;
  if (health !== undefined && (health === null || typeof health !== "object")) throw new TypeError("options.health must be an object or false");
  const resolved = { intervalMs: health?.intervalMs ?? 1_000, timeoutMs: health?.timeoutMs ?? 1_000 };
  integer("health.intervalMs", resolved.intervalMs, 10, MAX_TIMER_MS);
  integer("health.timeoutMs", resolved.timeoutMs, 10, MAX_TIMER_MS);
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
