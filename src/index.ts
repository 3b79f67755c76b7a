/**
 * forkrpc's public API. Plugins import from "forkrpc" only: that keeps one
 * copy of tsyringe and of the decorators' metadata for the whole process.
 */
import "reflect-metadata";

export { Rpc, type RpcOptions, type RpcHandler, type RpcMethodMeta } from "./decorators/rpc.ts";
export { RpcError, BootError, WIRE_CODES, BOOT_CODES, type WireCode, type BootCode } from "./errors.ts";
export { defineConfig, ServerConfig, type ForkrpcConfig } from "./config.ts";
export type { RpcContext, Peer } from "./request/context.ts";
export {
  RpcClient,
  type ClientOptions,
  type CallOptions,
  type ClientStats,
  type RpcResponse,
  type HandlerClass,
  type ParamsOf,
  type ResultOf,
  type Methods,
} from "./client/index.ts";
export type { OnWorkerStart, OnWorkerStop } from "./plugins/lifecycle.ts";
export { Use, type UseEntry } from "./decorators/use.ts";
export { Middleware, type MiddlewareOptions } from "./decorators/middleware.ts";
export type { MiddlewareContext, MiddlewareFn, MiddlewareClass, Next } from "./middleware/types.ts";
export type { StandardSchema, Infer } from "./middleware/validation.ts";
export type { InputOf } from "./params-input.ts";
export type { AuthOptions, Principal } from "./middleware/auth.ts";
export type { AccessLogOptions } from "./middleware/access-log.ts";
export { container, injectable, singleton, inject, injectAll, scoped, registry, Lifecycle, type DependencyContainer } from "tsyringe";
