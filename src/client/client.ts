/**
 * RpcClient: calls over a small pool of connections, multiplexed by id, with
 * deadlines, reconnects, and retries only where a retry cannot run a request
 * twice. The retry policy lives here, in one place; connections report what
 * happened and the pool keeps them open.
 */
import { RpcError } from "../errors.ts";
import { errorOf, type ResponseEnvelope } from "../protocol/client-envelope.ts";
import { PendingCall, type CallHolder, type RpcResponse } from "./call.ts";
import { checkCallOptions, resolveOptions, type CallOptions, type ClientOptions, type ResolvedOptions } from "./options.ts";
import { RegistrySource } from "./discovery.ts";
import { EndpointSet, type EndpointStats } from "./endpoints.ts";
import { EtcdClient } from "../registry/etcd-client.ts";
import { EtcdDiscovery } from "../registry/etcd-discovery.ts";
import { StaticDiscovery } from "../registry/static.ts";
import { ConnectionPool, type CallRouter, type PoolEvents } from "./pool.ts";
import type { AnyMethods, HandlerClass, Methods, ParamsOf, ResultOf, UntypedName } from "./types.ts";

export interface ClientStats {
  /** Calls not yet settled (waiting, or sent and not answered). */
  readonly outstanding: number;
  /** Calls waiting for a connection. */
  readonly waiting: number;
  /** Connections that can take calls now. */
  readonly connections: number;
  /** Connections opened so far (reconnects and goaway replacements included). */
  readonly opened: number;
  readonly goaways: number;
  /** Sends of a call after its first (UNAVAILABLE answers, idempotent calls on a lost connection). */
  readonly retries: number;
  /** With `endpoints` (or discovery): each server and what the client knows of it; [] for a client of one server. */
  readonly endpoints: readonly EndpointStats[];
}

type State = "open" | "closing" | "destroyed";

/**
 * A forkrpc client. Connections open on the first call.
 *
 * @example
 * const client = new RpcClient({ host: "127.0.0.1", port: 8080, connections: 2 });
 * const result = await client.call("ping", "hello", { timeoutMs: 500 });
 * const { out, result: r } = await client.request("ping", "hello");
 * const spread = new RpcClient({ endpoints: ["10.0.0.5:8080", "10.0.0.6:8080"] }); // balanced
 * const found = new RpcClient({ etcd: { endpoints: ["http://10.0.0.2:2379"] }, service: "orders" }); // discovered
 * await client.close();
 */
export class RpcClient<M extends Methods = AnyMethods> {
  readonly #options: ResolvedOptions;
  /** One server's pool, or the balanced set of several. */
  readonly #pool: CallRouter;
  /** The client's own meta, encoded once for the calls that add none. */
  readonly #metaJson: string | undefined;
  /** Calls waiting for a usable connection, in the order they came. */
  readonly #waiting = new Set<PendingCall>();
  readonly #live = new Set<PendingCall>();
  #state: State = "open";
  #closing: Promise<void> | null = null;
  #idle: (() => void) | null = null;
  #retries = 0;

