/**
 * Runs one parsed request against the registry and produces its response
 * text. A sync handler that returns a plain value is answered without any
 * promise; only a returned thenable makes the answer asynchronous.
 */
import { encodeError, encodeResponse, type RequestEnvelope, type RequestId } from "../protocol/envelope.ts";
import { describe, toWireError } from "../errors.ts";
import { log } from "../log.ts";
import type { MethodEntry, Registry } from "../plugins/registry.ts";
import type { Activity } from "./activity.ts";
import type { RpcContext } from "./context.ts";

const SHOWN_NAME_CHARS = 100;

export function dispatch(methods: Registry, req: RequestEnvelope, ctx: RpcContext, activity: Activity): string | Promise<string> {
  const entry = methods.get(req.method);
  if (entry === undefined) return methodNotFound(req);
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
    return Promise.resolve(result).then(
      (value) => succeeded(entry, value, req.id),
      (thrown) => failed(entry, thrown, ctx),
    );
  }
  return succeeded(entry, result, req.id);
}

function methodNotFound(req: RequestEnvelope): string {
  const name = req.method.length > SHOWN_NAME_CHARS ? `${req.method.slice(0, SHOWN_NAME_CHARS)}...` : req.method;
  return encodeError({ code: "METHOD_NOT_FOUND", message: `no method named ${JSON.stringify(name)}` }, req.id);
}

function succeeded(entry: MethodEntry, value: unknown, id: RequestId | undefined): string {
  try {
    return encodeResponse(entry.outJson, value, id);
  } catch (thrown) {
    log.error(`${entry.name}: result could not be encoded as JSON: ${describe(thrown)}`);
    return encodeError({ code: "INTERNAL", message: "result could not be encoded" }, id);
  }
}

function failed(entry: MethodEntry, thrown: unknown, ctx: RpcContext): string {
  const wire = toWireError(thrown);
  if (wire.code === "INTERNAL") {
    // A handler that stopped because its client left did what it was asked to.
    if (ctx.signal.aborted && isAbortError(thrown)) log.debug(`${entry.name} stopped: the client closed the connection`);
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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function"
  );
}

function stackOf(thrown: unknown): string {
  try {
    if (thrown instanceof Error && typeof thrown.stack === "string") return thrown.stack;
  } catch {
    // a hostile getter: fall back to the plain description
  }
  return describe(thrown);
}
