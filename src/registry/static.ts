/**
 * Discovery from a fixed list of endpoints ("h1:8080", "[::1]:8080"), for
 * users without etcd: the client balances over it the same way. Every
 * endpoint is an instance of whatever service is asked for, always serving.
 * Servers do not register anywhere in this mode, so there is no
 * Registration here.
 */
import { hostPort } from "./address.ts";
import type { Discovery, Instance } from "./types.ts";

/** "host:port" -> { host, port }, or why not (IPv6 hosts in brackets). */
export function parseHostPort(text: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) return `"${text}" is not HOST:PORT (an IPv6 host in brackets: [::1]:8080)`;
  return { host: (m[1] ?? m[2])!, port };
}

export class StaticDiscovery implements Discovery {
  readonly #endpoints: ReadonlyArray<{ host: string; port: number }>;

  /** Throws a TypeError naming the first endpoint that is not HOST:PORT. */
  constructor(endpoints: readonly string[]) {
    this.#endpoints = endpoints.map((e) => {
      const parsed = parseHostPort(e);
      if (typeof parsed === "string") throw new TypeError(`endpoints: ${parsed}`);
      return parsed;
    });
  }

  async list(service: string): Promise<Instance[]> {
    return this.#instances(service);
  }

  watch(service: string, onChange: (instances: Instance[]) => void): { close(): void } {
    let closed = false;
    // Asynchronously, as from etcd, so callers see one order of events.
    queueMicrotask(() => {
      if (!closed) onChange(this.#instances(service));
    });
    return { close: () => void (closed = true) };
  }

  #instances(service: string): Instance[] {
    return this.#endpoints.map(({ host, port }) => {
      return { service, host, port, pid: 0, instance: hostPort(host, port), startedAt: "", registryHash: "", version: "", weight: 1, state: "serving" as const };
    });
  }
}