  constructor(options: ClientOptions) {
    this.#options = resolveOptions(options);
    const meta = this.#options.meta;
    try {
      this.#metaJson = meta === undefined ? undefined : encodeMeta(meta);
    } catch (error) {
      throw new TypeError(`options.meta: ${(error as Error).message}`);
    }
    const source = sourceOf(this.#options);
    this.#pool = source === null ? new ConnectionPool(this.#options, this.#poolEvents) : new EndpointSet(this.#options, this.#poolEvents, source);
  }

  /** Calls `method` and resolves with its result; rejects with an RpcError (match on `err.code`). */
  call<K extends keyof M & string>(method: K, params?: ParamsOf<M[K]>, options?: CallOptions): Promise<ResultOf<M[K]>>;
  call<H extends HandlerClass>(method: UntypedName<M>, params?: ParamsOf<H>, options?: CallOptions): Promise<ResultOf<H>>;
  call(method: string, params?: unknown, options: CallOptions = {}): Promise<unknown> {
    return this.#start(method, params, options, false);
  }

  /** Like call(), resolving with the handler's reply type as well: `{ out, result }`. */
  request<K extends keyof M & string>(method: K, params?: ParamsOf<M[K]>, options?: CallOptions): Promise<RpcResponse<ResultOf<M[K]>>>;
  request<H extends HandlerClass>(method: UntypedName<M>, params?: ParamsOf<H>, options?: CallOptions): Promise<RpcResponse<ResultOf<H>>>;
  request(method: string, params?: unknown, options: CallOptions = {}): Promise<unknown> {
    return this.#start(method, params, options, true);
  }

  /** Refuses new calls, waits for every outstanding one to settle, then closes the connections. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    if (this.#state === "destroyed") return Promise.resolve();
    this.#state = "closing";
    const idle = this.#live.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#idle = resolve));
    this.#closing = idle.then(() => (this.#state === "destroyed" ? undefined : this.#pool.close()));
    return this.#closing;
  }

  /** Rejects every outstanding call now (UNAVAILABLE) and cuts the connections. */
  destroy(): void {
    if (this.#state === "destroyed") return;
    this.#state = "destroyed";
    const live = [...this.#live];
    this.#live.clear();
    this.#waiting.clear();
    for (const call of live) {
      const mayHaveRun = call.written;
      call.fail(new RpcError("UNAVAILABLE", `the client was destroyed${mayHaveRun ? "; the request may have run" : ""}`, { mayHaveRun }));
    }
    this.#pool.destroy();
    this.#idle?.();
  }

  stats(): ClientStats {
    const pool = this.#pool.stats;
    return {
      outstanding: this.#live.size,
      waiting: this.#waiting.size,
      connections: pool.open,
      opened: pool.opened,
      goaways: pool.goaways,
      retries: this.#retries,
      endpoints: this.#pool instanceof EndpointSet ? this.#pool.endpoints() : [],
    };
  }

  #start(method: string, params: unknown, options: CallOptions, full: boolean): Promise<unknown> {
    if (this.#state !== "open") return Promise.reject(new RpcError("UNAVAILABLE", `the client is ${this.#state === "closing" ? "closing" : "destroyed"}`));
    let call: PendingCall;
    try {
      call = this.#prepare(method, params, options, full);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#live.add(call);
    if (call.timeoutMs > 0) call.timer = setTimeout(this.#onTimeout, call.timeoutMs, call);
    this.#dispatch(call, null);
    return call.promise;
  }

  /** Encodes what a call sends, once; anything wrong with it is the caller's and throws here. */
  #prepare(method: string, params: unknown, options: CallOptions, full: boolean): PendingCall {
    if (typeof method !== "string") throw new TypeError("method must be a string");
    if (options === null || typeof options !== "object") throw new TypeError("call options must be an object");
    checkCallOptions(options);
    const paramsJson = encode(params, "INVALID_PARAMS", "params") ?? "null";
    const base = this.#options.meta;
    const metaJson =
      options.meta === undefined ? this.#metaJson : encodeMeta(base === undefined ? options.meta : { ...base, ...options.meta });
    const call = new PendingCall(method, paramsJson, metaJson, options.timeoutMs ?? this.#options.timeoutMs, options.idempotent === true, full);
    this.#checkSize(call);
    return call;
  }

  /** A request the server would refuse with FRAME_TOO_LARGE closes the connection under its neighbours: refuse it here. */
  #checkSize(call: PendingCall): void {
    const max = this.#options.maxRequestBytes;
    const chars = call.methodJson.length + call.paramsJson.length + (call.metaJson?.length ?? 0) + ENVELOPE_CHARS;
    if (chars * 3 <= max) return;
    const bytes = Buffer.byteLength(call.methodJson) + Buffer.byteLength(call.paramsJson) + Buffer.byteLength(call.metaJson ?? "") + ENVELOPE_CHARS;
    if (bytes > max) {
      throw new RpcError("FRAME_TOO_LARGE", `a request of about ${bytes} bytes is larger than maxRequestBytes (${max})`);
    }
  }

  /** Sends a call on the least busy usable connection, or keeps it waiting for one. */
  #dispatch(call: PendingCall, avoid: CallHolder | null): void {
    if (call.settled) return;
    const conn = this.#pool.pick(avoid);
    if (conn === null) {
      this.#waiting.add(call);
      this.#pool.start();
      return;
    }
    conn.send(call, performance.now());
  }

  readonly #onTimeout = (call: PendingCall): void => {
    call.timer = null;
    const waited = this.#waiting.delete(call);
    call.holder?.forget(call);
    const why = waited && this.#pool.lastError !== "" ? ` (no connection: ${this.#pool.lastError})` : "";
    this.#fail(call, new RpcError("DEADLINE_EXCEEDED", `no answer to ${call.method} within ${call.timeoutMs} ms${why}`, { timeoutMs: call.timeoutMs }));
  };

  /** Retries left and time left: UNAVAILABLE or (idempotent) a lost connection may send it again. */
  #mayRetry(call: PendingCall): boolean {
    return this.#state !== "destroyed" && call.retries < this.#options.maxRetries && performance.now() < call.deadline;
  }

  #retry(call: PendingCall, avoid: CallHolder | null): void {
    call.retries++;
    this.#retries++;
    this.#dispatch(call, avoid);
  }

