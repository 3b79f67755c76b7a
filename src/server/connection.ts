/**
 * One client connection: bytes in, frames, requests, answers, bytes out.
 *
 * Ordering: answers to requests without an id leave in arrival order (a
 * FIFO of slots, used only while an earlier one is still running); answers
 * to requests with an id leave as soon as they are ready.
 * Writes: answers produced while handling one read, or completing in one
 * turn of the event loop, leave together in a single write.
 */
import type { Socket } from "node:net";
import { encodeFrames, FrameDecoder } from "../protocol/frame.ts";
import {
  encodeError,
  encodeGoaway,
  isRejected,
  parseRequest,
  type RequestEnvelope,
  type RequestId,
} from "../protocol/envelope.ts";
import type { Fault } from "../protocol/codes.ts";
import type { Registry } from "../plugins/registry.ts";
import type { Peer, RpcContext } from "./context.ts";
import type { Activity } from "./activity.ts";
import { dispatch } from "./dispatch.ts";
import { describe } from "../errors.ts";
import { log } from "../log.ts";

export interface ConnectionLimits {
  readonly maxFrameBytes: number;
  readonly readTimeoutMs: number;
  readonly maxJsonDepth: number;
  readonly goawayLingerMs: number;
  readonly quietMs: number;
}

const CLOSED = new DOMException("the client closed the connection", "AbortError");

/** How long a peer has to close its side after we closed ours. */
const CLOSE_WAIT_MS = 5_000;

/** A place in the answer order of requests without an id. */
interface Slot {
  text: string | undefined;
}

const enum State {
  Open,
  /** Going away: answer what was received, close when nothing is owed. */
  Draining,
  /** A goaway was sent: new requests are answered UNAVAILABLE. */
  GoneAway,
}

class RequestContext implements RpcContext {
  readonly method: string;
  readonly id: RequestId | undefined;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly #conn: Connection;
  constructor(req: RequestEnvelope, conn: Connection) {
    this.method = req.method;
    this.id = req.id;
    this.meta = req.meta;
    this.#conn = conn;
  }
  get peer(): Peer {
    return this.#conn.peer;
  }
  get signal(): AbortSignal {
    return this.#conn.signal;
  }
}

export class Connection {
  readonly peer: Peer;
  readonly #socket: Socket;
  readonly #methods: Registry;
  readonly #limits: ConnectionLimits;
  readonly #decoder: FrameDecoder;
  readonly #onClosed: (conn: Connection) => void;
  readonly #activity: Activity;
  #batch: string[] = [];
  #flushQueued = false;
  readonly #fifo: Slot[] = [];
  #fifoHead = 0;
  #inflight = 0;
  #usedIds = false;
  #state = State.Open;
  /** False once nothing more is read: after a framing fault, a read timeout or our end. */
  #reading = true;
  /** Close as soon as nothing is owed (the client ended, or a read timed out). */
  #closeWhenIdle = false;
  #ended = false;
  /** The client has closed (FIN or gone): a signal first asked for now starts aborted. */
  #closed = false;
  /** A framing fault to answer once everything before it is answered. */
  #fatal: Fault | null = null;
  #abort: AbortController | null = null;
  #frames = 0;
  #partialSince = 0;
  #readTimer: NodeJS.Timeout | null = null;
  #lingerTimer: NodeJS.Timeout | null = null;
  /** When bytes last came in or went out (for the quiet period of a drain). */
  #lastActivity = performance.now();
  #quietTimer: NodeJS.Timeout | null = null;
  #backpressured = false;

