/**
 * The read timeout: a frame started and not finished within readTimeoutMs
 * ends the connection (slow clients cannot hold a worker's memory forever).
 * One timer per connection, armed only while a frame is partly received,
 * and stopped while the server itself chose not to read (backpressure): that
 * time is not the client's slowness.
 */
export class ReadTimer {
  readonly #timeoutMs: number;
  readonly #expired: () => void;
  #timer: NodeJS.Timeout | null = null;
  /** When the frame now partly received began arriving (0: none). */
  #since = 0;

  constructor(timeoutMs: number, expired: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#expired = expired;
  }

  /** After a read: `midFrame` whether a frame is partly received, `fresh` whether it began in this read. */
  watch(midFrame: boolean, fresh: boolean): void {
    if (!midFrame) {
      this.#since = 0;
      return;
    }
    this.start(this.#since === 0 || fresh);
  }

  /** Arms the timer; `restart` counts the frame's time from now. */
  start(restart: boolean): void {
    if (restart) this.#since = performance.now();
    this.#timer ??= setTimeout(this.#fire, this.#timeoutMs);
  }

  stop(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  readonly #fire = (): void => {
    this.#timer = null;
    if (this.#since === 0) return;
    const waited = performance.now() - this.#since;
    if (waited >= this.#timeoutMs) this.#expired();
    else this.#timer = setTimeout(this.#fire, this.#timeoutMs - waited);
  };
}
