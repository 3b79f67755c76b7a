/**
 * The RpcContext a handler receives. Its signal is made only when a handler
 * asks for it, and belongs to that one request: when the request is
 * answered the connection forgets it, so listeners added by finished
 * requests do not pile up on a long-lived connection.
 */
import type { Logger } from "pino";
import { shownId } from "../log.ts";
import type { RequestEnvelope, RequestId } from "../protocol/envelope.ts";
import type { Peer, RpcContext } from "./context.ts";

const CLIENT_GONE = new DOMException("the client closed the connection", "AbortError");

/** What a context needs from its connection. */
export interface ContextOwner {
  readonly peer: Peer;
  readonly clientGone: boolean;
  /** The worker's request logger: ctx.log is a child of it, made on first use. */
  readonly requestLog: Logger;
  watch(ctx: RequestContext): void;
  unwatch(ctx: RequestContext): void;
}

export class RequestContext implements RpcContext {
  readonly method: string;
  readonly id: RequestId | undefined;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly #owner: ContextOwner;
  #controller: AbortController | null = null;
  #answered = false;
  #state: Record<string, unknown> | null = null;
  #log: Logger | null = null;
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

  constructor(req: RequestEnvelope, owner: ContextOwner) {
    this.method = req.method;
    this.id = req.id;
    this.meta = req.meta;
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

  /** Middleware's ctx.log is this same child: one logger per request, made only if someone logs. */
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
