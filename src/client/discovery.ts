/**
 * The client's side of discovery: a registry's Discovery (src/registry/:
 * EtcdDiscovery lists the service, watches from the next revision, lists
 * again after a break, and keeps the last list while etcd is away) turned
 * into the endpoint list the client balances over.
 */
import type { Discovery, Instance } from "../registry/types.ts";
import { endpointKey } from "./balancer.ts";
import type { EndpointInfo, EndpointSource } from "./endpoints.ts";

/**
 * The endpoints of a set of instances: one per address (a restarted server
 * may be listed twice until its old lease expires), serving if any of its
 * instances says so; sorted, so that equal sets give equal lists.
 */
export function endpointsOf(instances: Iterable<Pick<Instance, "host" | "port" | "state" | "instance">>): EndpointInfo[] {
  const byKey = new Map<string, EndpointInfo>();
  for (const { host, port, state, instance } of instances) {
    const key = endpointKey(host, port);
    const seen = byKey.get(key);
    const ids = seen?.instances === undefined ? instance : [...seen.instances.split(" "), instance].sort().join(" ");
    byKey.set(key, { host, port, serving: state === "serving" || (seen !== undefined && seen.serving !== false), instances: ids });
  }
  return [...byKey.keys()].sort().map((key) => byKey.get(key) as EndpointInfo);
}

/**
 * Whether a new list replaces the one the client has: an empty list never
 * replaces a non-empty one. An etcd wiped and restarted lists nothing until
 * its servers register again (within their lease TTL); calling the last
 * known servers meanwhile beats failing every call, and a server that is
 * really gone is left out by its failed connections anyway.
 */
export function replaces(next: readonly EndpointInfo[], had: number): boolean {
  return next.length > 0 || had === 0;
}

export class RegistrySource implements EndpointSource {
  readonly #discovery: Discovery;
  readonly #service: string;
  #watch: { close(): void } | null = null;
  #had = 0;
  #lastError = "";
  #stopped = false;

  constructor(discovery: Discovery, service: string) {
    this.#discovery = discovery;
    this.#service = service;
  }

  get lastError(): string {
    return this.#lastError;
  }

  start(update: (list: EndpointInfo[]) => void): void {
    if (this.#watch !== null || this.#stopped) return;
    this.#watch = this.#discovery.watch(
      this.#service,
      (instances) => {
        this.#lastError = "";
        const list = endpointsOf(instances);
        if (!replaces(list, this.#had)) return;
        this.#had = list.length;
        update(list);
      },
      (error) => (this.#lastError = `the registry: ${error.message}`),
    );
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.close();
    this.#watch = null;
  }
}
