/**
 * Every key of rpc.config.ts, once: its check (with its range, used for the
 * file and the flag alike), its default, its doc line and, for the keys the
 * command line may set, its flag. ForkrpcConfig, ServerConfig and the CLI's
 * serve flags are derived from this table, and a test holds docs/config.md
 * to it. Table order is the order of the flags in `forkrpc serve --help`.
 */
import { availableParallelism } from "node:os";
import { connectionsFor, descriptorLimit } from "../descriptor-limit.ts";
import { DEFAULT_MAX_DEPTH } from "../protocol/envelope.ts";
import { MAX_TIMER_MS } from "../protocol/timers.ts";
import { parseHostPort } from "../registry/static.ts";
import { accessLog, adminAddress, auth, bool, builtIns, functions, hostPort, int, keyPrefix, nonEmptyString, oneOf, patterns, serviceName, urls } from "./checks.ts";
import { key, optionalKey, type FileOf, type FlagsOf, type ResolvedOf } from "./key.ts";

export const KEYS = {
  /** Address to listen on. Default 127.0.0.1. */
  host: key({
    check: nonEmptyString,
    default: "127.0.0.1",
    flag: { name: "host", arg: "HOST", help: "address to listen on (default 127.0.0.1)" },
  }),
  /** Port to listen on; 0 picks a free one. Default 8080. */
  port: key({
    check: int(0, 65535),
    default: 8080,
    flag: { name: "port", short: "p", arg: "N", help: "port; 0 picks a free one (default 8080)" },
  }),
  /** Worker processes; 0 serves in the master process. Default: number of CPUs. */
  workers: key({
    check: int(0, 256),
    defaultFrom: availableParallelism,
    flag: { name: "workers", short: "w", arg: "N", help: "worker processes; 0 serves in this process (default: CPU count)" },
  }),
  /** Glob patterns of plugin files, relative to the config file's folder. */
  plugins: key({
    check: patterns,
    default: ["plugins/**/*.{ts,js}"],
    flag: { name: "plugins", arg: "GLOB", multiple: true, help: "plugin glob, relative to this folder; repeat for more" },
  }),
  limits: {
    /** Largest frame body accepted, in bytes. Default 1 MiB. */
    maxFrameBytes: key({ check: int(1, 0xffffffff), default: 1024 * 1024 }),
    /** A frame started and not finished in this time closes the connection. Default 10 s. */
    readTimeoutMs: key({ check: int(1, MAX_TIMER_MS), default: 10_000 }),
    /** Deepest JSON nesting accepted in a request. Default 512. */
    maxJsonDepth: key({ check: int(1, 100_000), default: DEFAULT_MAX_DEPTH }),
    /**
     * Requests one connection may have sent and not yet been answered;
     * beyond it the server stops reading that connection until answers are
     * written. Default 1024.
     */
    maxPipelined: key({ check: int(1, 1_000_000), default: 1024 }),
    /** Requests running at once on one connection; past it RESOURCE_EXHAUSTED (0: no limit). Default 0. */
    maxInflightPerConnection: key({ check: int(0, 1_000_000), default: 0 }),
    /** Requests running at once in one worker; past it RESOURCE_EXHAUSTED (0: no limit). Default 0. */
    maxInflightPerWorker: key({ check: int(0, 10_000_000), default: 0 }),
    /**
     * Connections one worker holds at once; past it new ones are closed at
     * once (and counted). 0: no limit. Default: the process's descriptor
     * limit less a twentieth of it (at least 64) for the worker's own files.
     */
    maxConnections: key({ check: int(0, 10_000_000), defaultFrom: () => connectionsFor(descriptorLimit()) }),
    /** A connection with nothing in flight and no bytes either way for this long is closed (0: never). Default 0. */
    idleTimeoutMs: key({ check: int(0, MAX_TIMER_MS), default: 0 }),
    /**
     * Answer bytes a connection may hold for a client that does not read
     * them (in the socket's buffer or ready to go); past it the server reads
     * no more of that client's requests. Default 512 KiB.
     */
    maxWriteBufferBytes: key({ check: int(1024, MAX_TIMER_MS), default: 512 * 1024 }),
    /** A connection whose client takes none of its pending answers for this long is closed (0: never). Default 30 s. */
    writeTimeoutMs: key({ check: int(0, MAX_TIMER_MS), default: 30_000 }),
  },
  shutdown: {
    /** How long a graceful stop may take before connections are cut. Default 30 s. */
    graceMs: key({ check: int(0, MAX_TIMER_MS), default: 30_000 }),
    /** How long a connection that was sent a goaway stays open for the client to leave. Default 1 s. */
    goawayLingerMs: key({ check: int(0, 60_000), default: 1_000 }),
    /** While going away, a connection that never used ids closes once it has been quiet this long. Default 100 ms. */
    quietMs: key({ check: int(0, 60_000), default: 100 }),
  },
  /** File the master writes its pid to, for `forkrpc reload` and `forkrpc stop`. */
  pidFile: optionalKey({
    check: nonEmptyString,
    path: true,
    flag: {
      name: "pid-file",
      arg: "FILE",
      help: "write the master's pid here (for forkrpc reload / stop); refused while\nanother running forkrpc master's pid is in it",
    },
  }),
  /**
   * How workers share the listening socket. "shared" (default): every worker
   * accepts on it competitively. "round-robin": the master accepts and hands
   * connections out in turn.
   */
  accept: key({
    check: oneOf("shared", "round-robin"),
    default: "shared",
    flag: { name: "accept", arg: "MODE", help: "shared (default) or round-robin: how workers share the socket" },
  }),
  /**
   * The master's admin HTTP server (/metrics, /healthz, /readyz, the
   * dashboard): `{ host, port }` or "HOST:PORT"; host defaults to 127.0.0.1.
   * Absent: none, and workers record no metrics. It has no auth: keep it on
   * loopback or a private network.
   */
  admin: optionalKey({
    check: adminAddress,
    flag: { name: "admin", arg: "HOST:PORT", help: "serve /metrics, health and the dashboard here (no auth:\nloopback or a private network only)" },
  }),
  /**
   * TLS on the listening socket (docs/tls.md): with tls.cert and tls.key
   * every worker serves TLS, the same framing inside. Absent: plaintext.
   */
  tls: {
    /** PEM certificate chain the server presents. */
    cert: optionalKey({ check: nonEmptyString, path: true, flag: { name: "tls-cert", arg: "FILE", help: "serve TLS with this PEM certificate (chain); needs --tls-key" } }),
    /** PEM private key of tls.cert. */
    key: optionalKey({ check: nonEmptyString, path: true, flag: { name: "tls-key", arg: "FILE", help: "the PEM private key of --tls-cert" } }),
    /** PEM CA bundle client certificates are checked against (mutual TLS). */
    ca: optionalKey({ check: nonEmptyString, path: true, flag: { name: "tls-ca", arg: "FILE", help: "PEM CA bundle that client certificates are checked against" } }),
    /** "none": no client certificate asked; "request": asked and checked, not required; "require": refused without a valid one. */
    clientAuth: key({
      check: oneOf("none", "request", "require"),
      default: "none",
      flag: { name: "tls-client-auth", arg: "MODE", help: "none (default), request or require: client certificates" },
    }),
    /** Oldest TLS version accepted. Default "TLSv1.2". */
    minVersion: key({ check: oneOf("TLSv1.2", "TLSv1.3"), default: "TLSv1.2" }),
  },
  /** Middleware for every method, outermost first (after access log and auth). */
  middleware: key({ check: functions, default: [] }),
  /** Token auth on every method not marked `public`; absent: no auth. */
  auth: optionalKey({ check: auth }),
  /** Structured access log (pino); false or absent: none. */
  accessLog: key({ check: accessLog, default: false }),
  deadline: {
    /** Deadline of every request that sets none smaller (ms; 0: none). Default 0. */
    defaultTimeoutMs: key({ check: int(0, MAX_TIMER_MS), default: 0 }),
  },
  introspection: {
    /** Serve rpc.discover. Default true. */
    discover: key({ check: bool, default: true }),
    /** Serve rpc.health. Default true. */
    health: key({ check: bool, default: true }),
    /**
     * Built-ins that skip auth (all other middleware still applies).
     * Default ["rpc.health"]: probes need no token, rpc.discover does when auth is on.
     */
    public: key({ check: builtIns, default: ["rpc.health"] }),
  },
  threads: {
    /**
     * Handler threads per worker for @Rpc({ offload: true }) methods
     * (docs/threads.md). Started with the worker, only when some method is
     * offloaded. Default 1.
     */
    perWorker: key({
      check: int(1, 64),
      default: 1,
      flag: { name: "threads", arg: "N", help: "handler threads per worker for offloaded methods (default 1)" },
    }),
    /** Offloaded calls waiting for a thread, per worker; past it RESOURCE_EXHAUSTED. Default 16. */
    maxQueue: key({ check: int(0, 1_000_000), default: 16 }),
    /** A thread idle this long is stopped, and started again by the next call (0: never). Default 30 s. */
    idleTimeoutMs: key({ check: int(0, MAX_TIMER_MS), default: 30_000 }),
  },
  /** Registration in a service registry (docs/scale-out.md); without registry.etcd.endpoints, none. */
  registry: {
    etcd: {
      /** Client URLs of the etcd cluster to register in; absent: no registration. */
      endpoints: optionalKey({
        check: urls,
        flag: { name: "etcd", arg: "URL", multiple: true, help: "register in this etcd (a client URL); repeat for more members" },
      }),
      /** Root of forkrpc's keys in etcd. Default "/forkrpc". */
      prefix: key({ check: keyPrefix, default: "/forkrpc" }),
      /** Seconds an instance stays registered after its master stops keeping its lease alive. Default 10. */
      leaseTtlS: key({ check: int(2, 3600), default: 10 }),
    },
    /** The service this server registers as: clients discover by it. Default "default". */
    service: key({
      check: serviceName,
      default: "default",
      flag: { name: "service", arg: "NAME", help: "service name to register under (default default)" },
    }),
    /** The address clients should use; default: host and port (required when host is 0.0.0.0 or ::). */
    advertise: optionalKey({
      check: hostPort,
      flag: {
        name: "advertise",
        arg: "HOST:PORT",
        help: "address to register for clients (default: --host and the port,\nunless the host is 0.0.0.0 or ::)",
        parse: (text: string) => {
          const parsed = parseHostPort(text);
          return typeof parsed === "string" ? undefined : parsed;
        },
      },
    }),
    /** Relative share of calls clients send this instance (0: none). Default 1. */
    weight: key({ check: int(0, 1000), default: 1 }),
  },
  supervision: {
    /** A worker whose event loop is blocked this long is killed and replaced. Default 30 s. */
    workerTimeoutMs: key({ check: int(100, MAX_TIMER_MS), default: 30_000 }),
    /** How often workers report to the master. Default 1 s. */
    heartbeatMs: key({ check: int(10, 60_000), default: 1_000 }),
    /** A worker not ready this long after its fork has failed to boot. Default 60 s. */
    bootTimeoutMs: key({ check: int(100, MAX_TIMER_MS), default: 60_000 }),
    /** First delay before respawning a crashed worker; doubles per crash in a row. Default 100 ms. */
    respawnDelayMs: key({ check: int(0, 600_000), default: 100 }),
    /** Longest delay before a respawn. Default 10 s. */
    respawnDelayMaxMs: key({ check: int(0, 600_000), default: 10_000 }),
    /** A worker that dies less than this after being ready counts as a crash loop step. Default 10 s. */
    minUptimeMs: key({ check: int(0, MAX_TIMER_MS), default: 10_000 }),
    /** This many early deaths in a row stop the master with a non-zero exit. Default 5. */
    crashLoopLimit: key({ check: int(1, 1000), default: 5 }),
    /** Replace a worker after it has served this many requests (0: never). Default 0. */
    maxRequests: key({ check: int(0, Number.MAX_SAFE_INTEGER), default: 0 }),
    /** Up to this many more requests, drawn per worker, so workers do not all recycle at once. Default 0. */
    maxRequestsJitter: key({ check: int(0, Number.MAX_SAFE_INTEGER), default: 0 }),
    /** Replace a worker whose resident memory grows past this (0: never). Default 0. */
    maxRssMb: key({ check: int(0, 1_000_000), default: 0 }),
    /** Longest time an onWorkerStart or onWorkerStop hook may take. Default 10 s. */
    hookTimeoutMs: key({ check: int(1, MAX_TIMER_MS), default: 10_000 }),
  },
};

/** What rpc.config.ts exports. Every key is optional. */
export type ForkrpcConfig = FileOf<typeof KEYS>;

/** Every key with its default filled in (ServerConfig adds where the config came from). */
export type ResolvedKeys = ResolvedOf<typeof KEYS>;

/** Values given on the command line; they win over the file. */
export type ConfigOverrides = FlagsOf<typeof KEYS>;
