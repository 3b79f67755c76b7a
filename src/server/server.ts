/**
 * The listening side of one process: accepts connections and tracks them so
 * it can go away gracefully.
 */
import { createServer, type AddressInfo, type Server } from "node:net";
import type { ServerConfig } from "../config.ts";
import { BootError } from "../errors.ts";
import type { Registry } from "../plugins/registry.ts";
import { Activity } from "./activity.ts";
import { Connection, type ConnectionLimits } from "./connection.ts";

/** Large enough that a burst of connects is not dropped by the kernel (Node's default is 511). */
const LISTEN_BACKLOG = 4096;

export class RpcServer {
  readonly #net: Server;
  readonly #connections = new Set<Connection>();
  readonly #limits: ConnectionLimits;
  #draining: Promise<void> | null = null;
  #accepted = 0;

  readonly activity: Activity;

  constructor(methods: Registry, config: ServerConfig, activity = new Activity()) {
    this.activity = activity;
    this.#limits = { ...config.limits, goawayLingerMs: config.shutdown.goawayLingerMs, quietMs: config.shutdown.quietMs };
    // allowHalfOpen: a client may finish sending and still wait for its answers.
    this.#net = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      this.#accepted++;
      const conn = new Connection(socket, methods, this.#limits, activity, (c) => this.#forget(c));
      this.#connections.add(conn);
      if (this.#draining !== null) conn.drain("server is shutting down");
    });
  }

  /** Connections accepted so far, and open now. */
  get stats(): { accepted: number; open: number } {
    return { accepted: this.#accepted, open: this.#connections.size };
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (cause: Error) =>
        reject(new BootError("LISTEN_FAILED", `cannot listen on ${host}:${port}: ${cause.message}`, { cause }));
      this.#net.once("error", onError);
      this.#net.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
        this.#net.off("error", onError);
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
      for (const conn of this.#connections) conn.drain(reason);
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
