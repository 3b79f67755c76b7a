/**
 * The one context of a request: the handler sees it as an RpcContext, its
 * middleware as a MiddlewareContext, and they are the same object (so
 * ctx.state, ctx.signal and ctx.log are shared without a copy or a field
 * that points at the other). A method without middleware uses only what the
 * handler needs; the rest (ctx.response, the signal, the logger, the state
 * bag) is made on first use.
 *
 * Its signal belongs to this one request: when the request is answered the
 * connection forgets it, so listeners added by finished requests do not
 * pile up on a long-lived connection.
 */
import type { DependencyContainer } from "tsyringe";
import type { Logger } from "pino";
import { shownId } from "../log.ts";
import type { RequestEnvelope, RequestId } from "../protocol/envelope.ts";
import type { Peer, RpcContext } from "./context.ts";
import type { RpcMethodMeta } from "./method.ts";

const CLIENT_GONE = new DOMException("the client closed the connection", "AbortError");

/** What middleware see: the handler's context, plus the request and response they may rewrite. */
export interface MiddlewareContext extends RpcContext {
  readonly request: {
    readonly method: string;
    /** Writable: validation replaces it with the parsed value. */
    params: unknown;
    readonly id: RequestId | undefined;
    readonly meta: Readonly<Record<string, unknown>>;
  };
  /** What will be sent; both writable until the answer leaves. */
  readonly response: { out: string; result: unknown };
  /** Per-request bag for middleware to share values with the handler (auth puts `principal` here). */
  readonly state: Record<string, unknown>;
  /** Aborted when the client goes away or the deadline passes. */
  readonly signal: AbortSignal;
  /** The handler's declared options. */
  readonly handler: RpcMethodMeta;
  /** The worker's logger, bound to this request's method and id. */
  readonly log: Logger;
  /** The worker's DI container. */
  readonly container: DependencyContainer;
}

/** What a context needs from its connection. */
export interface ContextOwner {
  readonly peer: Peer;
  readonly clientGone: boolean;
  /** The worker's request logger: ctx.log is a child of it, made on first use. */
  readonly requestLog: Logger;
  watch(ctx: RequestContext): void;
  unwatch(ctx: RequestContext): void;
}

/** The method a request runs: its declared options and the container its middleware resolve from. */
export interface ContextMethod {
  readonly meta: RpcMethodMeta;
  readonly container: DependencyContainer;
}

export class RequestContext implements MiddlewareContext {
  readonly method: string;
  readonly id: RequestId | undefined;
  readonly meta: Readonly<Record<string, unknown>>;
  /**
   * parseRequest made this object for this request alone: validation may
   * write the parsed params on it, no copy needed.
   */
  readonly request: { readonly method: string; params: unknown; readonly id: RequestId | undefined; readonly meta: Readonly<Record<string, unknown>> };
  readonly handler: RpcMethodMeta;
  readonly container: DependencyContainer;
  /** This request's deadline in ms from its start (Infinity: none): the smallest of meta.timeoutMs, the method's and the config's. */
  readonly deadlineMs: number;
  readonly #owner: ContextOwner;
  #controller: AbortController | null = null;
  #answered = false;
  #state: Record<string, unknown> | null = null;
  #log: Logger | null = null;
  #response: { out: string; result: unknown } | null = null;
  /** Why the request was aborted early (its deadline), if it was. */
  #aborted: unknown = undefined;
  /** Work cut short by the deadline that has not settled yet: it still holds an in-flight slot. */
  outliving: Promise<unknown> | null = null;
  /**
   * The request as parsed, before any middleware replaced its params
   * (validation does): an offloaded call sends the body text when the
   * handler gets these same params.
   */
  readonly receivedParams: unknown;
  readonly receivedText: string | undefined;

  constructor(req: RequestEnvelope, owner: ContextOwner, method: ContextMethod, deadlineMs: number) {
    this.method = req.method;
    this.id = req.id;
    this.meta = req.meta;
    this.request = req;
    this.handler = method.meta;
    this.container = method.container;
    this.deadlineMs = deadlineMs;
    this.#owner = owner;
    this.receivedParams = req.params;
    this.receivedText = req.text;
  }

  get peer(): Peer {
    return this.#owner.peer;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted !== undefined) this.#controller.abort(this.#aborted);
      else if (this.#owner.clientGone) this.#controller.abort(CLIENT_GONE);
      else if (!this.#answered) this.#owner.watch(this);
    }
    return this.#controller.signal;
  }

  get state(): Record<string, unknown> {
    this.#state ??= {};
    return this.#state;
  }

  /** Made when a chain first looks at it: a method without middleware answers from the handler's value. */
  get response(): { out: string; result: unknown } {
    this.#response ??= { out: this.handler.out, result: undefined };
    return this.#response;
  }

  /** One logger per request, made only if someone logs. */
  get log(): Logger {
    this.#log ??= this.#owner.requestLog.child(this.id === undefined ? { method: this.method } : { method: this.method, id: shownId(this.id) });
    return this.#log;
  }

  /** The client went away, or (with a reason) the deadline passed. */
  abort(reason: unknown = CLIENT_GONE): void {
    this.#aborted ??= reason;
    this.#controller?.abort(reason);
  }

  /** The deadline passed while `work` (the handler, or the chain inside the deadline) still runs. */
  expire(reason: unknown, work: Promise<unknown>): void {
    this.outliving = work;
    this.abort(reason);
  }

  /** The request is answered: its signal no longer needs watching. */
  done(): void {
    this.#answered = true;
    if (this.#controller !== null) this.#owner.unwatch(this);
  }
}
