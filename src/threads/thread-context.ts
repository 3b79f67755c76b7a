/**
 * The RpcContext of a call in a handler thread. What crossed from the
 * worker: the request's id, meta, peer and ctx.state (as JSON: values
 * middleware stored that JSON cannot carry are not there). ctx.signal aborts
 * when the client goes away; a deadline ends the thread instead.
 */
import type { Logger } from "pino";
import { shownId } from "../log.ts";
import { createRequestLogger } from "../middleware/logger.ts";
import type { RequestId } from "../protocol/envelope.ts";
import type { Peer, RpcContext } from "../request/context.ts";
import type { CallMessage } from "./messages.ts";

const CLIENT_GONE = new DOMException("the client closed the connection", "AbortError");
const NO_META: Readonly<Record<string, unknown>> = Object.freeze({});

let requestLog: Logger | null = null;

export class ThreadContext implements RpcContext {
  readonly method: string;
  readonly id: RequestId | undefined;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly peer: Peer;
  readonly params: unknown;
  readonly #stateJson: string | null;
  #state: Record<string, unknown> | null = null;
  #controller: AbortController | null = null;
  #aborted = false;
  #log: Logger | null = null;

  constructor(msg: CallMessage) {
    this.method = msg.method;
    this.id = msg.id;
    this.peer = msg.peer;
    this.#stateJson = msg.state;
    // The worker parsed this same text, so it is valid JSON.
    if (msg.whole) {
      const body = JSON.parse(msg.text) as { params?: unknown; meta?: Record<string, unknown> };
      this.params = body.params === undefined ? null : body.params;
      this.meta = body.meta ?? NO_META;
    } else {
      this.params = JSON.parse(msg.text);
      this.meta = msg.meta === null ? NO_META : (JSON.parse(msg.meta) as Record<string, unknown>);
    }
  }

  get state(): Record<string, unknown> {
    this.#state ??= this.#stateJson === null ? {} : (JSON.parse(this.#stateJson) as Record<string, unknown>);
    return this.#state;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(CLIENT_GONE);
    }
    return this.#controller.signal;
  }

  get log(): Logger {
    requestLog ??= createRequestLogger();
    this.#log ??= requestLog.child(this.id === undefined ? { method: this.method } : { method: this.method, id: shownId(this.id) });
    return this.#log;
  }

  abort(): void {
    this.#aborted = true;
    this.#controller?.abort(CLIENT_GONE);
  }
}
