/**
 * What the master registers about itself (pure: tested without etcd or a
 * fork): the advertised address, and the record around it.
 */
import type { NetworkInterfaceInfo } from "node:os";
import type { InstanceRecord } from "../registry/types.ts";

const ANY = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * Where clients should connect: registry.advertise when set; else the
 * listening host and port, unless the host is a wildcard (0.0.0.0, ::),
 * which means nothing to another machine: then the first non-internal
 * address of the machine (IPv4 first, then IPv6), else loopback.
 */
export function advertisedAddress(
  listen: { host: string; port: number },
  advertise: { host: string; port: number } | undefined,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): { host: string; port: number } {
  if (advertise !== undefined) return advertise;
  if (!ANY.has(listen.host)) return listen;
  const external = Object.values(interfaces).flatMap((list) => list ?? []).filter((i) => !i.internal);
  const chosen = external.find((i) => i.family === "IPv4") ?? external.find((i) => i.family === "IPv6" && !i.address.startsWith("fe80:"));
  return { host: chosen?.address ?? (listen.host === "::" ? "::1" : "127.0.0.1"), port: listen.port };
}

/** A record's fields but its address (given whole) and its state (serving, here). */
export type RecordInputs = Omit<InstanceRecord, "host" | "port" | "state"> & { readonly address: { host: string; port: number } };

export function serving(inputs: RecordInputs): InstanceRecord {
  const { address, ...rest } = inputs;
  return { host: address.host, port: address.port, ...rest, state: "serving" };
}
