/**
 * Keeps one instance registered in etcd: its record at
 * PREFIX/services/SERVICE/INSTANCE under a lease this process keeps alive,
 * for as long as it lives. The decisions (what next, how long to wait,
 * what to log) are lease-policy.ts's; this file makes the calls, one at a
 * time, and never throws: etcd being away costs the server nothing but a
 * log line per outage.
 *
 *   const r = new EtcdRegistration(client, { prefix: "/forkrpc", service: "orders", leaseTtlS: 10, log });
 *   r.register(record);          // then kept registered, whatever etcd does
 *   r.update({ ...record, registryHash });
 *   await r.deregister(2000);    // "draining", then revoke: the key is gone
 */
import type { RegistryError } from "../errors.ts";
import type { EtcdClient } from "./etcd-client.ts";
import { instanceKey, recordJson } from "./keys.ts";
import * as policy from "./lease-policy.ts";
import type { InstanceRecord, Registration } from "./types.ts";

export interface EtcdRegistrationOptions {
  readonly prefix: string;
  readonly service: string;
  readonly leaseTtlS: number;
  /** Where the once-per-outage lines go. */
  readonly log?: (level: "info" | "warn", message: string) => void;
}

export class EtcdRegistration implements Registration {
  #state: policy.LeaseState = policy.INITIAL;
  #record: InstanceRecord | null = null;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  /** The call in flight, if any (one at a time). */
  #busy: Promise<void> | null = null;
  #failingSince = 0;
  #lastError = "";
  #registered = false;

  constructor(
    readonly client: EtcdClient,
    readonly options: EtcdRegistrationOptions,
  ) {}

  /** The key this instance is registered under (once register() was called). */
  get key(): string | undefined {
    return this.#record === null ? undefined : instanceKey(this.options.prefix, this.options.service, this.#record.instance);
  }

  /** For tests and status lines: the lease held, and failed calls in a row. */
  get status(): { lease: string | null; failures: number; registered: boolean } {
    const s = this.#state;
    return { lease: s.lease, failures: s.failures, registered: s.lease !== null && !s.dirty };
  }

  register(record: InstanceRecord): void {
    this.update(record);
  }

  update(record: InstanceRecord): void {
    if (this.#stopped) return;
    this.#record = record;
    this.#state = policy.changed(this.#state);
    this.#schedule(0);
  }

  async deregister(deadlineMs: number): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
    const withdraw = async () => {
      await this.#busy;
      const { lease, failures } = this.#state;
      // While etcd is away there is nothing to withdraw in time: the lease will expire.
      if (lease === null || failures > 0 || this.#record === null) return;
      try {
        await this.client.put(this.key!, recordJson({ ...this.#record, state: "draining" }), { lease });
        await this.client.revoke(lease);
      } catch (error) {
        this.#log("warn", `etcd: could not deregister ${this.key} (${(error as Error).message}); it goes when its lease expires`);
      }
    };
    await Promise.race([withdraw(), deadline]);
    clearTimeout(timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.#busy !== null) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#busy = this.#step().finally(() => {
        this.#busy = null;
        this.#schedule(policy.delayMs(this.#state, this.options.leaseTtlS, Date.now()));
      });
    }, ms);
    // The registration alone must not keep a stopping master alive.
    this.#timer.unref();
  }

  async #step(): Promise<void> {
    const record = this.#record;
    if (record === null) return;
    const before = this.#state;
    const step = policy.nextStep(before, Date.now());
    try {
      if (step === "grant") {
        const lease = await this.client.grant(this.options.leaseTtlS);
        this.#state = policy.granted(this.#state, lease.id, lease.ttlS, Date.now());
      } else if (step === "put") {
        await this.client.put(this.key!, recordJson(record), { lease: before.lease! });
        // A record changed while the put was in flight stays dirty.
        this.#state = record === this.#record ? policy.put(this.#state) : { ...this.#state, failures: 0, lost: false };
      } else {
        await this.client.keepAlive(before.lease!);
        this.#state = policy.keptAlive(this.#state, Date.now());
      }
    } catch (error) {
      const e = error as RegistryError;
      this.#lastError = e.message;
      this.#state = policy.failed(this.#state, e.code === "REGISTRY_LEASE_LOST");
      if (e.code === "REGISTRY_LEASE_LOST") this.#log("info", `etcd: lease of ${this.key} is gone (expired, or etcd lost its data): registering again`);
    }
    this.#report(before, step);
  }

  #report(before: policy.LeaseState, step: policy.LeaseStep): void {
    const after = this.#state;
    const change = policy.logTransition(before, after);
    if (change === "failing" && !after.lost) {
      this.#failingSince = Date.now();
      this.#log("warn", `etcd: cannot ${step} for ${this.key} (${this.#lastError}); serving goes on, retrying with backoff until etcd answers (logged once)`);
    } else if (change === "failing") {
      this.#failingSince = Date.now();
    } else if (change === "recovered" && this.#failingSince > 0) {
      this.#log("info", `etcd: reachable again after ${((Date.now() - this.#failingSince) / 1000).toFixed(1)} s (${before.failures} failed calls)`);
      this.#failingSince = 0;
    }
    if (before.dirty && !after.dirty && after.lease !== null) {
      this.#log("info", `etcd: ${this.#registered ? "updated" : "registered"} ${this.key} (lease ${after.lease}, ttl ${after.ttlMs / 1000} s)`);
      this.#registered = true;
    }
  }

  #log(level: "info" | "warn", message: string): void {
    this.options.log?.(level, message);
  }
}
