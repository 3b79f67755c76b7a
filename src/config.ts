/**
 * The server's configuration: the type users write in rpc.config.ts, its
 * defaults, validation, and loading. Validation names the offending key.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BootError, describe } from "./errors.ts";
import { validateConfig } from "./config-schema.ts";
import { connectionsFor, descriptorLimit } from "./descriptor-limit.ts";
import { DEFAULT_MAX_DEPTH } from "./protocol/envelope.ts";
import type { AccessLogOptions } from "./middleware/access-log.ts";
import type { AuthOptions } from "./middleware/auth.ts";
import type { MiddlewareFn } from "./middleware/types.ts";

/** What rpc.config.ts exports. Every key is optional. */
export interface ForkrpcConfig {
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 8080. */
  port?: number;
  /** Worker processes; 0 serves in the master process. Default: number of CPUs. */
  workers?: number;
  /** Glob patterns of plugin files, relative to the config file's folder. */
  plugins?: string[];
  limits?: {
    /** Largest frame body accepted, in bytes. Default 1 MiB. */
    maxFrameBytes?: number;
    /** A frame started and not finished in this time closes the connection. Default 10 s. */
    readTimeoutMs?: number;
    /** Deepest JSON nesting accepted in a request. Default 512. */
    maxJsonDepth?: number;
    /**
     * Requests one connection may have sent and not yet been answered;
     * beyond it the server stops reading that connection until answers are
     * written. Default 1024.
     */
    maxPipelined?: number;
    /** Requests running at once on one connection; past it RESOURCE_EXHAUSTED (0: no limit). Default 0. */
    maxInflightPerConnection?: number;
    /** Requests running at once in one worker; past it RESOURCE_EXHAUSTED (0: no limit). Default 0. */
    maxInflightPerWorker?: number;
    /**
     * Connections one worker holds at once; past it new ones are closed at
     * once (and counted). 0: no limit. Default: the process's descriptor
     * limit less a twentieth of it (at least 64) for the worker's own files.
     */
    maxConnections?: number;
    /** A connection with nothing in flight and no bytes either way for this long is closed (0: never). Default 0. */
    idleTimeoutMs?: number;
    /**
     * Answer bytes a connection may hold for a client that does not read
     * them (in the socket's buffer or ready to go); past it the server reads
     * no more of that client's requests. Default 512 KiB.
     */
    maxWriteBufferBytes?: number;
    /** A connection whose client takes none of its pending answers for this long is closed (0: never). Default 30 s. */
    writeTimeoutMs?: number;
  };
  shutdown?: {
    /** How long a graceful stop may take before connections are cut. Default 30 s. */
    graceMs?: number;
    /** How long a connection that was sent a goaway stays open for the client to leave. Default 1 s. */
    goawayLingerMs?: number;
    /** While going away, a connection that never used ids closes once it has been quiet this long. Default 100 ms. */
    quietMs?: number;
  };
  /**
   * How workers share the listening socket. "shared" (default): every worker
   * accepts on it competitively. "round-robin": the master accepts and hands
   * connections out in turn.
   */
  accept?: "shared" | "round-robin";
  /** File the master writes its pid to, for `forkrpc reload` and `forkrpc stop`. */
  pidFile?: string;
  /** Middleware for every method, outermost first (after access log and auth). */
  middleware?: MiddlewareFn[];
  /** Token auth on every method not marked `public`; absent: no auth. */
  auth?: AuthOptions;
  /** Structured access log (pino); false or absent: none. */
  accessLog?: boolean | AccessLogOptions;
  deadline?: {
    /** Deadline of every request that sets none smaller (ms; 0: none). Default 0. */
    defaultTimeoutMs?: number;
  };
  introspection?: {
    /** Serve rpc.discover. Default true. */
    discover?: boolean;
    /** Serve rpc.health. Default true. */
    health?: boolean;
    /**
     * Built-ins that skip auth (all other middleware still applies).
     * Default ["rpc.health"]: probes need no token, rpc.discover does when auth is on.
     */
    public?: Array<"rpc.discover" | "rpc.health">;
  };
  supervision?: {
    /** A worker whose event loop is blocked this long is killed and replaced. Default 30 s. */
    workerTimeoutMs?: number;
    /** How often workers report to the master. Default 1 s. */
    heartbeatMs?: number;
    /** A worker not ready this long after its fork has failed to boot. Default 60 s. */
    bootTimeoutMs?: number;
    /** First delay before respawning a crashed worker; doubles per crash in a row. Default 100 ms. */
    respawnDelayMs?: number;
    /** Longest delay before a respawn. Default 10 s. */
    respawnDelayMaxMs?: number;
    /** A worker that dies less than this after being ready counts as a crash loop step. Default 10 s. */
    minUptimeMs?: number;
    /** This many early deaths in a row stop the master with a non-zero exit. Default 5. */
    crashLoopLimit?: number;
    /** Replace a worker after it has served this many requests (0: never). Default 0. */
    maxRequests?: number;
    /** Up to this many more requests, drawn per worker, so workers do not all recycle at once. Default 0. */
    maxRequestsJitter?: number;
    /** Replace a worker whose resident memory grows past this (0: never). Default 0. */
    maxRssMb?: number;
    /** Longest time an onWorkerStart or onWorkerStop hook may take. Default 10 s. */
    hookTimeoutMs?: number;
  };
}

