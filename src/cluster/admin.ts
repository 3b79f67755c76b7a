/**
 * Starts the master's admin server (src/admin/) where config.admin says,
 * reading the metrics observer: the wiring between the two, so neither
 * knows the other.
 */
import { readFileSync } from "node:fs";
import type { ServerConfig } from "../config.ts";
import { parseHostPort } from "../config/checks.ts";
import { AdminServer } from "../admin/server.ts";
import { Snapshots } from "../admin/snapshot.ts";
import { renderMetrics } from "../metrics/exposition.ts";
import type { MetricsObserver } from "./metrics-observer.ts";

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** config.admin as host and port (host defaults to loopback), or null when there is no admin server. */
export function adminAddress(config: Pick<ServerConfig, "admin">): { host: string; port: number } | null {
  const a = config.admin;
  if (a === undefined) return null;
  if (typeof a === "string") return parseHostPort(a);
  return { host: a.host ?? "127.0.0.1", port: a.port };
}

/** Listens, or rejects with LISTEN_FAILED; resolves with the server and its URL. */
export async function startAdmin(config: ServerConfig, observer: MetricsObserver): Promise<{ server: AdminServer; url: string } | null> {
  const at = adminAddress(config);
  if (at === null) return null;
  const snapshots = new Snapshots(observer);
  const started = process.cpuUsage();
  const server = new AdminServer(
    {
      metrics: () => {
        const cpu = process.cpuUsage(started);
        return renderMetrics({
          totals: observer.totals,
          workers: observer.workers(),
          states: observer.states(),
          version: VERSION,
          master: { rssBytes: process.memoryUsage.rss(), cpuSeconds: (cpu.user + cpu.system) / 1e6 },
        });
      },
      ready: () => observer.ready(),
      snapshot: () => snapshots.next(),
    },
    Math.max(config.supervision.heartbeatMs, 250),
  );
  const address = await server.listen(at.host, at.port);
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}/` };
}
