/**
 * --etcd URL (repeatable), --service NAME and --etcd-prefix P: the servers a
 * client command talks to, found in etcd instead of given by --host/--port.
 * `call` hands them to RpcClient's discovery; `bench` lists the serving
 * instances once and spreads its connections over them.
 */
import { endpointsOf } from "../client/discovery.ts";
import { EtcdClient } from "../registry/etcd-client.ts";
import { EtcdDiscovery } from "../registry/etcd-discovery.ts";
import { NAME, servicePrefix } from "../registry/keys.ts";
import { UsageError } from "./args.ts";
import { TOKEN_ENV, type Target } from "./target.ts";

export const ETCD_FLAGS = {
  etcd: { type: "string", multiple: true },
  service: { type: "string" },
  "etcd-prefix": { type: "string" },
} as const;

export const ETCD_USAGE = `  --etcd URL     find the servers in etcd instead (repeatable: one per member), e.g. http://10.0.0.2:2379
  --service      with --etcd: the service whose servers to call (default "default")
  --etcd-prefix  with --etcd: the key prefix the servers register under (default "/forkrpc")`;

export interface EtcdTarget {
  readonly etcd: readonly string[];
  readonly service: string;
  readonly prefix: string;
  /** --token or $FORKRPC_TOKEN (no config is read: the servers are elsewhere). */
  readonly token?: string;
}

/** The discovery flags, checked; null when --etcd is absent. */
export function etcdTargetFrom(values: Record<string, unknown>): EtcdTarget | null {
  const urls = values.etcd as string[] | undefined;
  if (urls === undefined) {
    if (values.service !== undefined || values["etcd-prefix"] !== undefined) throw new UsageError("--service and --etcd-prefix need --etcd URL");
    return null;
  }
  if (values.host !== undefined || values.port !== undefined) throw new UsageError("--etcd finds the servers: give no --host or --port with it");
  for (const url of urls) if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--etcd takes a URL such as http://127.0.0.1:2379 (got "${url}")`);
  const service = (values.service as string | undefined) ?? "default";
  if (!NAME.test(service)) throw new UsageError(`--service must be 1-128 letters, digits, '.', '_', ':' or '-' (got "${service}")`);
  const prefix = (values["etcd-prefix"] as string | undefined) ?? "/forkrpc";
  if (!prefix.startsWith("/")) throw new UsageError(`--etcd-prefix must start with "/" (got "${prefix}")`);
  const token = (values.token as string | undefined) ?? process.env[TOKEN_ENV];
  if (token === "") throw new UsageError("--token must not be empty");
  return { etcd: urls, service, prefix, ...(token === undefined ? {} : { token }) };
}

/** The serving instances of the service now, as targets; a message saying why when there are none. */
export async function listServing(target: EtcdTarget): Promise<Target[] | string> {
  const discovery = new EtcdDiscovery(new EtcdClient({ endpoints: target.etcd }), { prefix: target.prefix });
  const dir = servicePrefix(target.prefix, target.service);
  const all = endpointsOf(await discovery.list(target.service));
  const serving = all.filter((e) => e.serving !== false);
  if (serving.length > 0) return serving.map(({ host, port }) => ({ host, port, ...(target.token === undefined ? {} : { token: target.token }) }));
  const what = all.length === 0 ? "no instance" : `${all.length} instance(s), none serving (draining)`;
  return `forkrpc: etcd (${target.etcd.join(", ")}) lists ${what} of service "${target.service}" under ${dir}`;
}
