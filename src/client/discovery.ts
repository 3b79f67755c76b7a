/**
 * Discovery: the servers of one service, read from the registry and kept
 * current. It lists PREFIX/services/SERVICE/, watches from the revision
 * after the list (so no change between the two is missed), and lists again
 * after any watch error (etcd restarted, compacted, unreachable), with a
 * backoff. While the registry cannot be reached, the last list stands:
 * servers go on serving without etcd, and so do their clients.
 *
 * The instance values are the JSON documented in docs/protocol.md
 * ("Service registry"); only host, port and state are read here.
 */
import { backoffDelay } from "./backoff.ts";
import { endpointKey } from "./balancer.ts";
import type { EndpointInfo, EndpointSource } from "./endpoints.ts";

/** What discovery needs of the registry's etcd client (src/registry/etcd-client.ts's EtcdClient fits). */
export interface DiscoveryStore {
  range(key: string, options: { prefix: boolean }): Promise<{ revision: number; kvs: readonly { key: string; value: string }[] }>;
  watch(
    key: string,
    options: {
      startRevision: number;
      onEvents: (events: readonly { type: "put" | "delete"; key: string; value: string }[], revision: number) => void;
      onError: (error: Error) => void;
    },
  ): { close(): void };
}

/** Relist delays after a failure: 100 ms doubling to 2 s (etcd back from a restart is found within ~2 s). */
const RELIST = { reconnectDelayMs: 100, reconnectDelayMaxMs: 2_000 };

/** An instance's registry value -> where to call it, or null when it is not one (a foreign or broken key is skipped). */
export function instanceOf(value: string): EndpointInfo | null {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    return null;
  }
  if (doc === null || typeof doc !== "object") return null;
  const { host, port, state } = doc as { host?: unknown; port?: unknown; state?: unknown };
  if (typeof host !== "string" || host === "" || typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) return null;
  return { host, port, serving: state === undefined || state === "serving" };
}

/**
 * The endpoints of a set of instances: one per address (a restarted server
 * may be listed twice until its old lease expires), serving if any of its
 * instances says so; sorted, so that equal sets give equal lists.
 */
export function endpointsOf(instances: Iterable<EndpointInfo>): EndpointInfo[] {
  const byKey = new Map<string, EndpointInfo>();
  for (const info of instances) {
    const key = endpointKey(info.host, info.port);
    const seen = byKey.get(key);
    byKey.set(key, { host: info.host, port: info.port, serving: info.serving !== false || (seen !== undefined && seen.serving !== false) });
  }
  return [...byKey.keys()].sort().map((key) => byKey.get(key) as EndpointInfo);
}

export interface DiscoveryStatus {
  /** Lists that succeeded, watch errors seen, and why the registry last failed ("" when it has not). */
  readonly lists: number;
  readonly watchErrors: number;
  readonly lastError: string;
}

export class Discovery implements EndpointSource {
  readonly #store: DiscoveryStore;
  /** "PREFIX/services/SERVICE/": every instance key of the service starts with it. */
  readonly dir: string;
  readonly #instances = new Map<string, EndpointInfo>();
  #update: ((list: EndpointInfo[]) => void) | null = null;
  #watch: { close(): void } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #failures = 0;
  #stopped = false;
  #lists = 0;
  #watchErrors = 0;
  #lastError = "";
  /** A non-empty list was handed over once. */
  #published = false;

  constructor(store: DiscoveryStore, prefix: string, service: string) {
    this.#store = store;
    this.dir = `${prefix.replace(/\/+$/, "")}/services/${service}/`;
  }

  get lastError(): string {
    return this.#lastError;
  }

  get status(): DiscoveryStatus {
    return { lists: this.#lists, watchErrors: this.#watchErrors, lastError: this.#lastError };
  }

  start(update: (list: EndpointInfo[]) => void): void {
    if (this.#update !== null || this.#stopped) return;
    this.#update = update;
    void this.#list();
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.close();
    this.#watch = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #list(): Promise<void> {
    this.#timer = null;
    let listed: Awaited<ReturnType<DiscoveryStore["range"]>>;
    try {
      listed = await this.#store.range(this.dir, { prefix: true });
    } catch (error) {
      return this.#relistLater(error);
    }
    if (this.#stopped) return;
    this.#lists++;
    this.#failures = 0;
    this.#lastError = "";
    this.#instances.clear();
    for (const kv of listed.kvs) this.#put(kv.key, kv.value);
    this.#publish();
    this.#watch = this.#store.watch(this.dir, {
      startRevision: listed.revision + 1,
      onEvents: (events) => {
        for (const event of events) {
          if (event.type === "put") this.#put(event.key, event.value);
          else this.#instances.delete(event.key);
        }
        this.#publish();
      },
      onError: (error) => {
        this.#watchErrors++;
        this.#watch = null;
        this.#relistLater(error);
      },
    });
  }

  #put(key: string, value: string): void {
    const info = instanceOf(value);
    if (info === null) this.#instances.delete(key);
    else this.#instances.set(key, info);
  }

  #relistLater(error: unknown): void {
    if (this.#stopped) return;
    this.#lastError = error instanceof Error ? error.message : String(error);
    this.#timer = setTimeout(() => void this.#list(), backoffDelay(this.#failures++, RELIST));
  }

  /**
   * Hands the list to the client; an empty one only if the service never had
   * any: an etcd wiped and restarted lists nothing until its servers register
   * again (within their lease TTL), and calling the last known servers
   * meanwhile beats failing every call.
   */
  #publish(): void {
    const list = endpointsOf(this.#instances.values());
    if (list.length === 0 && this.#published) return;
    this.#published = list.length > 0 || this.#published;
    this.#update?.(list);
  }
}
