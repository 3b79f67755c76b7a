/**
 * Runs one parsed request against the registry and produces its response
 * text. A method without middleware whose handler returns a plain value is
 * answered without any promise or timer; a returned thenable is raced
 * against the request's deadline. A method with middleware runs its chain,
 * composed once at load time.
 */
import { encodeError, encodeResponse, type RequestEnvelope, type RequestId } from "../protocol/envelope.ts";
import { describe, toWireError } from "../errors.ts";
import { log } from "../log.ts";
import { CallContext } from "../middleware/context.ts";
import { isThenable } from "../middleware/compose.ts";
import { deadlineOf, withDeadline } from "../middleware/deadline.ts";
import type { MethodEntry } from "../plugins/registry.ts";
import type { Chains } from "../plugins/chain.ts";
import type { Activity } from "./activity.ts";
import type { RequestContext } from "../request/request-context.ts";

const SHOWN_NAME_CHARS = 100;

/** `entry`: the method the request names, looked up by the caller (undefined: none). */
export function dispatch(entry: MethodEntry | undefined, req: RequestEnvelope, ctx: RequestContext, activity: Activity): string | Promise<string> {
  if (entry === undefined) return methodNotFound(req);
  let ms: number;
  try {
    ms = deadlineOf(req.meta, entry.meta.timeoutMs, entry.defaultTimeoutMs);
  } catch (thrown) {
    return failed(entry, thrown, ctx);
  }
  if (entry.chain !== null) return runChain(entry, req, ctx, ms, activity);
  let result: unknown;
  let async: boolean;
  activity.enter(entry.index, req.id);
  try {
    result = entry.handler.handle(req.params, ctx);
    async = isThenable(result);
  } catch (thrown) {
    return failed(entry, thrown, ctx);
  } finally {
    activity.leave();
  }
  if (async) {
    return withDeadline(Promise.resolve(result), ms, ctx).then(
      (value) => succeeded(entry.outJson, entry, value, req.id),
      (thrown) => failed(entry, thrown, ctx),
    );
  }
  return succeeded(entry.outJson, entry, result, req.id);
}

function runChain(entry: MethodEntry, req: RequestEnvelope, ctx: RequestContext, ms: number, activity: Activity): Promise<string> {
  const call = new CallContext(req, ctx, entry.meta, entry.container, ms);
  let work: Promise<void>;
  // The chain's synchronous part (often the handler itself) is what a
  // watchdog report should name if it blocks.
  activity.enter(entry.index, req.id);
  try {
    const chains = entry.chain as Chains;
    work = (ms === Infinity ? chains.untimed : chains.timed)(call);
  } catch (thrown) {
    work = Promise.reject(thrown);
  } finally {
    activity.leave();
  }
  // The chain's own deadline step enforces `ms` (see plugins/chain.ts).
  return work.then(
    () => {
      const out = call.response.out;
      return succeeded(out === entry.meta.out ? entry.outJson : JSON.stringify(String(out)), entry, call.response.result, req.id);
    },
    (thrown) => failed(entry, thrown, ctx),
  );
}

function methodNotFound(req: RequestEnvelope): string {
  const name = req.method.length > SHOWN_NAME_CHARS ? `${req.method.slice(0, SHOWN_NAME_CHARS)}...` : req.method;
  return encodeError({ code: "METHOD_NOT_FOUND", message: `no method named ${JSON.stringify(name)}` }, req.id);
}

function succeeded(outJson: string, entry: MethodEntry, value: unknown, id: RequestId | undefined): string {
  try {
    return encodeResponse(outJson, value, id);
  } catch (thrown) {
    log.error(`${entry.name}: result could not be encoded as JSON: ${describe(thrown)}`);
    return encodeError({ code: "INTERNAL", message: "result could not be encoded" }, id);
  }
}

function failed(entry: MethodEntry, thrown: unknown, ctx: RequestContext): string {
  const wire = toWireError(thrown);
  if (wire.code === "INTERNAL") {
    // A handler that stopped because its client left did what it was asked to.
    if (ctx.signal.aborted && isAbortError(thrown)) log.debug(`${entry.name} stopped: ${describe(ctx.signal.reason)}`);
    else log.error(`${entry.name} threw ${stackOf(thrown)}`);
  }
  return encodeError(wire, ctx.id);
}

function isAbortError(thrown: unknown): boolean {
  try {
    return typeof thrown === "object" && thrown !== null && (thrown as { name?: unknown }).name === "AbortError";
  } catch {
    return false;
  }
}

function stackOf(thrown: unknown): string {
  try {
    if (thrown instanceof Error && typeof thrown.stack === "string") return thrown.stack;
  } catch {
    // a hostile getter: fall back to the plain description
  }
  return describe(thrown);
}
