/**
 * The service registry, behind two small interfaces so that another engine
 * (Consul, DNS SRV, Kubernetes endpoints) is one file later:
 *
 * - Registration, for servers: the master registers its instance once it
 *   serves, updates it (a reload changes registryHash, a stop marks it
 *   draining) and deregisters it. Implemented by EtcdRegistration.
 * - Discovery, for clients: list a service's instances, and watch them.
 *   Implemented by EtcdDiscovery and StaticDiscovery (a fixed list of
 *   endpoints, for users without etcd: same balancing, no registry).
 *
 *   const discovery: Discovery = new EtcdDiscovery(new EtcdClient({ endpoints }), { prefix: "/forkrpc" });
 *   const now = await discovery.list("orders");                  // Instance[]
 *   const w = discovery.watch("orders", (instances) => {...});   // the whole list, on every change
 *   w.close();
 */

/** What an instance says about itself: the registry value, JSON (docs/protocol.md). */
export interface InstanceRecord {
  /** Address clients connect to (registry.advertise, else the listen address). */
  readonly host: string;
  readonly port: number;
  /** The master's pid. */
  readonly pid: number;
  /** Unique per master start: HOSTNAME-PID-RANDOM. Also the key's last segment. */
  readonly instance: string;
  /** When the master started (ISO 8601). */
  readonly startedAt: string;
  /** Hash of the method table the workers serve (rpc.health's); changes on a reload that changes code. */
  readonly registryHash: string;
  /** forkrpc's version. */
  readonly version: string;
  /** Relative share of calls this instance asks for (default 1; 0: none). */
  readonly weight: number;
  /** "draining": stopping, send it nothing new. */
  readonly state: "serving" | "draining";
}

/** One instance of a service, as discovery reports it. */
export interface Instance extends InstanceRecord {
  readonly service: string;
}

export interface Discovery {
  /** The instances of `service` now. Rejects (RegistryError) when the registry cannot be reached. */
  list(service: string): Promise<Instance[]>;
  /**
   * Calls `onChange` with the whole list first and after every change.
   * While the registry is unreachable the last list stands, and `onError`
   * (if given) hears why, once per outage.
   */
  watch(service: string, onChange: (instances: Instance[]) => void, onError?: (error: Error) => void): { close(): void };
}

export interface Registration {
  /** Registers (or re-registers) `record`; keeps it registered until deregister(). Never throws for the registry being down. */
  register(record: InstanceRecord): void;
  /** Replaces the record (registryHash after a reload, state "draining" on stop). */
  update(record: InstanceRecord): void;
  /** Withdraws the record (marks it draining, then removes it), within `deadlineMs`. Resolves either way. */
  deregister(deadlineMs: number): Promise<void>;
}
