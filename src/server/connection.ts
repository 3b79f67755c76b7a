/**
 * One client connection: bytes in, frames, requests, answers, bytes out.
 *
 * Answers leave in the order answers.ts keeps; those produced while handling
 * one read, or completing in one turn of the event loop, leave in a single
 * write. Reading pauses while the client does not read its answers, or owes
 * us more than limits.maxPipelined answers, so one client cannot grow the
 * worker's memory without bound.
 */
import type { Socket } from "node:net";
import { encodeFrames, FrameDecoder } from "../protocol/frame.ts";
import { encodeError, encodeGoaway, isRejected, parseRequest } from "../protocol/envelope.ts";
import { fault, type Fault } from "../protocol/codes.ts";
import type { Registry } from "../plugins/registry.ts";
import type { Peer } from "./context.ts";
import type { Activity } from "./activity.ts";
import { AnswerQueue } from "./answers.ts";
import { RequestContext, type ContextOwner } from "./request-context.ts";
import { dispatch } from "./dispatch.ts";
import { ReadTimer } from "./read-timer.ts";
import { overLimit, type InflightLimits } from "../middleware/limits.ts";
import { describe } from "../errors.ts";
import { log } from "../log.ts";

export interface ConnectionLimits extends InflightLimits {
  readonly maxFrameBytes: number;
  readonly readTimeoutMs: number;
  readonly maxJsonDepth: number;
  readonly maxPipelined: number;
  readonly goawayLingerMs: number;
  readonly quietMs: number;
}

/** How long a peer has to close its side after we closed ours. */
const CLOSE_WAIT_MS = 5_000;
const UNAVAILABLE = fault("UNAVAILABLE", "server is going away; the request was not run");

const enum State {
  Open,
  /** Going away: answer what was received, close when nothing is owed. */
  Draining,
  /** A goaway was sent: new requests are answered UNAVAILABLE. */
  GoneAway,
}

export class Connection implements ContextOwner {
  readonly peer: Peer;
  readonly #socket: Socket;
  readonly #methods: Registry;
  readonly #limits: ConnectionLimits;
  readonly #decoder: FrameDecoder;
  readonly #onClosed: (conn: Connection) => void;
  readonly #activity: Activity;
  readonly #answers = new AnswerQueue();
  /** Contexts whose handler asked for a signal and has not answered yet. */
  readonly #watching = new Set<RequestContext>();
  #flushQueued = false;
  #running = 0;
  #usedIds = false;
  #state = State.Open;
  #drainReason = "";
  /** Whether we still take requests: false after a fault, a read timeout, a drain deadline, or our end. */
  #reading = true;
  /** Why reading is paused for now (the client is slow to read, or owes too many answers). */
  #backpressured = false;
  #tooManyOwed = false;
  #paused = false;
  /** Close as soon as nothing is owed (the client ended, or a read timed out). */
  #closeWhenIdle = false;
  #lingerOver = false;
  #ended = false;
  /** The client has closed (FIN or gone): signals asked for from now on start aborted. */
  #closed = false;
  /** A framing fault to answer once everything before it is answered. */
  #fatal: Fault | null = null;
  #frames = 0;
  readonly #readTimer: ReadTimer;
  /** When bytes last came in or went out (for the quiet period of a drain). */
  #lastActivity = performance.now();
  #lingerTimer: NodeJS.Timeout | null = null;
  #quietTimer: NodeJS.Timeout | null = null;
  #closeWaitTimer: NodeJS.Timeout | null = null;