  constructor(
    socket: Socket,
    methods: Registry,
    limits: ConnectionLimits,
    activity: Activity,
    onClosed: (conn: Connection) => void,
  ) {
    this.#socket = socket;
    this.#activity = activity;
    this.#methods = methods;
    this.#limits = limits;
    this.#onClosed = onClosed;
    this.peer = { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    this.#decoder = new FrameDecoder(limits.maxFrameBytes, (buf, start, end) => this.#onFrame(buf, start, end));
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("drain", () => this.#onDrain());
    socket.on("end", () => this.#onEnd());
    socket.on("close", () => this.#onClose());
    // Errors (ECONNRESET, EPIPE) are followed by 'close'; that is where we clean up.
    socket.on("error", () => {});
  }

  /** Aborted when the connection closes. Created on first use (already aborted if closed). */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#closed) this.#abort.abort(CLOSED);
    }
    return this.#abort.signal;
  }

  /** Requests received and not yet answered. */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Starts going away: answer every request already received, then close
   * at a moment when nothing is owed. A connection that used ids is told
   * first with a goaway, and requests after it are answered UNAVAILABLE.
   */
  drain(reason: string): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Draining;
    if (this.#usedIds) {
      this.#state = State.GoneAway;
      this.#batch.push(encodeGoaway(reason));
      this.#lingerTimer = setTimeout(() => {
        this.#lingerTimer = null;
        this.#closeIfIdle();
      }, this.#limits.goawayLingerMs);
    }
    this.#flush();
  }

  /** Cuts the connection now, owed answers or not. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (!this.#reading) return;
    this.#lastActivity = performance.now();
    try {
      const framesBefore = this.#frames;
      const fault = this.#decoder.push(chunk);
      if (fault !== null) this.#fail(fault);
      else this.#watchPartialFrame(framesBefore);
      this.#flush();
    } catch (error) {
      // Only a bug of ours lands here: lose this connection, not the worker.
      log.error(`connection from ${this.peer.address}:${this.peer.port} dropped: ${describe(error)}`);
      this.#socket.destroy();
    }
  }

  #onFrame(buf: Buffer, start: number, end: number): void {
    this.#frames++;
    const req = parseRequest(buf, this.#limits.maxJsonDepth, start, end);
    if (isRejected(req)) {
      if (req.id !== undefined) this.#usedIds = true;
      this.#answer(encodeError(req.fault, req.id), req.id);
      return;
    }
    if (req.id !== undefined) this.#usedIds = true;
    if (this.#state === State.GoneAway) {
      const unavailable = { code: "UNAVAILABLE", message: "server is going away; the request was not run" };
      this.#answer(encodeError(unavailable, req.id), req.id);
      return;
    }
    const activity = this.#activity;
    const outcome = dispatch(this.#methods, req, new RequestContext(req, this), activity);
    if (typeof outcome === "string") {
      this.#answer(outcome, req.id);
      return;
    }
    this.#inflight++;
    const running = activity.begin(req.method, req.id);
    if (req.id !== undefined) {
      outcome.then((text) => {
        activity.end(running);
        this.#answerLater(text);
      }, this.#lost);
    } else {
      const slot: Slot = { text: undefined };
      this.#fifo.push(slot);
      outcome.then((text) => {
        activity.end(running);
        slot.text = text;
        this.#answerLater(undefined);
      }, this.#lost);
    }
  }

  /** Queues an answer produced synchronously. */
  #answer(text: string, id: RequestId | undefined): void {
    this.#activity.served++;
    if (id !== undefined || this.#fifoHead === this.#fifo.length) this.#batch.push(text);
    else this.#fifo.push({ text });
  }

