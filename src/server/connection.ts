/**
 * One client connection: bytes in, frames, requests, answers, bytes out.
 *
 * Four parts, each owning its own state: the Reader (socket flow, framing,
 * read timer, the set of reasons not to read), the Output (answers owed,
 * batched writes, what the client has not taken), the Requests (in-flight
 * limits, dispatch, slots held until handlers settle), and the lifecycle
 * (connection-state.ts: one state, one transition function). This file wires
 * them: it turns socket and timer events into lifecycle events and decides
 * when to read.
 *
 * Answers produced while handling one read, or completing in one turn of the
 * event loop, leave in a single write. Reading pauses while the client does
 * not take its answers, or owes us more than limits.maxPipelined of them.
 */
import type { Socket } from "node:net";
import { encodeError, encodeGoaway, isRejected, parseRequest } from "../protocol/envelope.ts";
import { fault, type Fault } from "../protocol/codes.ts";
import type { Logger } from "pino";
import type { Registry } from "../plugins/registry.ts";
import type { Peer } from "../request/context.ts";
import type { Activity } from "./activity.ts";
import type { RequestContext } from "../request/request-context.ts";
import { Requests, type RequestsOwner } from "./requests.ts";
import { Reader, Pause } from "./reader.ts";
import { Output, type OutputLimits } from "./output.ts";
import { mayClose, reads, State, transition, type Event } from "./connection-state.ts";
import type { InflightLimits } from "../middleware/limits.ts";
import { describe } from "../errors.ts";
import { log } from "../log.ts";
import { peerOf } from "./peer-tls.ts";

export interface ConnectionLimits extends InflightLimits, OutputLimits {
  readonly maxFrameBytes: number;
  readonly readTimeoutMs: number;
  readonly maxJsonDepth: number;
  readonly maxPipelined: number;
  readonly idleTimeoutMs: number;
  readonly goawayLingerMs: number;
  readonly quietMs: number;
}

/** How long a peer has to close its side after we closed ours. */
const CLOSE_WAIT_MS = 5_000;
const UNAVAILABLE = fault("UNAVAILABLE", "server is going away; the request was not run");

export class Connection implements RequestsOwner {
  readonly peer: Peer;
  readonly #socket: Socket;
  readonly #limits: ConnectionLimits;
  readonly #onClosed: (conn: Connection) => void;
  readonly #reader: Reader;
  readonly #requests: Requests;
  readonly #output: Output;
  readonly #answers: Output["answers"];
  /** Contexts whose handler asked for a signal and has not answered yet. */
  readonly #watching = new Set<RequestContext>();
  #state = State.Open;
  #leaveReason = "";
  /** Facts about the peer: it sent an id (it understands goaway), it has stopped sending. */
  #usedIds = false;
  #clientGone = false;
  /** A framing fault, answered once everything before it is answered. */
  #fatal: Fault | null = null;
  /** When bytes last came in or went out (the quiet period of a departure, the idle timeout, call durations). */
  #lastActivity = performance.now();
  #timer: NodeJS.Timeout | null = null;
  #lingerTimer: NodeJS.Timeout | null = null;

  readonly requestLog: Logger;

  constructor(socket: Socket, methods: Registry, limits: ConnectionLimits, activity: Activity, requestLog: Logger, onClosed: (conn: Connection) => void) {
    this.requestLog = requestLog;
    this.#socket = socket;
    this.#limits = limits;
    this.#onClosed = onClosed;
    this.peer = peerOf(socket);
    this.#output = new Output(socket, limits, this.#onStalled, () => this.#flush());
    this.#answers = this.#output.answers;
    this.#requests = new Requests(methods, limits, activity, this.#answers, this);
    this.#reader = new Reader(socket, limits.maxFrameBytes, limits.readTimeoutMs, this.#onFrame, this.#onFault, this.#onReadTimeout);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("drain", () => this.#onDrain());
    socket.on("end", () => this.#onEnd());
    socket.on("close", () => this.#onClose());
    // Errors (ECONNRESET, EPIPE) are followed by 'close'; that is where we clean up.
    socket.on("error", () => {});
    if (limits.idleTimeoutMs > 0) this.#armTimer(limits.idleTimeoutMs);
  }

  /** The client has gone (or half-closed): what a request's signal reports. */
  get clientGone(): boolean {
    return this.#clientGone;
  }

  /** Set at each read and write: during a read's handling, when it began. */
  get readAt(): number {
    return this.#lastActivity;
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
  leave(reason: string): void {
    if (this.#state !== State.Open) return;
    this.#leaveReason = reason;
    this.#apply({ type: "leave", usedIds: this.#usedIds });
  }

  /** Cuts the connection now, owed answers or not. */
  destroy(): void {
    this.#socket.destroy();
  }

  /** Feeds one event to the lifecycle and carries out what entering the new state means. */
  #apply(event: Event): void {
    const before = this.#state;
    const after = transition(before, event);
    if (after === before) return;
    this.#state = after;
    if (after === State.GoneAway) {
      this.#answers.notice(encodeGoaway(this.#leaveReason));
      // The client gets the whole linger from its goaway, however late in the departure.
      this.#startLinger();
    } else if (after === State.Departing) {
      this.#startLinger();
    } else if (after === State.Finishing) {
      this.#reader.set(Pause.Ended, true);
    }
    if (after !== State.Closed) this.#flush();
  }

  #startLinger(): void {
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = null;
      this.#apply({ type: "linger-over" });
    }, this.#limits.goawayLingerMs);
  }

  #onData(chunk: Buffer): void {
    this.#lastActivity = performance.now();
    try {
      this.#output.startRead();
      this.#reader.push(chunk);
      this.#flush();
    } catch (error) {
      this.lost(error);
    }
  }

