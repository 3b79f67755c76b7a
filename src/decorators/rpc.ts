/**
 * @Rpc marks a class as the handler of one method. It records metadata on
 * the class; finding, importing and registering handlers happen later, in
 * plugins/load.ts, which scans each module's exports for that metadata. The
 * one thing an export scan cannot see is a decorated class nobody exports,
 * so while a load watches (watchDecorations) @Rpc also tells it which
 * classes it decorated; with no load watching, nothing is kept.
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
const WATCHERS = Symbol.for("forkrpc.rpc.watchers");

type Watched = { [WATCHERS]?: Set<HandlerClass[]> };
type Decorated = { [DECORATIONS]: RpcDecoration[] };

/**
 * Declares a handler class for the method `name`.
 *
 * @example
 * @Rpc("ping", { out: "pong" })
 * export class Ping {
 *   handle(params: unknown) { return params; }
 * }
 *
 * @example
 * // CPU-bound: runs on a thread of the worker's pool (docs/threads.md)
 * @Rpc("report.build", { offload: true })
 * export class BuildReport {
 *   handle(params: { rows: number }) { return { total: params.rows }; }
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
    for (const classes of (globalThis as Watched)[WATCHERS] ?? []) classes.push(target);
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

/** What one watch saw: the classes @Rpc decorated since it began, in order. */
export interface DecorationWatch {
  readonly classes: readonly HandlerClass[];
  stop(): void;
}

/** Lists every class @Rpc decorates from now until stop() (a class decorated twice is listed once). */
export function watchDecorations(): DecorationWatch {
  const watchers = ((globalThis as Watched)[WATCHERS] ??= new Set());
  const classes: HandlerClass[] = [];
  watchers.add(classes);
  return { classes, stop: () => void watchers.delete(classes) };
}
