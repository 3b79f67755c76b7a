/**
 * Errors of forkrpc. Two families, each with one table of codes:
 * - wire codes (protocol/codes.ts), carried by RpcError to clients;
 * - boot codes (below), carried by BootError when a server cannot start.
 * Match on `err.code`, never on instanceof: plugins may load a second copy
 * of this module, and the brand below survives that.
 */
import { WIRE_CODES, type WireCode } from "./protocol/codes.ts";
import type { WireError } from "./protocol/envelope.ts";

export { WIRE_CODES, type WireCode };

const RPC_ERROR = Symbol.for("forkrpc.RpcError");

/**
 * An error a handler (or middleware) throws to answer with its own code.
 * The code, message and data go to the client as they are.
 *
 * @example
 * throw new RpcError("NOT_FOUND", `no user ${id}`, { id });
 */
export class RpcError extends Error implements WireError {
  readonly code: string;
  readonly data?: unknown;

  constructor(code: WireCode | (string & {}), message: string, data?: unknown) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    if (data !== undefined) this.data = data;
    Object.defineProperty(this, RPC_ERROR, { value: true });
  }

  static is(value: unknown): value is RpcError {
    try {
      return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[RPC_ERROR] === true;
    } catch {
      return false; // a Proxy whose traps throw is not one of ours
    }
  }
}

const INTERNAL: WireError = Object.freeze({ code: "INTERNAL", message: "internal error" });

/**
 * The one place where anything thrown becomes a wire error. An RpcError
 * passes through; anything else becomes a generic INTERNAL, so no message,
 * stack or property of an unexpected error leaves the server.
 */
export function toWireError(thrown: unknown): WireError {
  if (!RpcError.is(thrown)) return INTERNAL;
  try {
    const { code, message, data } = thrown;
    if (typeof code !== "string" || code === "") return INTERNAL;
    const text = typeof message === "string" ? message : String(message);
    return data === undefined ? { code, message: text } : { code, message: text, data };
  } catch {
    // getters or toString() that throw: hostile, so nothing of it goes out
    return INTERNAL;
  }
}

/** Why a server could not start. Each code is documented in docs/errors.md. */
export const BOOT_CODES = {
  CONFIG_NOT_FOUND: "the config file given does not exist",
  CONFIG_LOAD_FAILED: "the config file failed to import",
  CONFIG_INVALID: "a config key is unknown or has the wrong type",
  PLUGIN_IMPORT_FAILED: "a plugin file failed to import (syntax error, throwing top level, missing module)",
  PLUGIN_NOT_EXPORTED: "a class decorated with @Rpc is not exported by its file",
  PLUGIN_INVALID: "an @Rpc class has no handle() method, a bad method name, or @Rpc applied twice",
  DUPLICATE_METHOD: "two handlers claim one method name",
  INJECTION_METADATA: "a constructor parameter has no usable type metadata (import type, interface, primitive) or is a built-in class",
  INJECTION_FAILED: "constructing a handler or one of its services threw",
  HOOK_FAILED: "an onWorkerStart() hook threw or outran supervision.hookTimeoutMs",
  LISTEN_FAILED: "the listening socket could not be opened",
  TLS_FILE_UNREADABLE: "a file of config.tls (cert, key, ca) is missing or cannot be read",
  TLS_INVALID: "a file of config.tls is not PEM, or tls.key is not the private key of tls.cert",
  PID_FILE_IN_USE: "the pid file names a running forkrpc master other than this one",
  PID_FILE_UNWRITABLE: "the pid file cannot be written (or read) where the config or --pid-file puts it",
  WORKER_FAILED: "a worker could not start for another reason (an unexpected error during boot, or it exited before it was ready)",
} as const;

export type BootCode = keyof typeof BOOT_CODES;

export class BootError extends Error {
  readonly code: BootCode;
  constructor(code: BootCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BootError";
    this.code = code;
  }
}

/**
 * Why a command of the CLI that talks to a running server refused to act.
 * Each code is documented in docs/errors.md.
 */
export const CLI_CODES = {
  SERVER_NOT_RUNNING: "reload/stop: the pid file is missing, or names a process that has exited",
  PID_FILE_INVALID: "reload/stop: the pid file does not hold a pid",
  PID_NOT_A_MASTER: "reload/stop: the pid file names a live process that is not a forkrpc master, so it is not signalled",
} as const;

export type CliCode = keyof typeof CLI_CODES;

export class CliError extends Error {
  readonly code: CliCode;
  constructor(code: CliCode, message: string) {
    super(message);
    this.name = "CliError";
    this.code = code;
  }
}

/**
 * Why a call to the service registry (etcd) failed. Each code is documented
 * in docs/errors.md. Serving never stops for these: the master retries with
 * backoff, a client keeps its last known list.
 */
export const REGISTRY_CODES = {
  REGISTRY_UNAVAILABLE: "no endpoint of the registry answered in time (refused, reset, timed out)",
  REGISTRY_REFUSED: "the registry answered with an error (bad request, no leader, permission)",
  REGISTRY_LEASE_LOST: "the lease named is gone (expired, revoked, or etcd's data was wiped): grant a new one",
  REGISTRY_COMPACTED: "a watch asked for history etcd has compacted away: list again, then watch from the new revision",
} as const;

export type RegistryCode = keyof typeof REGISTRY_CODES;

export class RegistryError extends Error {
  readonly code: RegistryCode;
  /** For REGISTRY_COMPACTED: the oldest revision etcd still has. */
  readonly compactRevision?: number;
  constructor(code: RegistryCode, message: string, options?: { cause?: unknown; compactRevision?: number }) {
    super(message, options);
    this.name = "RegistryError";
    this.code = code;
    if (options?.compactRevision !== undefined) this.compactRevision = options.compactRevision;
  }
}

/** A one-line description of a thrown value, for boot errors and logs. */
export function describe(cause: unknown): string {
  try {
    if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
    return String(cause);
  } catch {
    return "(a value that cannot be described)";
  }
}

/** For the log: an Error's stack, else describe(); never throws (a hostile getter falls back to describe). */
export function stackOf(thrown: unknown): string {
  try {
    if (thrown instanceof Error && typeof thrown.stack === "string") return thrown.stack;
  } catch {
    // a hostile getter: fall back to the plain description
  }
  return describe(thrown);
}