/**
 * The resolved configuration, with every default filled in. It is also the
 * injection token for the config: a constructor parameter typed
 * `ServerConfig` receives it.
 */
export abstract class ServerConfig {
  abstract readonly host: string;
  abstract readonly port: number;
  abstract readonly workers: number;
  abstract readonly plugins: readonly string[];
  /** Folder the plugin patterns are relative to. */
  abstract readonly pluginRoot: string;
  /** The config file that was loaded, if any. */
  abstract readonly configFile: string | undefined;
  abstract readonly limits: {
    readonly maxFrameBytes: number;
    readonly readTimeoutMs: number;
    readonly maxJsonDepth: number;
    readonly maxPipelined: number;
    readonly maxInflightPerConnection: number;
    readonly maxInflightPerWorker: number;
    readonly maxConnections: number;
    readonly idleTimeoutMs: number;
    readonly maxWriteBufferBytes: number;
    readonly writeTimeoutMs: number;
  };
  abstract readonly middleware: readonly MiddlewareFn[];
  abstract readonly auth: AuthOptions | undefined;
  abstract readonly accessLog: boolean | AccessLogOptions;
  abstract readonly deadline: { readonly defaultTimeoutMs: number };
  abstract readonly introspection: { readonly discover: boolean; readonly health: boolean; readonly public: readonly string[] };
  abstract readonly shutdown: { readonly graceMs: number; readonly goawayLingerMs: number; readonly quietMs: number };
  abstract readonly accept: "shared" | "round-robin";
  abstract readonly pidFile: string | undefined;
  abstract readonly supervision: Readonly<Required<NonNullable<ForkrpcConfig["supervision"]>>>;
}

/**
 * Types a config file's default export.
 *
 * @example
 * export default defineConfig({ port: 8080, plugins: ["plugins/**\/*.ts"] });
 */
export function defineConfig(config: ForkrpcConfig): ForkrpcConfig {
  return config;
}

export { validateConfig };

const CONFIG_FILES = ["rpc.config.ts", "rpc.config.mts", "rpc.config.js", "rpc.config.mjs"];

/** Values given on the command line; they win over the file. */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  workers?: number;
  plugins?: string[];
  pidFile?: string;
  accept?: "shared" | "round-robin";
}