  /** One frame; returns false when reading must stop (its answers filled this read's room). */
  readonly #onFrame = (buf: Buffer, start: number, end: number): boolean => {
    const req = parseRequest(buf, this.#limits.maxJsonDepth, start, end);
    const hasId = req.id !== undefined;
    // Sent before any goaway reached the client: this request is run.
    const goneAway = this.#state === State.GoneAway;
    if (hasId && !this.#usedIds) {
      this.#usedIds = true;
      // Its first id arrived while departing: it can be told now.
      this.#apply({ type: "first-id" });
    }
    if (isRejected(req)) this.#requests.refuse(req.fault, req.id, hasId);
    else if (goneAway) this.#requests.refuse(UNAVAILABLE, req.id, hasId);
    else this.#requests.run(req, hasId, end - start);
    return this.#output.roomLeft;
  };

  /** dispatch() never rejects and #onData never throws; if a bug made them, drop this connection, never the worker. */
  readonly lost = (error: unknown): void => {
    log.error(`connection from ${this.peer.address}:${this.peer.port} dropped: ${describe(error)}`);
    this.#socket.destroy();
  };

  answered(): void {
    this.#output.soon();
  }

  /**
   * Writes what is ready, decides whether to read, and closes if the state
   * says so. Resuming may read the rest of a chunk held back, whose answers
   * are written on the next pass.
   */
  #flush(): void {
    const limit = this.#limits.maxPipelined;
    do {
      if (this.#state >= State.Closing) return;
      if (this.#output.write()) this.#requests.written((this.#lastActivity = performance.now()));
      this.#output.startRead();
      this.#reader.set(Pause.Owed, this.#answers.owed >= (this.#reader.has(Pause.Owed) ? limit / 2 : limit));
      this.#reader.set(Pause.Output, this.#output.full);
      this.#reader.set(Pause.Held, false);
    } while (this.#answers.hasBatch);
    this.#closeIfIdle();
  }

  #onDrain(): void {
    this.#output.drained();
    this.#flush();
  }

  readonly #onFault = (bad: Fault): void => {
    this.#fatal = bad;
    this.#requests.faulted(bad.code);
    this.#apply({ type: "finish" });
  };

  /** Too slow to finish a frame: read nothing more, answer what is owed, close. */
  readonly #onReadTimeout = (): void => {
    if (reads(this.#state)) this.#apply({ type: "finish" });
  };

  /** The client has taken nothing for writeTimeoutMs while answers wait: it will not. */
  readonly #onStalled = (): void => {
    log.warn(`connection from ${this.peer.address}:${this.peer.port} closed: it read none of its answers for ${this.#limits.writeTimeoutMs} ms`);
    this.#socket.destroy();
  };

  #closeIfIdle(): void {
    if (this.#answers.owed > 0 || this.#state < State.Departing || this.#state >= State.Closing) return;
    if (!mayClose(this.#state, this.#state === State.Departing && this.#quietEnough())) return;
    this.#apply({ type: "idle" });
    // Whatever is still batched goes out first, then the fault, then our FIN.
    this.#output.end(this.#fatal === null ? null : encodeError(this.#fatal, undefined));
    // A polite close keeps reading (and discarding) so the peer's FIN is
    // seen and the socket closes at once. After a fault the peer may still be
    // flooding us: it stays paused. Either way CLOSE_WAIT_MS is the limit.
    if (this.#fatal === null) this.#reader.discard();
    this.#armTimer(CLOSE_WAIT_MS);
  }

  /**
   * Without ids a client cannot be told to go away, so a departing
   * connection closes only once it has been quiet for quietMs: a request
   * already on its way (a connection accepted just before the departure, a
   * client that sends again right after an answer) is read and answered
   * instead of being met by a closed socket. Arms the timer to look again
   * when it is not yet quiet.
   */
  #quietEnough(): boolean {
    const quietFor = performance.now() - this.#lastActivity;
    if (quietFor >= this.#limits.quietMs) return true;
    this.#armTimer(this.#limits.quietMs - quietFor + 1);
    return false;
  }

  /** The connection's one timer besides the linger: idle timeout, quiet check or close wait, by state. */
  #armTimer(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#onTimer, ms);
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    if (this.#state === State.Closing) return void this.#socket.destroy();
    if (this.#state !== State.Open) return this.#closeIfIdle();
    const idleMs = this.#limits.idleTimeoutMs;
    const quietFor = performance.now() - this.#lastActivity;
    if (quietFor >= idleMs && this.#answers.owed === 0) this.leave(`idle for ${idleMs} ms`);
    else this.#armTimer(Math.max(idleMs - quietFor, 1));
  };

  #onEnd(): void {
    // The client has finished sending: answer what is owed, then close our
    // side. Most clients that send FIN have closed for good, so handlers are
    // told (ctx.signal) they may stop; one that ignores it is still answered,
    // for the rare client that half-closes and waits.
    this.#goneClient();
    this.#apply({ type: "finish" });
  }

  #onClose(): void {
    this.#apply({ type: "closed" });
    this.#reader.stop();
    this.#output.stop();
    for (const timer of [this.#lingerTimer, this.#timer]) if (timer !== null) clearTimeout(timer);
    this.#goneClient();
    this.#onClosed(this);
  }

  #goneClient(): void {
    this.#clientGone = true;
    for (const ctx of this.#watching) ctx.abort();
    this.#watching.clear();
  }
}