  constructor(socket: Socket, methods: Registry, limits: ConnectionLimits, activity: Activity, onClosed: (conn: Connection) => void) {
    this.#socket = socket;
    this.#activity = activity;
    this.#methods = methods;
    this.#limits = limits;
    this.#onClosed = onClosed;
    this.peer = { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    this.#decoder = new FrameDecoder(limits.maxFrameBytes, (buf, start, end) => this.#onFrame(buf, start, end));
    this.#readTimer = new ReadTimer(limits.readTimeoutMs, this.#onReadTimeout);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("drain", () => this.#onDrain());
    socket.on("end", () => this.#onEnd());
    socket.on("close", () => this.#onClose());
    // Errors (ECONNRESET, EPIPE) are followed by 'close'; that is where we clean up.
    socket.on("error", () => {});
  }

  /** The client has gone (or half-closed): what a request's signal reports. */
  get clientGone(): boolean {
    return this.#closed;
  }

  watch(ctx: RequestContext): void {
    this.#watching.add(ctx);
  }

  unwatch(ctx: RequestContext): void {
    this.#watching.delete(ctx);
  }

  /**
   * Starts going away: answer every request already received, then close
   * at a moment when nothing is owed. A connection that used ids is told
   * first with a goaway, and requests after it are answered UNAVAILABLE.
   * One that did not is closed once quiet, or after goawayLingerMs at most.
   */
  drain(reason: string): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Draining;
    this.#drainReason = reason;
    if (this.#usedIds) this.#goAway();
    else this.#startLinger();
    this.#flush();
  }

  /** Cuts the connection now, owed answers or not. */
  destroy(): void {
    this.#socket.destroy();
  }

  #goAway(): void {
    this.#state = State.GoneAway;
    this.#answers.notice(encodeGoaway(this.#drainReason));
    // The client gets the whole linger from its goaway, however late in the drain.
    this.#startLinger();
  }

  #startLinger(): void {
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    this.#lingerOver = false;
    this.#lingerTimer = setTimeout(this.#onLingerOver, this.#limits.goawayLingerMs);
  }

  readonly #onLingerOver = (): void => {
    this.#lingerTimer = null;
    this.#lingerOver = true;
    // A client without ids that never goes quiet: stop taking its requests.
    if (this.#state === State.Draining) this.#stopReading();
    this.#closeIfIdle();
  };

  #onData(chunk: Buffer): void {
    if (!this.#reading) return;
    this.#lastActivity = performance.now();
    try {
      const framesBefore = this.#frames;
      const bad = this.#decoder.push(chunk);
      if (bad !== null) this.#fail(bad);
      else this.#readTimer.watch(this.#decoder.midFrame, this.#frames !== framesBefore);
      this.#flush();
    } catch (error) {
      this.#lost(error);
    }
  }

  #onFrame(buf: Buffer, start: number, end: number): void {
    this.#frames++;
    const req = parseRequest(buf, this.#limits.maxJsonDepth, start, end);
    const hasId = req.id !== undefined;
    // Sent before any goaway reached the client: this request is run.
    const goneAway = this.#state === State.GoneAway;
    if (hasId && !this.#usedIds) {
      this.#usedIds = true;
      // Its first id arrived while draining: it can be told now.
      if (this.#state === State.Draining) this.#goAway();
    }
    if (isRejected(req)) return this.#answers.now(encodeError(req.fault, req.id), hasId);
    if (goneAway) return this.#answers.now(encodeError(UNAVAILABLE, req.id), hasId);
    const full = overLimit(this.#limits, this.#running, this.#activity.inflight);
    // Looked up only when full: rpc.health must answer precisely then.
    if (full !== null && this.#methods.get(req.method)?.unlimited !== true) return this.#answers.now(encodeError(full, req.id), hasId);

    const ctx = new RequestContext(req, this);
    const activity = this.#activity;
    const outcome = dispatch(this.#methods, req, ctx, activity);
    if (typeof outcome === "string") {
      ctx.done();
      activity.served++;
      this.#answers.now(outcome, hasId);
      return;
    }
    this.#running++;
    const slot = this.#answers.expect(hasId);
    const running = activity.begin(req.method, req.id);
    outcome.then((text) => {
      // A throw here would be an unhandled rejection, which ends the worker.
      try {
        ctx.done();
        activity.end(running);
        activity.served++;
        this.#running--;
        this.#answers.fill(slot, text);
        if (!this.#flushQueued) {
          this.#flushQueued = true;
          setImmediate(this.#flushLater);
        }
      } catch (error) {
        this.#lost(error);
      }
    }, this.#lost);
  }

  /** dispatch() never rejects and #onData never throws; if a bug made them, drop this connection, never the worker. */
  readonly #lost = (error: unknown): void => {
    log.error(`connection from ${this.peer.address}:${this.peer.port} dropped: ${describe(error)}`);
    this.#socket.destroy();
  };

  readonly #flushLater = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#answers.hasBatch && !this.#ended) {
      const texts = this.#answers.take();
      if (!this.#socket.destroyed) {
        this.#lastActivity = performance.now();
        // false: the client is not reading; stop reading its requests until it does.
        if (!this.#socket.write(encodeFrames(texts))) this.#backpressured = true;
      }
    }
    this.#tooManyOwed = this.#answers.owed >= (this.#tooManyOwed ? this.#limits.maxPipelined / 2 : this.#limits.maxPipelined);
    this.#updateReading();
    this.#closeIfIdle();
  }

  #onDrain(): void {
    this.#backpressured = false;
    this.#updateReading();
  }

  /** Pauses or resumes the socket to match why we may not read now. */
  #updateReading(): void {
    const pause = !this.#reading || this.#backpressured || this.#tooManyOwed;
    if (pause === this.#paused || this.#ended) return;
    this.#paused = pause;
    if (pause) {
      this.#socket.pause();
      // Time we chose not to read is not the client's slowness.
      this.#readTimer.stop();
    } else {
      this.#socket.resume();
      if (this.#decoder.midFrame) this.#readTimer.start(true);
    }
  }

  /** A framing fault: stop reading, answer it after everything owed, then close. */
  #fail(bad: Fault): void {
    this.#fatal = bad;
    this.#stopReading();
  }

  #stopReading(): void {
    this.#reading = false;
    this.#readTimer.stop();
    this.#updateReading();
  }

  #closeIfIdle(): void {
    if (this.#running > 0 || this.#ended || this.#socket.destroyed) return;
    const close =
      this.#fatal !== null ||
      this.#closeWhenIdle ||
      (this.#state === State.Draining && (this.#lingerOver || this.#quietEnough())) ||
      (this.#state === State.GoneAway && this.#lingerOver);
    if (!close) return;
    this.#ended = true;
    this.#reading = false;
    this.#readTimer.stop();
    // Whatever is still batched goes out first, then the fault, then our FIN.
    const texts = this.#answers.take();
    if (this.#fatal !== null) texts.push(encodeError(this.#fatal, undefined));
    if (texts.length > 0) this.#socket.end(encodeFrames(texts));
    else this.#socket.end();
    // A polite close keeps reading (and discarding) so the peer's FIN is
    // seen and the socket closes at once. After a fault the peer may still be
    // flooding us: it stays paused. Either way CLOSE_WAIT_MS is the limit.
    if (this.#fatal === null) this.#socket.resume();
    else this.#socket.pause();
    this.#closeWaitTimer = setTimeout(() => this.#socket.destroy(), CLOSE_WAIT_MS);
  }

  /**
   * Without ids a client cannot be told to go away, so a draining connection
   * closes only once it has been quiet for quietMs: a request already on its
   * way (a connection accepted just before the drain, a client that sends
   * again right after an answer) is read and answered instead of being met
   * by a closed socket. Arms a timer to look again when it is not yet quiet.
   */
  #quietEnough(): boolean {
    const quietFor = performance.now() - this.#lastActivity;
    if (quietFor >= this.#limits.quietMs) return true;
    this.#quietTimer ??= setTimeout(() => {
      this.#quietTimer = null;
      this.#closeIfIdle();
    }, this.#limits.quietMs - quietFor + 1);
    return false;
  }

  #onEnd(): void {
    // The client has finished sending: answer what is owed, then close our
    // side. Most clients that send FIN have closed for good, so handlers are
    // told (ctx.signal) they may stop; one that ignores it is still answered,
    // for the rare client that half-closes and waits.
    this.#clientGone();
    this.#closeWhenIdle = true;
    this.#flush();
  }

  #onClose(): void {
    this.#ended = true;
    this.#reading = false;
    this.#readTimer.stop();
    for (const timer of [this.#lingerTimer, this.#quietTimer, this.#closeWaitTimer]) if (timer !== null) clearTimeout(timer);
    this.#clientGone();
    this.#onClosed(this);
  }

  #clientGone(): void {
    this.#closed = true;
    for (const ctx of this.#watching) ctx.abort();
    this.#watching.clear();
  }

  /** Too slow to finish a frame: read nothing more, answer what is owed, close. */
  readonly #onReadTimeout = (): void => {
    if (!this.#decoder.midFrame || !this.#reading || this.#paused) return;
    this.#closeWhenIdle = true;
    this.#stopReading();
    this.#flush();
  };
}
