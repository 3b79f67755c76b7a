/**
 * The listening side of one process: accepts connections and tracks them so
 * it can go away gracefully.
 *
 * Descriptors are the one resource a flood of idle connections exhausts:
 * past limits.maxConnections the server closes new connections at once
 * (net.Server's maxConnections; counted as rejected), and an accept that
 * still fails (EMFILE, ENFILE: another part of the process holds the rest)
 * is logged once per burst, never thrown: libuv has already closed the
 * connections it could not take, and accepting resumes by itself.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { ServerConfig } from "../config.ts";
import { BootError } from "../errors.ts";
import type { Logger } from "pino";
import type { Registry } from "../plugins/registry.ts";
import { createRequestLogger } from "../middleware/logger.ts";
import { Activity } from "./activity.ts";
import { Connection, type ConnectionLimits } from "./connection.ts";
import { log } from "../log.ts";
import { SecureListener } from "./secure-listener.ts";
import type { TlsMaterial } from "./tls.ts";

/** Large enough that a burst of connects is not dropped by the kernel (Node's default is 511). */
const LISTEN_BACKLOG = 4096;
const ACCEPT_LOG_EVERY_MS = 1_000;

export class RpcServer {
  readonly #net: Server;
  readonly #connections = new Set<Connection>();
  readonly #limits: ConnectionLimits;
  #draining: Promise<void> | null = null;
  #accepted = 0;
  /** Connections closed at once: over maxConnections, or lost to a failed accept. */
  #rejected = 0;
  /** Of those, lost to a failed accept (EMFILE, ENFILE) rather than refused over maxConnections. */
  #acceptFailed = 0;
  /** -Infinity, not 0: performance.now() counts from process start, so a worker
   *  that refuses a connection in its first second would otherwise stay silent. */
  #acceptErrorLogged = Number.NEGATIVE_INFINITY;

  readonly activity: Activity;
  /** Present when the server speaks TLS (config.tls): its certificate reload and ticket keys. */
  readonly secure: SecureListener | null;

  /**
   * requestLog: the logger ctx.log children come from, one per server (so one per worker).
   * tls: config.tls's files, read and checked (boot/start.ts); absent: plaintext.
   */
  constructor(methods: Registry, config: ServerConfig, activity = new Activity(), requestLog: Logger = createRequestLogger(), tls?: TlsMaterial) {
    this.activity = activity;
    this.#limits = { ...config.limits, goawayLingerMs: config.shutdown.goawayLingerMs, quietMs: config.shutdown.quietMs };
    const accept = (socket: Socket) => {
      this.#accepted++;
      const conn = new Connection(socket, methods, this.#limits, activity, requestLog, (c) => this.#forget(c));
      this.#connections.add(conn);
      if (this.#draining !== null) conn.leave("server is shutting down");
    };
    // The handshake is bounded by the read timeout: a frame begun and not finished gets as long.
    this.secure = tls === undefined ? null : new SecureListener(tls, config.tls, config.limits.readTimeoutMs, accept);
    // allowHalfOpen: a client may finish sending and still wait for its answers.
    this.#net = this.secure?.server ?? createServer({ allowHalfOpen: true, noDelay: true }, accept);
    if (config.limits.maxConnections > 0) this.#net.maxConnections = config.limits.maxConnections;
    this.#net.on("drop", () => {
      this.#rejected++;
      this.#warn(`connection refused: ${this.#connections.size} open, limits.maxConnections is ${config.limits.maxConnections}`);
    });
  }

  /** Connections accepted so far (with TLS: handshakes done), open now, closed at once for want of room (acceptFailed: of those, by a failed accept), and failed handshakes. */
  get stats(): { accepted: number; open: number; rejected: number; acceptFailed: number; handshakesFailed: number } {
    return { accepted: this.#accepted, open: this.#connections.size, rejected: this.#rejected, acceptFailed: this.#acceptFailed, handshakesFailed: this.secure?.failed ?? 0 };
  }

  /** At most one line a second: a flood must not turn into a flood of log lines. */
  #warn(message: string): void {
    const now = performance.now();
    if (now - this.#acceptErrorLogged < ACCEPT_LOG_EVERY_MS) return;
    this.#acceptErrorLogged = now;
    log.warn(message);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (cause: Error) =>
        reject(new BootError("LISTEN_FAILED", `cannot listen on ${host}:${port}: ${cause.message}`, { cause }));
      this.#net.once("error", onError);
      this.#net.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
        this.#net.off("error", onError);
        // After listen, the only errors are failed accepts: the server keeps listening.
        this.#net.on("error", (error: NodeJS.ErrnoException) => {
          this.#rejected++;
          this.#acceptFailed++;
          this.#warn(`accept failed (${error.code ?? error.message}): ${this.#connections.size} connections open; see limits.maxConnections`);
        });
        resolve(this.#net.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting new connections; those open are left as they are. */
  stopAccepting(): void {
    if (this.#net.listening) this.#net.close();
  }

  /**
   * Stops accepting, lets every connection finish what it owes, and resolves
   * when all are closed, or after graceMs, when the rest are cut.
   */
  drain(reason: string, graceMs: number): Promise<void> {
    this.#draining ??= new Promise<void>((resolve) => {
      this.stopAccepting();
      const timer = setTimeout(() => {
        for (const conn of this.#connections) conn.destroy();
      }, graceMs);
      timer.unref();
      this.#whenEmpty = () => {
        clearTimeout(timer);
        resolve();
      };
      for (const conn of this.#connections) conn.leave(reason);
      if (this.#connections.size === 0) this.#whenEmpty();
    });
    return this.#draining;
  }

  #whenEmpty: (() => void) | null = null;

  #forget(conn: Connection): void {
    this.#connections.delete(conn);
    if (this.#connections.size === 0 && this.#whenEmpty !== null) this.#whenEmpty();
  }
}
