/**
 * A small etcd v3 client over etcd's JSON gateway (HTTP/1.1, Node's fetch),
 * for the few calls service registration and discovery need. No npm client:
 * the etcd3 package's lease-loss and watch-reconnect bugs are what this
 * layer must get right, so it stays small enough to read.
 *
 * API (stable; discovery and `forkrpc instances` use it too):
 *
 *   const etcd = new EtcdClient({ endpoints: ["http://127.0.0.1:2379"], timeoutMs: 2000 });
 *   const lease = await etcd.grant(10);              // { id: "7587...", ttlS: 10 }
 *   await etcd.put(key, value, { lease: lease.id }); // -> { revision }
 *   const ttl = await etcd.keepAlive(lease.id);      // seconds left; throws REGISTRY_LEASE_LOST when gone
 *   const { revision, kvs } = await etcd.range(prefix, { prefix: true }); // kvs: { key, value, modRevision, lease }
 *   await etcd.delete(key);                          // -> number deleted ({ prefix: true } for a prefix)
 *   await etcd.revoke(lease.id);                     // an unknown lease counts as revoked
 *   const w = etcd.watch(prefix, { startRevision: revision + 1, onEvents, onError }); w.close();
 *
 * Every unary call has a deadline (timeoutMs, default 2 s) and tries each
 * endpoint in turn, starting from the last that answered. Failures are
 * RegistryError (src/errors.ts): REGISTRY_UNAVAILABLE (nobody answered),
 * REGISTRY_REFUSED (etcd said no), REGISTRY_LEASE_LOST, REGISTRY_COMPACTED
 * (watch only). Keys and values are strings here; base64 is the gateway's.
 * Lease ids are strings: they are int64 and overflow a JS number.
 */
import { RegistryError } from "../errors.ts";
import { decode, encode, prefixEnd } from "./etcd-bytes.ts";
import { EtcdWatch, type WatchOptions } from "./etcd-watch.ts";

export { decode, encode, prefixEnd } from "./etcd-bytes.ts";

export type { WatchEvent, WatchOptions } from "./etcd-watch.ts";
export { EtcdWatch } from "./etcd-watch.ts";

export interface EtcdClientOptions {
  /** Client URLs of the etcd members ("http://10.0.0.1:2379"). */
  readonly endpoints: readonly string[];
  /** Deadline of each unary call, per endpoint tried. Default 2000 ms. */
  readonly timeoutMs?: number;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** The revision of the key's last change. */
  readonly modRevision: number;
  /** The lease the key is attached to ("0": none). */
  readonly lease: string;
}

export interface Lease {
  readonly id: string;
  readonly ttlS: number;
}

/** gRPC's NOT_FOUND, which the gateway passes through for an unknown lease. */
const GRPC_NOT_FOUND = 5;

export class EtcdClient {
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  /** The endpoint that answered last: tried first next time. */
  private current = 0;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new TypeError("EtcdClient needs at least one endpoint");
    this.endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  async grant(ttlS: number): Promise<Lease> {
    const body = await this.call("/v3/lease/grant", { TTL: String(ttlS) });
    if (typeof body.ID !== "string") throw new RegistryError("REGISTRY_REFUSED", `etcd granted no lease: ${String(body.error ?? "")}`);
    // etcd may grant more than asked (its minimum TTL), never a TTL that is not a positive number.
    const granted = body.TTL === undefined ? ttlS : Number(body.TTL);
    if (!(granted > 0)) throw new RegistryError("REGISTRY_REFUSED", `etcd granted lease ${body.ID} a TTL of ${JSON.stringify(body.TTL)}`);
    return { id: body.ID, ttlS: granted };
  }

  /** One keepalive: the seconds the lease now has left. A lease etcd no longer knows answers TTL 0. */
  async keepAlive(id: string): Promise<number> {
    const body = await this.call("/v3/lease/keepalive", { ID: id });
    const ttl = Number((body.result as { TTL?: string } | undefined)?.TTL ?? 0);
    if (!(ttl > 0)) throw leaseLost(id);
    return ttl;
  }

  async revoke(id: string): Promise<void> {
    try {
      await this.call("/v3/lease/revoke", { ID: id });
    } catch (error) {
      if ((error as RegistryError).code !== "REGISTRY_LEASE_LOST") throw error;
    }
  }

  async put(key: string, value: string, options: { lease?: string } = {}): Promise<{ revision: number }> {
    const body = await this.call("/v3/kv/put", { key: encode(key), value: encode(value), ...(options.lease ? { lease: options.lease } : {}) });
    return { revision: revisionOf(body) };
  }

