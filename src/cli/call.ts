/**
 * `forkrpc call <method> [params-json]`: one call through RpcClient. The
 * result goes to stdout as pretty JSON; an error answer goes to stderr as
 * `CODE: message` (and its data) with exit status 1.
 */
import { RpcClient } from "../client/index.ts";
import { RpcError } from "../errors.ts";
import { MAX_TIMER_MS } from "../protocol/timers.ts";
import { intFlag, jsonArg, metaArg, parseFlags, UsageError } from "./args.ts";
import { safeJson, visibleValue } from "./escape.ts";
import { probe, TARGET_FLAGS, TARGET_USAGE, targetFrom, unreachable, withToken, type Target } from "./target.ts";
import { ETCD_FLAGS, ETCD_USAGE, etcdTargetFrom, listServing } from "./etcd-target.ts";

export const CALL_USAGE = `forkrpc call <method> [params-json] [--host HOST] [--port N] [--config FILE] [--token T] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]] [--timeout MS] [--meta JSON] [--idempotent] [--out]
       forkrpc call <method> [params-json] --etcd URL [--service NAME] [--etcd-prefix P] [...]

${TARGET_USAGE}
${ETCD_USAGE}
  --timeout      ms to wait for the answer, also sent as meta.timeoutMs (default 10000; 0: none)
  --meta         request meta, a JSON object (e.g. '{"token":"abc"}')
  --idempotent   the call may run twice: send it again if the connection drops before the answer
  --out          print the reply type too: {"out": ..., "result": ...}

  params-json is JSON: a string needs its quotes, as in forkrpc call ping '"hi"'.`;

const CALL_FLAGS = {
  ...TARGET_FLAGS,
  ...ETCD_FLAGS,
  timeout: { type: "string" },
  meta: { type: "string" },
  idempotent: { type: "boolean" },
  out: { type: "boolean" },
} as const;

const DEFAULT_TIMEOUT_MS = 10_000;

export async function call(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, CALL_FLAGS, true);
  const [method, paramsText, ...extra] = positionals;
  if (method === undefined || method === "") throw new UsageError("call needs a method name");
  if (extra.length > 0) throw new UsageError(`call takes one params argument; quote the JSON as one word (got also "${extra[0]}")`);
  const params = paramsText === undefined ? null : jsonArg("params", paramsText);
  const timeoutMs = intFlag("timeout", values.timeout as string | undefined, 0, MAX_TIMER_MS) ?? DEFAULT_TIMEOUT_MS;
  const found = etcdTargetFrom(values);
  let client: RpcClient;
  let meta: Record<string, unknown> | undefined;
  if (found !== null) {
    // Listed once first, so that "no such service" is said at once instead of after the timeout.
    const serving = await listServing(found);
    if (typeof serving === "string") {
      process.stderr.write(`${serving}\n`);
      return 1;
    }
    meta = withToken(metaArg(values.meta as string | undefined), serving[0] as Target, values.token);
    client = new RpcClient({ etcd: { endpoints: found.etcd, prefix: found.prefix }, service: found.service, timeoutMs, health: false });
  } else {
    const target = await targetFrom(values);
    meta = withToken(metaArg(values.meta as string | undefined), target, values.token);
    const why = await probe(target, timeoutMs === 0 ? DEFAULT_TIMEOUT_MS : timeoutMs);
    if (why !== null) {
      process.stderr.write(`${unreachable(target, why)}\n`);
      return 1;
    }
    client = new RpcClient({ host: target.host, port: target.port, timeoutMs, ...(target.tls === undefined ? {} : { tls: target.tls }) });
  }
  try {
    const options = { meta, idempotent: values.idempotent === true };
    const answer = values.out === true ? await client.request(method, params, options) : await client.call(method, params, options);
    process.stdout.write(`${safeJson(answer, 2) ?? "null"}\n`);
    return 0;
  } catch (error) {
    if (!RpcError.is(error)) throw error;
    process.stderr.write(`${visibleValue(error.code)}: ${visibleValue(error.message)}\n`);
    if (error.data !== undefined) process.stderr.write(`${safeJson(error.data, 2)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}
