/**
 * `forkrpc list`: the methods a running server offers, from its
 * rpc.discover, as a table; with --local, the same table built from this
 * folder's config and plugins, without a server.
 */
import { RpcClient } from "../client/index.ts";
import { loadConfig } from "../config.ts";
import { RpcError } from "../errors.ts";
import { describeMethod, type MethodDescription } from "../plugins/introspection.ts";
import { loadRegistry } from "../boot/start.ts";
import { MAX_TIMER_MS } from "../protocol/timers.ts";
import { intFlag, parseFlags, UsageError } from "./args.ts";
import { safeJson, visible, visibleValue } from "./escape.ts";
import { schemaSummary } from "./schema-summary.ts";
import { probe, TARGET_FLAGS, TARGET_USAGE, targetFrom, unreachable, type Target } from "./target.ts";

export const LIST_USAGE = `forkrpc list [--host HOST] [--port N] [--config FILE] [--token T] [--tls-ca FILE ...] [--timeout MS] [--json]
forkrpc list --local [--config FILE] [--json]

${TARGET_USAGE}
  --timeout      ms to wait for rpc.discover's answer (default 10000)
  --local        load this folder's config and plugins instead of asking a server
  --json         print rpc.discover's answer as JSON ({"methods": [...]}) instead of a table`;

const LIST_FLAGS = {
  ...TARGET_FLAGS,
  timeout: { type: "string" },
  local: { type: "boolean" },
  json: { type: "boolean" },
} as const;

export async function list(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, LIST_FLAGS);
  if (values.local === true && (values.host !== undefined || values.port !== undefined || values.token !== undefined)) {
    throw new UsageError("--local reads the plugins here; it takes no --host, --port or --token");
  }
  let methods: MethodDescription[];
  if (values.local === true) {
    methods = await localMethods(values.config as string | undefined);
  } else {
    const timeoutMs = intFlag("timeout", values.timeout as string | undefined, 1, MAX_TIMER_MS) ?? 10_000;
    const found = await remoteMethods(await targetFrom(values), timeoutMs);
    if (typeof found === "string") {
      process.stderr.write(`${found}\n`);
      return 1;
    }
    methods = found;
  }
  process.stdout.write(values.json === true ? `${safeJson({ methods }, 2)}\n` : `${methodTable(methods)}\n`);
  return 0;
}

/** The methods a server started with this config would offer, built-ins included. */
async function localMethods(configPath: string | undefined): Promise<MethodDescription[]> {
  const config = await loadConfig(configPath);
  const { registry } = await loadRegistry(config);
  return [...registry.methods.values()].map((entry) => describeMethod(entry.meta));
}

/** rpc.discover's list, or what to tell the user when there is none. */
async function remoteMethods(target: Target, timeoutMs: number): Promise<MethodDescription[] | string> {
  const why = await probe(target, timeoutMs);
  if (why !== null) return unreachable(target, why);
  const client = new RpcClient({ host: target.host, port: target.port, timeoutMs, ...(target.tls === undefined ? {} : { tls: target.tls }) });
  try {
    // rpc.discover needs a token when auth is on (introspection.public decides).
    const meta = target.token === undefined ? undefined : { token: target.token };
    const answer = (await client.call("rpc.discover", null, { meta })) as { methods?: unknown } | null;
    if (!Array.isArray(answer?.methods)) return "forkrpc: rpc.discover answered without a methods list";
    if (!answer.methods.every((m) => typeof m === "object" && m !== null && !Array.isArray(m))) {
      return "forkrpc: rpc.discover answered with a methods list whose entries are not all objects";
    }
    return answer.methods as MethodDescription[];
  } catch (error) {
    if (!RpcError.is(error)) throw error;
    if (error.code === "METHOD_NOT_FOUND") {
      return "forkrpc: this server does not offer rpc.discover (introspection.discover is off); try forkrpc list --local in the app's folder";
    }
    const hint = error.code === "UNAUTHENTICATED" ? " (rpc.discover needs a token when auth is on: --token T or FORKRPC_TOKEN)" : "";
    return `${visible(error.code)}: ${visible(error.message)}${hint}`;
  } finally {
    await client.close();
  }
}

const HEADERS = ["METHOD", "OUT", "PARAMS", "TIMEOUT", "ACCESS", "DESCRIPTION"];

/** An aligned table, one method a row; the last column is not padded. Every cell is escaped: the server wrote it. */
export function methodTable(methods: readonly MethodDescription[]): string {
  if (methods.length === 0) return "no methods";
  const rows = methods.map((m) =>
    [
      visibleValue(m.name),
      visibleValue(m.out),
      m.params === undefined ? "-" : visible(schemaSummary(m.params)),
      m.timeoutMs === undefined ? "-" : `${visibleValue(m.timeoutMs)} ms`,
      visible(access(m)),
      m.description === undefined ? "" : visibleValue(m.description),
    ],
  );
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
  if (Array.isArray(m.scopes) && m.scopes.length > 0) return `scopes: ${m.scopes.map((s) => visibleValue(s)).join(",")}`;
  return "-";
}
