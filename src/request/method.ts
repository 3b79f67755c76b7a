/**
 * What a method declares (@Rpc's options) and what its handler looks like:
 * types shared by decorators/, middleware/, plugins/ and server/, so none of
 * them imports another for a type.
 */
import type { RpcContext } from "./context.ts";
import type { StandardSchema } from "./standard-schema.ts";

export interface RpcOptions {
  /** The reply type sent in the response's `out`; defaults to the method name. */
  readonly out?: string;
  /** A sentence for humans and for introspection. */
  readonly description?: string;
  /** Longest time the method may take; the request's meta.timeoutMs or the config default may lower it. */
  readonly timeoutMs?: number;
  /** A Standard Schema (zod, valibot, ...): bad params answer INVALID_PARAMS; handle() gets the parsed value. */
  readonly params?: StandardSchema;
  /** Skip auth for this method. */
  readonly public?: boolean;
  /** Scopes the caller's principal must have (auth), else PERMISSION_DENIED. */
  readonly scopes?: readonly string[];
  /**
   * Run handle() on a thread of the worker's pool (docs/threads.md), so a
   * CPU-bound handler does not stall the worker's other requests. Params and
   * result cross as JSON text; the class is built in the thread, by its own
   * container.
   */
  readonly offload?: boolean;
}

export interface RpcMethodMeta extends RpcOptions {
  readonly name: string;
  readonly out: string;
}

/** The shape every handler class has. */
export interface RpcHandler<P = any, R = unknown> {
  handle(params: P, ctx: RpcContext): R | Promise<R>;
}

export type HandlerClass = new (...args: any[]) => RpcHandler;