export function resolveConfig(
  file: ForkrpcConfig,
  overrides: ConfigOverrides,
  configFile: string | undefined,
  cwd: string,
): ServerConfig {
  validateConfig(overrides, "command line");
  const root = configFile ? dirname(configFile) : cwd;
  return {
    host: overrides.host ?? file.host ?? "127.0.0.1",
    port: overrides.port ?? file.port ?? 8080,
    workers: overrides.workers ?? file.workers ?? availableParallelism(),
    plugins: overrides.plugins ?? file.plugins ?? ["plugins/**/*.{ts,js}"],
    pluginRoot: overrides.plugins ? cwd : root,
    configFile,
    limits: {
      maxFrameBytes: file.limits?.maxFrameBytes ?? 1024 * 1024,
      readTimeoutMs: file.limits?.readTimeoutMs ?? 10_000,
      maxJsonDepth: file.limits?.maxJsonDepth ?? DEFAULT_MAX_DEPTH,
      maxPipelined: file.limits?.maxPipelined ?? 1024,
      maxInflightPerConnection: file.limits?.maxInflightPerConnection ?? 0,
      maxInflightPerWorker: file.limits?.maxInflightPerWorker ?? 0,
      maxConnections: file.limits?.maxConnections ?? connectionsFor(descriptorLimit()),
      idleTimeoutMs: file.limits?.idleTimeoutMs ?? 0,
      maxWriteBufferBytes: file.limits?.maxWriteBufferBytes ?? 512 * 1024,
      writeTimeoutMs: file.limits?.writeTimeoutMs ?? 30_000,
    },
    middleware: file.middleware ?? [],
    auth: file.auth,
    accessLog: file.accessLog ?? false,
    deadline: { defaultTimeoutMs: file.deadline?.defaultTimeoutMs ?? 0 },
    introspection: {
      discover: file.introspection?.discover ?? true,
      health: file.introspection?.health ?? true,
      public: file.introspection?.public ?? ["rpc.health"],
    },
    shutdown: {
      graceMs: file.shutdown?.graceMs ?? 30_000,
      goawayLingerMs: file.shutdown?.goawayLingerMs ?? 1_000,
      quietMs: file.shutdown?.quietMs ?? 100,
    },
    accept: overrides.accept ?? file.accept ?? "shared",
    pidFile: overrides.pidFile !== undefined ? resolve(cwd, overrides.pidFile) : file.pidFile !== undefined ? resolve(root, file.pidFile) : undefined,
    supervision: { ...SUPERVISION_DEFAULTS, ...definedOnly(file.supervision ?? {}) },
  };
}

export const SUPERVISION_DEFAULTS: ServerConfig["supervision"] = {
  workerTimeoutMs: 30_000,
  heartbeatMs: 1_000,
  bootTimeoutMs: 60_000,
  respawnDelayMs: 100,
  respawnDelayMaxMs: 10_000,
  minUptimeMs: 10_000,
  crashLoopLimit: 5,
  maxRequests: 0,
  maxRequestsJitter: 0,
  maxRssMb: 0,
  hookTimeoutMs: 10_000,
};

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Finds, imports and validates the config file, then applies overrides.
 * Without an explicit path, rpc.config.{ts,mts,js,mjs} in `cwd` is used if
 * present, and the defaults otherwise.
 */
export async function loadConfig(
  path: string | undefined,
  overrides: ConfigOverrides = {},
  cwd = process.cwd(),
  options: { fresh?: boolean } = {},
): Promise<ServerConfig> {
  const file = path === undefined ? findConfig(cwd) : resolve(cwd, path);
  if (file !== undefined && !existsSync(file)) throw new BootError("CONFIG_NOT_FOUND", `config file not found: ${file}`);
  let exported: unknown = {};
  if (file !== undefined) {
    try {
      // A reload must see the file as it is now, not the module cache's copy.
      const url = pathToFileURL(file).href + (options.fresh ? `?reload=${Date.now()}` : "");
      const mod = (await import(url)) as { default?: unknown };
      exported = mod.default;
    } catch (cause) {
      throw new BootError("CONFIG_LOAD_FAILED", `${file}: ${describe(cause)}`, { cause });
    }
    if (exported === undefined) throw new BootError("CONFIG_INVALID", `${file}: has no default export (export default defineConfig({...}))`);
  }
  return resolveConfig(validateConfig(exported, file ?? "config"), overrides, file, cwd);
}

function findConfig(cwd: string): string | undefined {
  for (const name of CONFIG_FILES) {
    const candidate = resolve(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