  #succeed(call: PendingCall, response: ResponseEnvelope): void {
    if (call.succeed(response)) this.#settled(call);
  }

  #fail(call: PendingCall, error: RpcError): void {
    if (call.fail(error)) this.#settled(call);
  }

  #settled(call: PendingCall): void {
    this.#live.delete(call);
    if (this.#live.size === 0 && this.#idle !== null) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
  }

  readonly #poolEvents: PoolEvents = {
    ready: () => {
      if (this.#waiting.size === 0) return;
      const waiting = [...this.#waiting];
      this.#waiting.clear();
      for (const call of waiting) this.#dispatch(call, null);
    },
    answered: (call, response, from) => {
      const error = errorOf(response);
      if (error === null) return this.#succeed(call, response);
      // UNAVAILABLE: the server did not run it (a goaway came or is coming); send it elsewhere.
      if (error.code === "UNAVAILABLE" && this.#mayRetry(call)) return this.#retry(call, from);
      this.#fail(call, new RpcError(error.code, error.message, error.data));
    },
    unsent: (calls) => {
      for (const call of calls) this.#dispatch(call, null);
    },
    lost: (calls, why, from) => {
      for (const call of calls) {
        if (call.settled) continue;
        if (call.idempotent && this.#mayRetry(call)) {
          this.#retry(call, from);
        } else {
          const error = new RpcError("UNAVAILABLE", `connection lost; the request may have run (${why})`, { mayHaveRun: true });
          this.#fail(call, error);
        }
      }
    },
  };
}

/** Where the servers come from: a fixed list or etcd, both behind the registry's Discovery; null for one host and port. */
function sourceOf(options: ResolvedOptions): RegistrySource | null {
  if (options.endpoints !== null) return new RegistrySource(new StaticDiscovery(options.endpoints), "default");
  const found = options.discovery;
  if (found === null) return null;
  const etcd = new EtcdClient({ endpoints: found.etcd, timeoutMs: found.timeoutMs });
  return new RegistrySource(new EtcdDiscovery(etcd, { prefix: found.prefix }), found.service);
}

/** `{"in":,"params":,"id":,"meta":}` with a long id and timeoutMs. */
const ENVELOPE_CHARS = 64;

/** Meta is sent as an object whose closing brace the deadline's timeoutMs is spliced before. */
function encodeMeta(meta: Record<string, unknown>): string {
  const json = encode(meta, "INVALID_REQUEST", "meta");
  if (json === undefined || !json.startsWith("{")) throw new RpcError("INVALID_REQUEST", "meta must encode as a JSON object");
  return json;
}

function encode(value: unknown, code: "INVALID_PARAMS" | "INVALID_REQUEST", what: string): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (error) {
    throw new RpcError(code, `${what} cannot be encoded as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
