/**
 * The client's read timeout: an answer frame that has begun to arrive must
 * be complete within readTimeoutMs, or its connection is dropped. Without it
 * a server stalled mid-frame leaves the connection open and "usable" for
 * ever, and every call later sent there waits for an answer stuck behind the
 * half-read frame.
 *
 * The same rule as the server's limits.readTimeoutMs, kept here because
 * client/ imports nothing of server/ (and the client, never pausing its
 * socket, has no time to leave out). One timer per connection, armed only
 * while a frame is partly received and not re-armed per frame: when it fires
 * it looks at when the frame now in progress began.
 */
export class ReadTimer {
  readonly #timeoutMs: number;
  readonly #expired: () => void;
  #timer: NodeJS.Timeout | null = null;
  /** performance.now() when the frame partly received began to arrive (0: none). */
  #since = 0;

  constructor(timeoutMs: number, expired: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#expired = expired;
  }

  /**
   * After each read: `midFrame` whether a frame is partly received, `began`
   * whether that frame began in this read (a frame was completed before it).
   */
  watch(midFrame: boolean, began: boolean): void {
    if (!midFrame) {
      this.#since = 0;
      return;
    }
    if (this.#since === 0 || began) this.#since = performance.now();
    this.#timer ??= setTimeout(this.#fire, this.#timeoutMs);
  }

  stop(): void {
    this.#since = 0;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  readonly #fire = (): void => {
    this.#timer = null;
    if (this.#since === 0) return;
    const left = this.#since + this.#timeoutMs - performance.now();
    if (left <= 0) this.#expired();
    else this.#timer = setTimeout(this.#fire, left);
  };
}
