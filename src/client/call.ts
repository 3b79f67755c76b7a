/**
 * One call from `call()` to its settlement: what to send (encoded once), its
 * deadline, where it is now (waiting, or sent on a connection under an id),
 * and the promise its caller holds.
 */
import type { RpcError } from "../errors.ts";
import type { ResponseEnvelope } from "../protocol/client-envelope.ts";

/** What `request()` resolves to: the handler's reply type and its result. */
export interface RpcResponse<R = unknown> {
  readonly out: string;
  readonly result: R;
}

/** Where a call is: waiting for a connection, or handed to one. */
export interface CallHolder {
  /** Drops a call that settled (timed out) while this connection still holds it. */
  forget(call: PendingCall): void;
}

export class PendingCall {
  readonly method: string;
  readonly methodJson: string;
  readonly paramsJson: string;
  /** The caller's headers (client's and call's merged), without timeoutMs; undefined when none. */
  readonly metaJson: string | undefined;
  readonly idempotent: boolean;
  /** 0 when the call has no time limit. */
  readonly timeoutMs: number;
  /** performance.now() by which the call must be answered (Infinity when no limit). */
  readonly deadline: number;
  readonly promise: Promise<unknown>;

  timer: NodeJS.Timeout | null = null;
  /** Times it was sent again after UNAVAILABLE or a lost connection. */
  retries = 0;
  /** The connection holding it (null while waiting), its id there, and whether its bytes were handed to the socket. */
  holder: CallHolder | null = null;
  id = 0;
  written = false;
  settled = false;

  #resolve!: (value: unknown) => void;
  #reject!: (error: RpcError) => void;
  /** Resolve with `{ out, result }` (request()) or with `result` alone (call()). */
  readonly #full: boolean;

  constructor(method: string, paramsJson: string, metaJson: string | undefined, timeoutMs: number, idempotent: boolean, full: boolean) {
    this.method = method;
    this.methodJson = JSON.stringify(method);
    this.paramsJson = paramsJson;
    this.metaJson = metaJson;
    this.timeoutMs = timeoutMs;
    this.deadline = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
    this.idempotent = idempotent;
    this.#full = full;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * The meta to send now: the caller's headers plus `timeoutMs`, the time
   * left, so the server can give up when the caller will have. Ours is last,
   * so it wins over a `timeoutMs` of the caller's.
   */
  metaToSend(now: number): string | undefined {
    if (this.timeoutMs === 0) return this.metaJson;
    const left = `"timeoutMs":${Math.max(1, Math.ceil(this.deadline - now))}}`;
    const meta = this.metaJson;
    if (meta === undefined || meta === "{}") return `{${left}`;
    return `${meta.slice(0, -1)},${left}`;
  }

  /** Settles with a (non-error) response. Returns false if it had settled already. */
  succeed(response: ResponseEnvelope): boolean {
    if (!this.#settle()) return false;
    this.#resolve(this.#full ? { out: response.out, result: response.result } : response.result);
    return true;
  }

  fail(error: RpcError): boolean {
    if (!this.#settle()) return false;
    this.#reject(error);
    return true;
  }

  #settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return true;
  }
}
