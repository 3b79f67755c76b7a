/**
 * The master's registration in the service registry (etcd): a master
 * observer plus two calls from primary.ts, so the supervisor knows nothing
 * of it.
 *
 *   first generation ready -> ready(info): register { host, port, ..., state: "serving" }
 *   reload complete        -> update registryHash (the new generation's)
 *   SIGTERM / SIGINT       -> withdraw(): "draining", revoke the lease (the key goes),
 *                             and only then the supervisor drains the workers (goaway)
 *   any other stop         -> withdraw, in the background
 *
 * etcd being away never delays serving (EtcdRegistration retries with
 * backoff and logs once per outage) and delays a stop by at most
 * WITHDRAW_DEADLINE_MS.
 */
import { readFileSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import type { ServerConfig } from "../config.ts";
import { log } from "../log.ts";
import { EtcdClient } from "../registry/etcd-client.ts";
import { EtcdRegistration } from "../registry/etcd-registration.ts";
import { newInstanceId } from "../registry/keys.ts";
import type { InstanceRecord, Registration } from "../registry/types.ts";
import type { MasterObserver } from "./observers.ts";
import { advertisedAddress, serving } from "./registration-record.ts";
import type { ReadyInfo } from "./shell.ts";

/** Longest a stop waits for etcd to hear of it (then the lease expires by itself). */
export const WITHDRAW_DEADLINE_MS = 2_000;

export interface MasterRegistration {
  readonly observer: MasterObserver;
  /** The first generation is ready: register. */
  ready(info: ReadyInfo): void;
  /** Marks the instance draining and removes it, within the deadline; resolves either way. */
  withdraw(): Promise<void>;
  /**
   * For SIGTERM / SIGINT: withdraw, then `stop` (the supervisor's drain). A
   * signal that comes while withdrawing, or once stopping, stops at once.
   */
  leaveThen(stop: () => void, stopping: () => boolean): void;
}

/** null when the config names no registry. */
export function masterRegistration(config: ServerConfig, registration?: Registration): MasterRegistration | null {
  const { etcd, service, advertise, weight } = config.registry;
  if (etcd.endpoints === undefined) return null;
  const reg =
    registration ??
    new EtcdRegistration(new EtcdClient({ endpoints: etcd.endpoints }), {
      prefix: etcd.prefix,
      service,
      leaseTtlS: etcd.leaseTtlS,
      log: (level, message) => log[level](message),
    });
  const instance = newInstanceId(hostname(), process.pid);
  const startedAt = new Date().toISOString();
  const hashes = new Map<number, string>();
  let record: InstanceRecord | null = null;
  let withdrawing: Promise<void> | null = null;

  const withdraw = () => (withdrawing ??= reg.deregister(WITHDRAW_DEADLINE_MS));
  return {
    ready(info) {
      if (record !== null || withdrawing !== null) return;
      const address = advertisedAddress({ host: info.host, port: info.port }, advertise, networkInterfaces());
      record = serving({ address, pid: process.pid, instance, startedAt, registryHash: info.registryHash ?? "", version: VERSION, weight });
      log.info(`registering in etcd as ${service}/${instance} at ${address.host}:${address.port}`);
      reg.register(record);
    },
    withdraw,
    leaveThen(stop, stopping) {
      if (withdrawing !== null || stopping()) return stop();
      void withdraw().then(() => stopping() || stop());
    },
    observer: {
      worker(r) {
        if (r.state === "ready" && r.registryHash !== undefined && !hashes.has(r.generation)) hashes.set(r.generation, r.registryHash);
      },
      reload(generation, outcome) {
        const hash = hashes.get(generation);
        if (outcome !== "complete" || record === null || hash === undefined || withdrawing !== null) return;
        if (hash !== record.registryHash) reg.update((record = { ...record, registryHash: hash }));
      },
      phase(phase) {
        if (phase === "stopping") void withdraw();
      },
    },
  };
}

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
