/**
 * The registry's key layout, the one contract every client in any language
 * relies on (docs/protocol.md):
 *
 *   PREFIX/services/SERVICE/INSTANCE  ->  JSON InstanceRecord
 *
 * PREFIX defaults to "/forkrpc"; SERVICE and INSTANCE never contain "/".
 */
import type { Instance, InstanceRecord } from "./types.ts";

/** A service or instance name: one key segment. */
export const NAME = /^[A-Za-z0-9._:-]{1,128}$/;

/** "/forkrpc/services/orders/" (the trailing slash keeps "orders" from matching "orders2"). */
export function servicePrefix(prefix: string, service: string): string {
  return `${prefix.replace(/\/+$/, "")}/services/${service}/`;
}

/** "/forkrpc/services/" : every service. */
export function servicesPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, "")}/services/`;
}

export function instanceKey(prefix: string, service: string, instance: string): string {
  return servicePrefix(prefix, service) + instance;
}

/** An instance id: unique per master start, readable in `forkrpc instances`. */
export function newInstanceId(hostname: string, pid: number, random: () => number = Math.random): string {
  const host = hostname.replace(/[^A-Za-z0-9.-]/g, "_").slice(0, 64) || "host";
  return `${host}-${pid}-${Math.floor(random() * 0x1000000).toString(16).padStart(6, "0")}`;
}

/**
 * The instance a key and value describe, or why not. Values are written by
 * other programs too, so each field is checked; unknown fields are ignored
 * (a later version may add some).
 */
export function parseInstance(prefix: string, key: string, value: string): Instance | string {
  const root = servicesPrefix(prefix);
  if (!key.startsWith(root)) return `key ${key} is not under ${root}`;
  const [service, instance, ...rest] = key.slice(root.length).split("/");
  if (service === undefined || instance === undefined || rest.length > 0 || !NAME.test(service) || !NAME.test(instance)) {
    return `key ${key} is not ${root}SERVICE/INSTANCE`;
  }
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(value) as Record<string, unknown>;
  } catch {
    return `${key}: the value is not JSON`;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return `${key}: the value is not a JSON object`;
  const bad = badField(v);
  if (bad !== null) return `${key}: "${bad}" is missing or of the wrong type`;
  return { ...(pick(v) as unknown as InstanceRecord), service };
}

const FIELDS: Record<keyof InstanceRecord, (x: unknown) => boolean> = {
  host: (x) => typeof x === "string" && x !== "",
  port: (x) => Number.isInteger(x) && (x as number) > 0 && (x as number) < 65536,
  pid: (x) => Number.isInteger(x) && (x as number) > 0,
  instance: (x) => typeof x === "string" && x !== "",
  startedAt: (x) => typeof x === "string",
  registryHash: (x) => typeof x === "string",
  version: (x) => typeof x === "string",
  weight: (x) => typeof x === "number" && Number.isFinite(x) && x >= 0,
  state: (x) => x === "serving" || x === "draining",
};

function badField(v: Record<string, unknown>): string | null {
  for (const [name, ok] of Object.entries(FIELDS)) if (!ok(v[name])) return name;
  return null;
}

function pick(v: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(FIELDS).map((k) => [k, v[k]]));
}

/** The value written to etcd: the fields in the documented order. */
export function recordJson(record: InstanceRecord): string {
  return JSON.stringify(pick(record as unknown as Record<string, unknown>));
}
