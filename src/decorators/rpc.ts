/**
 * @Rpc marks a class as the handler of one method. Like every decorator in
 * forkrpc it only records metadata: finding, importing and registering
 * handlers happen later, in plugins/load.ts.
 */
import { injectable } from "tsyringe";
import type { HandlerClass, RpcMethodMeta, RpcOptions } from "../request/method.ts";
import { callerFile } from "./caller-file.ts";

export type { RpcOptions, RpcMethodMeta, RpcHandler, HandlerClass } from "../request/method.ts";

/** One application of @Rpc to a class. */
export interface RpcDecoration {
  readonly meta: RpcMethodMeta;
  /** Absolute path of the file whose code applied the decorator; undefined when the stack did not say. */
  readonly file: string | undefined;
}

// Symbol.for keys: metadata stays readable even when a plugin resolves a
// second copy of this module.
const DECORATIONS = Symbol.for("forkrpc.rpc.decorations");
const SEEN = Symbol.for("forkrpc.rpc.seen");

type Registry = { [SEEN]?: HandlerClass[] };
type Decorated = { [DECORATIONS]: RpcDecoration[] };

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
  const decorate = <T extends HandlerClass>(target: T): void => {
    const meta: RpcMethodMeta = { ...options, name, out: options.out ?? name };
    const decoration: RpcDecoration = { meta, file: callerFile(decorate) };
    const earlier = rpcDecorationsOf(target);
    if (earlier.length > 0) {
      // Applied twice: recorded, so that loading can refuse it with the names of both.
      (earlier as RpcDecoration[]).push(decoration);
      return;
    }
    Object.defineProperty(target, DECORATIONS, { value: [decoration], enumerable: false });
    injectable()(target);
    const seen = ((globalThis as Registry)[SEEN] ??= []);
    seen.push(target);
  };
  return decorate;
}

/** Every @Rpc applied to a class itself (not inherited), in the order they ran. */
export function rpcDecorationsOf(value: unknown): readonly RpcDecoration[] {
  if (typeof value !== "function" || !Object.hasOwn(value, DECORATIONS)) return [];
  return (value as unknown as Decorated)[DECORATIONS];
}

/** The @Rpc metadata of a class, if it has any of its own (the first applied, when there are several). */
export function rpcMetaOf(value: unknown): RpcMethodMeta | undefined {
  return rpcDecorationsOf(value)[0]?.meta;
}

/** Every class decorated with @Rpc in this process so far, in decoration order. */
export function decoratedClasses(): readonly HandlerClass[] {
  return (globalThis as Registry)[SEEN] ?? [];
}
