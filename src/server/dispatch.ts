/**
 * Runs one request against its method and produces its response text: one
 * path for every method. The synchronous part (the handler, or the chain up
 * to its first await) runs between activity.enter and leave, so a watchdog
 * report names it if it blocks; the answer is encoded by succeeded() or
 * failed(). A method without middleware whose handler returns a plain value
 * is answered without any promise, closure or timer (the fast path); a
 * returned thenable is raced against the request's deadline here, while a
 * chain (composed once at load time) has the deadline as one of its steps.
 */
import { encodeError, encodeResponse, type RequestEnvelope, type RequestId } from "../protocol/envelope.ts";
import { describe, stackOf, toWireError } from "../errors.ts";
import { log } from "../log.ts";
import { isThenable } from "../middleware/compose.ts";
import { withDeadline } from "../middleware/deadline.ts";
import type { MethodEntry } from "../plugins/registry.ts";
import type { Activity } from "./activity.ts";
import type { RequestContext } from "../request/request-context.ts";

const SHOWN_NAME_CHARS = 100;

/** `ctx` was made for `entry` (server/requests.ts): its deadline is worked out already. */
export function dispatch(entry: MethodEntry, ctx: RequestContext, activity: Activity): string | Promise<string> {
  const chain = entry.chain;
  let result: unknown;
  activity.enter(entry.index, ctx.id);
  try {
    result = chain === null ? entry.handler.handle(ctx.request.params, ctx) : chain(ctx);
  } catch (thrown) {
    return failed(entry, thrown, ctx);
  } finally {
    activity.leave();
  }
  if (chain !== null) {
    return (result as Promise<void>).then(
      () => answered(entry, ctx),
      (thrown) => failed(entry, thrown, ctx),
    );
  }
  if (isThenable(result)) {
    return withDeadline(Promise.resolve(result), ctx.deadlineMs, ctx).then(
      (value) => succeeded(entry.outJson, entry, value, ctx.id),
      (thrown) => failed(entry, thrown, ctx),
    );
  }
  return succeeded(entry.outJson, entry, result, ctx.id);
}

/** A chain's answer: what ctx.response holds once it settled (middleware may have changed the reply type). */
function answered(entry: MethodEntry, ctx: RequestContext): string {
  const { out, result } = ctx.response;
  return succeeded(out === entry.meta.out ? entry.outJson : JSON.stringify(String(out)), entry, result, ctx.id);
}

export function methodNotFound(req: RequestEnvelope): string {
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
