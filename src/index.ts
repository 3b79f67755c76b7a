/**
 * forkrpc's public API, exactly the names docs/api.md lists (test/api.test.ts
 * holds the two together). Plugins import from "forkrpc" only: that keeps one
 * copy of tsyringe and of the decorators' metadata for the whole process.
 */
import "reflect-metadata";

export { Rpc } from "./decorators/rpc.ts";
export type { RpcOptions, RpcHandler } from "./request/method.ts";
export { RpcError, BootError, WIRE_CODES, BOOT_CODES, type WireCode, type BootCode } from "./errors.ts";
export { defineConfig, ServerConfig, type ForkrpcConfig } from "./config.ts";
export type { RpcContext, Peer, PeerTls, PeerCertificate } from "./request/context.ts";
export {
  RpcClient,
  type ClientOptions,
  type ClientTlsOptions,
  type CallOptions,
  type ClientStats,
  type EndpointStats,
  type DiscoveryOptions,
  type HealthOptions,
  type RpcResponse,
  type HandlerClass,
  type ParamsOf,
  type ResultOf,
  type Methods,
} from "./client/index.ts";
export type { OnWorkerStart, OnWorkerStop } from "./plugins/lifecycle.ts";
export { Use, type UseEntry } from "./decorators/use.ts";
export { Middleware, type MiddlewareOptions } from "./decorators/middleware.ts";
export type { MiddlewareContext, MiddlewareFn, Next } from "./middleware/types.ts";
export type { StandardSchema, Infer } from "./request/standard-schema.ts";
export type { InputOf } from "./params-input.ts";
export type { AuthOptions, Principal } from "./middleware/auth.ts";
export type { AccessLogOptions } from "./middleware/access-log.ts";
// The tsyringe names docs/plugins.md documents; the rest of tsyringe stays its own.
export { container, injectable, singleton, inject, injectAll, scoped, Lifecycle, type DependencyContainer } from "tsyringe";