  /** Takes an asynchronous answer (text for id requests; undefined when a slot was filled). */
  #answerLater(text: string | undefined): void {
    this.#inflight--;
    this.#activity.served++;
    if (text !== undefined) this.#batch.push(text);
    else this.#releaseSlots();
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(this.#flushLater);
    }
  }

  #releaseSlots(): void {
    const fifo = this.#fifo;
    while (this.#fifoHead < fifo.length) {
      const slot = fifo[this.#fifoHead] as Slot;
      if (slot.text === undefined) break;
      this.#batch.push(slot.text);
      this.#fifoHead++;
    }
    if (this.#fifoHead === fifo.length) {
      fifo.length = 0;
      this.#fifoHead = 0;
    }
  }

  /** dispatch() never rejects; if a bug made it, drop this connection, never the worker. */
  readonly #lost = (error: unknown): void => {
    log.error(`connection from ${this.peer.address}:${this.peer.port} dropped: ${describe(error)}`);
    this.#socket.destroy();
  };

  readonly #flushLater = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#batch.length > 0) {
      const batch = this.#batch;
      this.#batch = [];
      if (!this.#socket.destroyed) {
        this.#lastActivity = performance.now();
        const ok = this.#socket.write(encodeFrames(batch));
        if (!ok && !this.#backpressured) {
          // The client is not reading: stop reading its requests until it does.
          this.#backpressured = true;
          this.#socket.pause();
        }
      }
    }
    this.#closeIfIdle();
  }

  #onDrain(): void {
    if (!this.#backpressured) return;
    this.#backpressured = false;
    if (this.#reading) this.#socket.resume();
  }

  /** A framing fault: stop reading, answer it after everything owed, then close. */
  #fail(fault: Fault): void {
    this.#fatal = fault;
    this.#stopReading();
  }

  #stopReading(): void {
    this.#reading = false;
    this.#stopReadTimer();
    this.#socket.pause();
  }

  #closeIfIdle(): void {
    if (this.#inflight > 0 || this.#ended || this.#socket.destroyed) return;
    const close =
      this.#fatal !== null ||
      this.#closeWhenIdle ||
      (this.#state === State.Draining && this.#quietEnough()) ||
      (this.#state === State.GoneAway && this.#lingerTimer === null);
    if (!close) return;
    this.#ended = true;
    this.#stopReading();
    if (this.#fatal === null) {
      this.#socket.end();
      // A polite close: keep reading (and discarding) so the peer's FIN is
      // seen and the socket closes at once. After a fault the peer may still
      // be flooding us: stay paused and let CLOSE_WAIT_MS end it.
      this.#socket.resume();
    } else {
      this.#socket.end(encodeFrames([encodeError(this.#fatal, undefined)]));
    }
    // One that never closes its side is cut after CLOSE_WAIT_MS.
    setTimeout(() => this.#socket.destroy(), CLOSE_WAIT_MS).unref();
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
    if (this.#quietTimer === null) {
      this.#quietTimer = setTimeout(() => {
        this.#quietTimer = null;
        this.#closeIfIdle();
      }, this.#limits.quietMs - quietFor + 1);
    }
    return false;
  }

  #onEnd(): void {
    // The client has finished sending: answer what is owed, then close our
    // side. Most clients that send FIN have closed for good, so handlers are
    // told (ctx.signal) they may stop; one that ignores it is still answered,
    // for the rare client that half-closes and waits.
    this.#closed = true;
    this.#abort?.abort(CLOSED);
    this.#closeWhenIdle = true;
    this.#closeIfIdle();
  }

  #onClose(): void {
    this.#ended = true;
    this.#reading = false;
    this.#stopReadTimer();
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    if (this.#quietTimer !== null) clearTimeout(this.#quietTimer);
    this.#closed = true;
    this.#abort?.abort(CLOSED);
    this.#onClosed(this);
  }

  /** Arms the read timeout while a frame is partly received. */
  #watchPartialFrame(framesBefore: number): void {
    if (!this.#decoder.midFrame) {
      this.#partialSince = 0;
      return;
    }
    if (this.#partialSince === 0 || this.#frames !== framesBefore) this.#partialSince = performance.now();
    this.#readTimer ??= setTimeout(this.#onReadTimeout, this.#limits.readTimeoutMs);
  }

  readonly #onReadTimeout = (): void => {
    this.#readTimer = null;
    if (!this.#decoder.midFrame || !this.#reading) return;
    const waited = performance.now() - this.#partialSince;
    if (waited >= this.#limits.readTimeoutMs) {
      // Too slow to finish a frame: read nothing more, answer what is owed, close.
      this.#closeWhenIdle = true;
      this.#stopReading();
      this.#closeIfIdle();
    } else {
      this.#readTimer = setTimeout(this.#onReadTimeout, this.#limits.readTimeoutMs - waited);
    }
  };

  #stopReadTimer(): void {
    if (this.#readTimer !== null) {
      clearTimeout(this.#readTimer);
      this.#readTimer = null;
    }
  }
}