  async range(key: string, options: { prefix?: boolean } = {}): Promise<{ revision: number; kvs: KeyValue[] }> {
    const body = await this.call("/v3/kv/range", { key: encode(key), ...(options.prefix ? { range_end: prefixEnd(key).toString("base64") } : {}) });
    const listed = body.kvs ?? [];
    // Anything else than a list of { key, value } with base64 strings: not etcd's answer (Buffer.from would throw a TypeError).
    if (!Array.isArray(listed) || !listed.every(isKeyValue)) throw new RegistryError("REGISTRY_REFUSED", `etcd answered /v3/kv/range with kvs that are not key-values: ${JSON.stringify(listed).slice(0, 200)}`);
    const kvs = (listed as Array<Record<string, string>>).map((kv) => ({
      key: decode(kv.key),
      value: decode(kv.value),
      modRevision: Number(kv.mod_revision ?? 0),
      lease: String(kv.lease ?? "0"),
    }));
    return { revision: revisionOf(body), kvs };
  }

  async delete(key: string, options: { prefix?: boolean } = {}): Promise<number> {
    const body = await this.call("/v3/kv/deleterange", { key: encode(key), ...(options.prefix ? { range_end: prefixEnd(key).toString("base64") } : {}) });
    return Number(body.deleted ?? 0);
  }

  /** Watches `key` (a prefix with `prefix: true`, the default) from `startRevision`; see etcd-watch.ts. */
  watch(key: string, options: WatchOptions): EtcdWatch {
    return new EtcdWatch(this.endpoints[this.current]!, key, this.timeoutMs, options);
  }

  /**
   * POSTs `request` to each endpoint in turn, from the last that answered,
   * with a deadline each. A network failure or timeout moves on to the
   * next; an answer from etcd (even an error) ends the search.
   */
  private async call(path: string, request: object): Promise<Record<string, unknown>> {
    const failures: string[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.current + i) % this.endpoints.length;
      const endpoint = this.endpoints[index]!;
      let res: Response;
      let text: string;
      try {
        res = await fetch(endpoint + path, {
          method: "POST",
          body: JSON.stringify(request),
          headers: { "content-type": "application/json" },
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await bodyText(res, path);
      } catch (error) {
        if (error instanceof RegistryError) throw error;
        failures.push(`${endpoint}: ${describeFetchError(error)}`);
        continue;
      }
      this.current = index;
      return answer(path, res.status, text, request);
    }
    throw new RegistryError("REGISTRY_UNAVAILABLE", `etcd: no endpoint answered ${path} (${failures.join("; ")})`);
  }
}

/**
 * Longest answer read. etcd's largest (a range over a service's instances)
 * is a few KB a server; an endpoint sending more is not etcd, and reading it
 * whole within the deadline could take the process's memory (a loopback
 * peer sends GBs in 2 s).
 */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

async function bodyText(res: Response, path: string): Promise<string> {
  if (res.body === null) return "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await res.body.cancel().catch(() => {});
      throw new RegistryError("REGISTRY_REFUSED", `etcd answered ${path} with more than ${MAX_ANSWER_BYTES} bytes: not etcd, or not sane`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function answer(path: string, status: number, text: string, request: object): Record<string, unknown> {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new RegistryError("REGISTRY_REFUSED", `etcd answered ${path} with ${status} and no JSON: ${text.slice(0, 200)}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RegistryError("REGISTRY_REFUSED", `etcd answered ${path} with ${status} and JSON that is not an object: ${text.slice(0, 200)}`);
  }
  // Unary errors come as { error, code }; the streaming keepalive wraps them as { error: { grpc_code, message } }.
  const nested = typeof body.error === "object" && body.error !== null ? (body.error as Record<string, unknown>) : undefined;
  const code = Number(nested?.grpc_code ?? body.code ?? 0);
  const message = String(nested?.message ?? body.message ?? body.error ?? "");
  if (status === 200 && body.error === undefined) return body;
  if (code === GRPC_NOT_FOUND && /lease not found/.test(message)) throw leaseLost(String((request as { ID?: string; lease?: string }).ID ?? (request as { lease?: string }).lease));
  throw new RegistryError("REGISTRY_REFUSED", `etcd answered ${path} with ${status}: ${message || text.slice(0, 200)}`);
}

function isKeyValue(kv: unknown): boolean {
  if (kv === null || typeof kv !== "object") return false;
  const { key, value } = kv as Record<string, unknown>;
  return typeof key === "string" && (value === undefined || typeof value === "string");
}

function leaseLost(id: string): RegistryError {
  return new RegistryError("REGISTRY_LEASE_LOST", `etcd: lease ${id} is gone (expired, revoked, or the data was wiped)`);
}

function revisionOf(body: Record<string, unknown>): number {
  return Number((body.header as { revision?: string } | undefined)?.revision ?? 0);
}

/** fetch's "fetch failed" hides the reason in its cause (ECONNREFUSED, a timeout). */
export function describeFetchError(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return "timed out";
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message}: ${cause}` : String(e?.message ?? error);
}
