/**
 * @Rpc marks a class as the handler of one method. Like every decorator in
 * forkrpc it only records metadata: finding, importing and registering
 * handlers happen later, in plugins/load.ts.
 */
import { injectable } from "tsyringe";
import type { RpcContext } from "../server/context.ts";

export interface RpcOptions {
  /** The reply type sent in the response's `out`; defaults to the method name. */
  readonly out?: string;
  /** A sentence for humans and for introspection. */
  readonly description?: string;
}

export interface RpcMethodMeta {
  readonly name: string;
  readonly out: string;
  readonly description?: string;
}

/** The shape every handler class has. */
export interface RpcHandler<P = any, R = unknown> {
  handle(params: P, ctx: RpcContext): R | Promise<R>;
}

export type HandlerClass = new (...args: any[]) => RpcHandler;

// Symbol.for keys: metadata stays readable even when a plugin resolves a
// second copy of this module.
const META = Symbol.for("forkrpc.rpc.meta");
const SEEN = Symbol.for("forkrpc.rpc.seen");

type Registry = { [SEEN]?: HandlerClass[] };

/**
 * Declares a handler class for the method `name`.
 *
 * @example
 * @Rpc("ping", { out: "pong" })
 * export class Ping {
 *   handle(params: unknown) { return params; }
 * }
 */
export function Rpc(name: string, options: RpcOptions = {}) {
  return <T extends HandlerClass>(target: T): void => {
    const meta: RpcMethodMeta = { name, out: options.out ?? name, description: options.description };
    Object.defineProperty(target, META, { value: meta, enumerable: false });
    injectable()(target);
    const seen = ((globalThis as Registry)[SEEN] ??= []);
    seen.push(target);
  };
}

/** The @Rpc metadata of a class, if it has any of its own. */
export function rpcMetaOf(value: unknown): RpcMethodMeta | undefined {
  if (typeof value !== "function" || !Object.prototype.hasOwnProperty.call(value, META)) return undefined;
  return (value as unknown as Record<symbol, RpcMethodMeta>)[META];
}

/** Every class decorated with @Rpc in this process so far, in decoration order. */
export function decoratedClasses(): readonly HandlerClass[] {
  return (globalThis as Registry)[SEEN] ?? [];
}
