/**
 * The writing side of a connection: the answers it owes (answers.ts), their
 * batching into one write, and how much of them the client has not taken.
 *
 * "Not taken" is what the socket still holds (writableLength) plus the
 * answers ready or waiting behind a slow no-id request. Reading pauses while
 * the socket asks us to wait (past its high-water mark, as a 'drain' will
 * tell) and, inside one read, as soon as the answers it produced pass
 * maxWriteBufferBytes: a 64 KB read holds ~2,600 small requests, and one
 * whose answers are large (rpc.discover) would otherwise pile up hundreds of
 * MB before the first write. A client that takes nothing for writeTimeoutMs
 * while answers wait is cut off.
 */
import type { Socket } from "node:net";
import { encodeFrames } from "../protocol/frame.ts";
import { AnswerQueue } from "./answers.ts";

export interface OutputLimits {
  readonly maxWriteBufferBytes: number;
  readonly writeTimeoutMs: number;
}

/** Ready answers that leave at the end of the event rather than of the turn (see soon()). */
const FLUSH_NOW_CHARS = 16 * 1024;

export class Output {
  readonly answers = new AnswerQueue();
  readonly #socket: Socket;
  readonly #limits: OutputLimits;
  readonly #stalled: () => void;
  /** The connection's pass that writes what is ready and decides whether to read. */
  readonly #flush: () => void;
  #flushQueued = false;
  #flushNowQueued = false;
  /** Bytes handed to the socket so far; minus writableLength, what the kernel took. */
  #handed = 0;
  #takenAtCheck = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Room left, in this read, for answers before reading must stop (see budgetLeft). */
  #budget = 0;

  constructor(socket: Socket, limits: OutputLimits, stalled: () => void, flush: () => void) {
    this.#socket = socket;
    this.#limits = limits;
    this.#stalled = stalled;
    this.#flush = flush;
  }

  /**
   * A later answer is ready: flush soon. Small answers wait for the end of
   * the event-loop turn, so that those of many handlers leave in one write.
   * Once 16 K characters are ready (a write large enough that joining more
   * to it saves little: the socket's high-water mark on Node 20) they
   * leave at the end of this event: held through the turn's other reads
   * they survive scavenges, and at 512 connections with 16 KB answers from
   * async handlers that cost 0.65x the requests/s (bench/README.md).
   */
  soon(): void {
    if (this.answers.readyChars >= FLUSH_NOW_CHARS) {
      if (this.#flushNowQueued) return;
      this.#flushNowQueued = true;
      process.nextTick(this.#flushNow);
    } else if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(this.#flushLater);
    }
  }

  readonly #flushLater = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  readonly #flushNow = (): void => {
    this.#flushNowQueued = false;
    this.#flush();
  };

  /** Called before a read is handled: how much it may produce. */
  startRead(): void {
    this.#budget = this.#limits.maxWriteBufferBytes - this.#socket.writableLength;
  }

  /** Whether the answers produced so far leave room to handle another request. */
  get roomLeft(): boolean {
    return this.answers.heldChars < this.#budget;
  }

  /**
   * Whether reading must wait for the client: the socket asked for a
   * 'drain', or what it holds and what waits here pass the limit.
   */
  get full(): boolean {
    return this.#socket.writableNeedDrain || this.#socket.writableLength + this.answers.heldChars >= this.#limits.maxWriteBufferBytes;
  }

  /** Writes every ready answer (and `extra` after them) in one go; true if anything was written. */
  write(extra: string | null = null): boolean {
    const socket = this.#socket;
    if (!this.answers.hasBatch && extra === null) return false;
    const texts = this.answers.take();
    if (extra !== null) texts.push(extra);
    if (socket.destroyed || !socket.writable) return false;
    const bytes = encodeFrames(texts);
    this.#handed += bytes.length;
    if (!socket.write(bytes)) this.#watchProgress();
    return true;
  }

  /** Ends our side, after the ready answers and `last`. */
  end(last: string | null): void {
    const texts = this.answers.take();
    if (last !== null) texts.push(last);
    if (texts.length > 0) this.#socket.end(encodeFrames(texts));
    else this.#socket.end();
  }

  /** The socket emptied its buffer. */
  drained(): void {
    this.stop();
  }

  stop(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  /** The socket holds more than it wants: the client must take some within writeTimeoutMs. */
  #watchProgress(): void {
    if (this.#timer !== null || this.#limits.writeTimeoutMs <= 0) return;
    this.#takenAtCheck = this.#taken();
    this.#timer = setTimeout(this.#check, this.#limits.writeTimeoutMs);
  }

  #taken(): number {
    return this.#handed - this.#socket.writableLength;
  }

  readonly #check = (): void => {
    this.#timer = null;
    if (this.#socket.writableLength === 0) return;
    const taken = this.#taken();
    if (taken === this.#takenAtCheck) return this.#stalled();
    this.#takenAtCheck = taken;
    this.#timer = setTimeout(this.#check, this.#limits.writeTimeoutMs);
  };
}
