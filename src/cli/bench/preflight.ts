/**
 * One call of the benchmarked method before the load: a method that does
 * not exist, or needs a token that was not given, would otherwise be
 * measured as a fast stream of error answers ("202,421 req/s" of
 * METHOD_NOT_FOUND). An error answer that every request would get stops the
 * run, with the code and what to do.
 */
import { RpcClient } from "../../client/index.ts";
import { RpcError } from "../../errors.ts";
import { visibleValue } from "../escape.ts";
import { probe, unreachable, type Target } from "../target.ts";

/** Codes that depend on load, not on the request: the run may go on. */
const TRANSIENT = new Set(["UNAVAILABLE", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"]);

const HINTS: Record<string, string> = {
  METHOD_NOT_FOUND: "check --method: forkrpc list shows the server's methods",
  UNAUTHENTICATED: "pass --token (or set FORKRPC_TOKEN) with a token the server accepts",
  PERMISSION_DENIED: "pass --token with a token that has the scope named",
  INVALID_PARAMS: "check --params against the method's schema (forkrpc list shows it)",
};

/** null when the method answered (or failed only for load reasons); otherwise the message to print. */
export async function preflight(
  target: Target,
  method: string,
  params: unknown,
  meta: Record<string, unknown> | undefined,
  limits: { connectMs: number; answerMs: number },
): Promise<string | null> {
  const why = await probe(target, limits.connectMs);
  if (why !== null) return unreachable(target, why);
  const client = new RpcClient({ host: target.host, port: target.port, timeoutMs: limits.answerMs, ...(target.tls === undefined ? {} : { tls: target.tls }) });
  try {
    await client.call(method, params, { meta });
    return null;
  } catch (error) {
    if (!RpcError.is(error)) return `forkrpc: the first call of ${method} failed: ${visibleValue((error as Error).message)}`;
    if (TRANSIENT.has(error.code)) return null;
    const hint = HINTS[error.code] ?? "fix what the message says; a bench of error answers measures nothing useful";
    return `forkrpc: ${visibleValue(error.code)}: ${visibleValue(error.message)}\n  bench stopped before the load: one call of ${method} answered this error, so every request would. Hint: ${hint}`;
  } finally {
    // The call has settled; close() would wait on a connection that a mute server never ends.
    client.destroy();
  }
}
