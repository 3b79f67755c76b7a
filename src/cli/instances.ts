/**
 * `forkrpc instances`: the servers registered in etcd, as a table (or JSON),
 * read straight from the registry's keys (docs/protocol.md#service-registry).
 */
import { hostPort } from "../registry/address.ts";
import { EtcdClient } from "../registry/etcd-client.ts";
import { NAME, parseInstance, servicePrefix, servicesPrefix } from "../registry/keys.ts";
import type { Instance } from "../registry/types.ts";
import { MAX_TIMER_MS } from "../protocol/timers.ts";
import { intFlag, parseFlags, UsageError } from "./args.ts";
import { safeJson, visible } from "./escape.ts";

export const INSTANCES_USAGE = `forkrpc instances --etcd URL [--etcd URL ...] [--service NAME] [--prefix P] [--timeout MS] [--json]

  --etcd         an etcd client URL (http://HOST:PORT); repeat for more members
  --service      only this service (default: every service)
  --prefix       the servers' registry.etcd.prefix (default /forkrpc)
  --timeout      ms to wait for etcd (default 5000)
  --json         print {"instances": [...], "skipped": [...]} instead of a table`;

const FLAGS = {
  etcd: { type: "string", multiple: true },
  service: { type: "string" },
  prefix: { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean" },
} as const;

export async function instances(argv: string[], now = Date.now()): Promise<number> {
  const values = parseFlags(argv, FLAGS).values as { etcd?: string[]; service?: string; prefix?: string; timeout?: string; json?: boolean };
  const endpoints = values.etcd ?? (process.env.FORKRPC_ETCD ? process.env.FORKRPC_ETCD.split(",") : []);
  if (endpoints.length === 0) throw new UsageError("--etcd URL is required (or FORKRPC_ETCD=URL,URL)");
  for (const e of endpoints) if (!/^https?:\/\/[^/\s]+\/?$/.test(e)) throw new UsageError(`--etcd must be an http:// or https:// URL, got ${JSON.stringify(e)}`);
  if (values.service !== undefined && !NAME.test(values.service)) throw new UsageError(`--service must be a name of letters, digits, '.', '_', ':' or '-', got ${JSON.stringify(values.service)}`);
  const prefix = values.prefix ?? "/forkrpc";
  const timeoutMs = intFlag("timeout", values.timeout, 1, MAX_TIMER_MS) ?? 5_000;
  const client = new EtcdClient({ endpoints, timeoutMs });
  const root = values.service === undefined ? servicesPrefix(prefix) : servicePrefix(prefix, values.service);
  const { kvs } = await client.range(root, { prefix: true });
  const found: Instance[] = [];
  const skipped: string[] = [];
  for (const kv of kvs) {
    const parsed = parseInstance(prefix, kv.key, kv.value);
    if (typeof parsed === "string") skipped.push(parsed);
    else found.push(parsed);
  }
  if (values.json === true) {
    process.stdout.write(`${safeJson({ instances: found, skipped }, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${instanceTable(found, now)}\n`);
  for (const why of skipped) process.stderr.write(`forkrpc: skipped ${visible(why)}\n`);
  return 0;
}

const HEADERS = ["SERVICE", "INSTANCE", "ADDRESS", "STATE", "AGE", "REGISTRY HASH"];

/** An aligned table, by service then address; every cell escaped (any program may write to etcd). */
export function instanceTable(list: readonly Instance[], now: number): string {
  if (list.length === 0) return "no instances";
  const sorted = [...list].sort((a, b) => a.service.localeCompare(b.service) || a.host.localeCompare(b.host) || a.port - b.port);
  const rows = sorted.map((i) => [
    visible(i.service),
    visible(i.instance),
    visible(hostPort(i.host, i.port)),
    i.state,
    age(Date.parse(i.startedAt), now),
    visible(i.registryHash) || "-",
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [HEADERS, ...rows].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

/** "42s", "5m", "3h", "2d": how long ago `since` was; "-" when unknown. */
export function age(since: number, now: number): string {
  if (!Number.isFinite(since)) return "-";
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7_200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3_600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
