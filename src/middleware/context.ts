/**
 * The context middleware receive: the request, the writable response, a
 * state bag shared with the handler's ctx, the worker's logger and container.
 */
import type { DependencyContainer } from "tsyringe";
import type { Logger } from "pino";
import type { RpcMethodMeta } from "../request/method.ts";
import type { RequestEnvelope, RequestId } from "../protocol/envelope.ts";
import type { Peer } from "../request/context.ts";
import type { RequestContext } from "../request/request-context.ts";
import type { MiddlewareContext } from "./types.ts";

export class CallContext implements MiddlewareContext {
  readonly request: { readonly method: string; params: unknown; readonly id: RequestId | undefined; readonly meta: Readonly<Record<string, unknown>> };
  readonly response: { out: string; result: unknown };
  readonly handler: RpcMethodMeta;
  readonly container: DependencyContainer;
  /** The handler's own ctx (the terminal of the chain passes it on). */
  readonly rpc: RequestContext;
  /** This request's deadline (ms from the start; Infinity: none), enforced by the deadline step. */
  readonly deadlineMs: number;

  constructor(req: RequestEnvelope, rpc: RequestContext, handler: RpcMethodMeta, container: DependencyContainer, deadlineMs: number) {
    this.deadlineMs = deadlineMs;
    // parseRequest made this object for this request alone: validation may
    // write the parsed params on it, no copy needed.
    this.request = req;
    this.response = { out: handler.out, result: undefined };
    this.handler = handler;
    this.container = container;
    this.rpc = rpc;
  }

  get state(): Record<string, unknown> {
    return this.rpc.state;
  }

  get peer(): Peer {
    return this.rpc.peer;
  }

  get signal(): AbortSignal {
    return this.rpc.signal;
  }

  get log(): Logger {
    return this.rpc.log;
  }
}
