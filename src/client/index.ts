/**
 * forkrpc's client, also importable alone as "forkrpc/client" (without the
 * server's decorators and DI container).
 */
export { RpcClient, type ClientStats } from "./client.ts";
export type { ClientOptions, ClientTlsOptions, CallOptions, DiscoveryOptions, HealthOptions } from "./options.ts";
export type { EndpointStats } from "./endpoints.ts";
export type { RpcResponse } from "./call.ts";
export type { HandlerClass, ParamsOf, ResultOf, Methods, AnyHandler, AnyMethods, UntypedName } from "./types.ts";
export { RpcError, WIRE_CODES, type WireCode } from "../errors.ts";
