/**
 * `forkrpc list`: the methods a running server offers, from its
 * rpc.discover, as a table; with --local, the same table built from this
 * folder's config and plugins, without a server.
 */
import { RpcClient } from "../client/index.ts";
import { loadConfig } from "../config.ts";
import { RpcError } from "../errors.ts";
import { describeMethod, type MethodDescription } from "../plugins/introspection.ts";
import { loadRegistry } from "../server/start.ts";
import { intFlag, metaArg, parseFlags, UsageError } from "./args.ts";
import { schemaSummary } from "./schema-summary.ts";
import { probe, TARGET_FLAGS, TARGET_USAGE, targetFrom, unreachable, type Target } from "./target.ts";

export const LIST_USAGE = `forkrpc list [--host HOST] [--port N] [--timeout MS] [--meta JSON] [--json]
forkrpc list --local [--config FILE] [--json]

${TARGET_USAGE}
  --timeout      ms to wait for rpc.discover's answer (default 10000)
  --meta         request meta, a JSON object: '{"token":"abc"}' when the server has auth on
  --local        load this folder's config and plugins instead of asking a server
  --config, -c   with --local: the config file (default: rpc.config.{ts,mts,js,mjs} here)
  --json         print rpc.discover's answer as JSON ({"methods": [...]}) instead of a table`;

const LIST_FLAGS = {
  ...TARGET_FLAGS,
  timeout: { type: "string" },
  meta: { type: "string" },
  local: { type: "boolean" },
  config: { type: "string", short: "c" },
  json: { type: "boolean" },
} as const;

export async function list(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, LIST_FLAGS);
  if (values.local === true && (values.host !== undefined || values.port !== undefined || values.meta !== undefined)) {
    throw new UsageError("--local reads the plugins here; it takes no --host, --port or --meta");
  }
  if (values.local !== true && values.config !== undefined) throw new UsageError("--config goes with --local");
  let methods: MethodDescription[];
  if (values.local === true) {
    methods = await localMethods(values.config as string | undefined);
  } else {
    const timeoutMs = intFlag("timeout", values.timeout as string | undefined, 1, 2 ** 31 - 1) ?? 10_000;
    const found = await remoteMethods(targetFrom(values), timeoutMs, metaArg(values.meta as string | undefined));
    if (typeof found === "string") {
      process.stderr.write(`${found}\n`);
      return 1;
    }
    methods = found;
  }
  process.stdout.write(values.json === true ? `${JSON.stringify({ methods }, null, 2)}\n` : `${methodTable(methods)}\n`);
  return 0;
}

/** The methods a server started with this config would offer, built-ins included. */
async function localMethods(configPath: string | undefined): Promise<MethodDescription[]> {
  const config = await loadConfig(configPath);
  const { registry } = await loadRegistry(config);
  return [...registry.methods.values()].map((entry) => describeMethod(entry.meta));
}

/** rpc.discover's list, or what to tell the user when there is none. */
async function remoteMethods(target: Target, timeoutMs: number, meta: Record<string, unknown> | undefined): Promise<MethodDescription[] | string> {
  const why = await probe(target, timeoutMs);
  if (why !== null) return unreachable(target, why);
  const client = new RpcClient({ ...target, timeoutMs });
  try {
    const answer = (await client.call("rpc.discover", undefined, meta === undefined ? {} : { meta })) as { methods?: unknown } | null;
    if (!Array.isArray(answer?.methods)) return "forkrpc: rpc.discover answered without a methods list";
    return answer.methods as MethodDescription[];
  } catch (error) {
    if (!RpcError.is(error)) throw error;
    if (error.code === "METHOD_NOT_FOUND") {
      return "forkrpc: this server does not offer rpc.discover (introspection.discover is off); try forkrpc list --local in the app's folder";
    }
    if (error.code === "UNAUTHENTICATED") return `forkrpc: ${error.code}: ${error.message} (rpc.discover needs a token when auth is on: --meta '{"token":"..."}')`;
    return `${error.code}: ${error.message}`;
  } finally {
    await client.close();
  }
}

const HEADERS = ["METHOD", "OUT", "PARAMS", "TIMEOUT", "ACCESS", "DESCRIPTION"];

/** An aligned table, one method a row; the last column is not padded. */
export function methodTable(methods: readonly MethodDescription[]): string {
  if (methods.length === 0) return "no methods";
  const rows = methods.map((m) => [
    m.name,
    m.out,
    m.params === undefined ? "-" : schemaSummary(m.params),
    m.timeoutMs === undefined ? "-" : `${m.timeoutMs} ms`,
    access(m),
    m.description ?? "",
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  return [HEADERS, ...rows]
    .map((cells) =>
      cells
        .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function access(m: MethodDescription): string {
  if (m.public === true) return "public";
  if (m.scopes !== undefined && m.scopes.length > 0) return `scopes: ${m.scopes.join(",")}`;
  return "-";
}
