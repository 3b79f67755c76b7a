/**
 * Discovery through etcd: list the service's prefix, then watch it from the
 * revision after the list, so no change between the two is missed. A watch
 * that ends (etcd restarted, unreachable, history compacted) is followed by
 * a new list and a new watch, after a backoff while etcd stays away; the
 * last list stands meanwhile, so an etcd outage changes nothing for callers.
 *
 *   const d = new EtcdDiscovery(client, { prefix: "/forkrpc" });
 *   const w = d.watch("orders", (instances) => pool.update(instances), (err) => log(err.message));
 */
import type { RegistryError } from "../errors.ts";
import type { EtcdClient, EtcdWatch, WatchEvent } from "./etcd-client.ts";
import { parseInstance, servicePrefix } from "./keys.ts";
import type { Discovery, Instance } from "./types.ts";

export interface EtcdDiscoveryOptions {
  /** Default "/forkrpc". */
  readonly prefix?: string;
  /** First delay before listing again after a failure; doubles to retryMaxMs. Default 100 ms. */
  readonly retryMs?: number;
  /** Default 2000 ms. */
  readonly retryMaxMs?: number;
}

interface Listed {
  readonly revision: number;
  readonly instances: Map<string, Instance>;
}

export class EtcdDiscovery implements Discovery {
  readonly prefix: string;
  readonly #retryMs: number;
  readonly #retryMaxMs: number;

  constructor(
    readonly client: EtcdClient,
    options: EtcdDiscoveryOptions = {},
  ) {
    this.prefix = options.prefix ?? "/forkrpc";
    this.#retryMs = options.retryMs ?? 100;
    this.#retryMaxMs = options.retryMaxMs ?? 2_000;
  }

  async list(service: string): Promise<Instance[]> {
    return [...(await this.#listed(service)).instances.values()];
  }

  /** Values that do not parse are left out (another program's bad write must not break discovery). */
  async #listed(service: string): Promise<Listed> {
    const { revision, kvs } = await this.client.range(servicePrefix(this.prefix, service), { prefix: true });
    const instances = new Map<string, Instance>();
    for (const kv of kvs) {
      const parsed = parseInstance(this.prefix, kv.key, kv.value);
      if (typeof parsed !== "string") instances.set(kv.key, parsed);
    }
    return { revision, instances };
  }

  watch(service: string, onChange: (instances: Instance[]) => void, onError?: (error: Error) => void): { close(): void } {
    let closed = false;
    let failures = 0;
    let current = new Map<string, Instance>();
    let watch: EtcdWatch | null = null;
    let timer: NodeJS.Timeout | null = null;

    const apply = (events: WatchEvent[]) => {
      for (const e of events) {
        const parsed = e.type === "put" ? parseInstance(this.prefix, e.key, e.value) : null;
        if (parsed === null || typeof parsed === "string") current.delete(e.key);
        else current.set(e.key, parsed);
      }
      onChange([...current.values()]);
    };
    const retry = (error: RegistryError) => {
      if (closed) return;
      if (failures === 0) onError?.(error);
      const delay = Math.min(this.#retryMaxMs, this.#retryMs * 2 ** failures);
      failures++;
      // A compaction is not an outage: list again at once.
      timer = setTimeout(start, error.code === "REGISTRY_COMPACTED" ? 0 : delay);
    };
    const start = async () => {
      timer = null;
      let listed: Listed;
      try {
        listed = await this.#listed(service);
      } catch (error) {
        retry(error as RegistryError);
        return;
      }
      if (closed) return;
      failures = 0;
      current = listed.instances;
      onChange([...current.values()]);
      watch = this.client.watch(servicePrefix(this.prefix, service), { startRevision: listed.revision + 1, onEvents: apply, onError: retry });
    };
    void start();
    return {
      close: () => {
        closed = true;
        watch?.close();
        if (timer !== null) clearTimeout(timer);
      },
    };
  }

}
