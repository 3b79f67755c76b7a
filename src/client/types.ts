/**
 * Typed calls: the params and result types of a method, read from its handler
 * class's `handle` signature. Types only; nothing here exists at run time.
 *
 * @example
 * import type { Ping } from "./plugins/ping.ts";   // `import type`: the class is not loaded
 * const text = await client.call<typeof Ping>("ping", "hello"); // params and result typed
 *
 * // or once for all methods:
 * type Api = { ping: typeof Ping; stats: typeof Stats };
 * const typed = new RpcClient<Api>({ port: 8080 });
 * await typed.call("ping", "hello"); // "ping" | "stats" only; params and result typed
 */

import type { InputOf } from "../params-input.ts";

/** Any class whose instances have a `handle` method, as every `@Rpc` handler does. */
export type HandlerClass = abstract new (...args: any[]) => { handle(...args: any[]): unknown };

/**
 * The params a caller sends: the first parameter of `handle`, or, when it is
 * typed `Infer<typeof schema>`, what the schema accepts (its Standard Schema
 * input type: fields with defaults are optional).
 */
export type ParamsOf<H extends HandlerClass> = InputOf<Parameters<InstanceType<H>["handle"]>[0]>;

/** What a call to the handler resolves to: `handle`'s return type, awaited. */
export type ResultOf<H extends HandlerClass> = Awaited<ReturnType<InstanceType<H>["handle"]>>;

/** A map from method name to handler class: the type argument of `RpcClient<M>`. */
export type Methods = Record<string, HandlerClass>;

/** A handler about which nothing is known: params and result are `any`. */
export type AnyHandler = new (...args: any[]) => { handle(params?: any, ...rest: any[]): any };

/** The methods of a client without a map: any name, untyped. */
export type AnyMethods = Record<string, AnyHandler>;

/** Method names a client accepts beyond its map's keys: any string for an untyped client, none for a typed one. */
export type UntypedName<M extends Methods> = string extends keyof M ? string : never;
