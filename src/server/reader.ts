/**
 * The reading side of a connection: the socket's flow, the frame decoder and
 * the read timer, and the one set of reasons why we do not read right now.
 * Reading goes on only while the set is empty; a reason is added and removed
 * by whoever owns it, so no two conditions can undo each other's pause.
 */
import type { Socket } from "node:net";
import type { Fault } from "../protocol/codes.ts";
import { FrameDecoder, type FrameSink } from "../protocol/frame.ts";
import { ReadTimer } from "./read-timer.ts";

export const enum Pause {
  /** The client is not taking its answers (see output.ts). */
  Output = 1,
  /** The client owes us reads of more than maxPipelined answers. */
  Owed = 2,
  /** Reading has ended for good (the connection is finishing). */
  Ended = 4,
  /**
   * The answers of this read filled its room: the rest of the chunk waits
   * until they are written (the connection clears this after each write).
   */
  Held = 8,
}

export class Reader {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #timer: ReadTimer;
  readonly #fault: (fault: Fault) => void;
  #reasons = 0;
  /** Frames delivered so far: tells the read timer whether a frame began in this read. */
  #frames = 0;
  /** Chunks that arrived while part of an earlier one was held (normally none). */
  readonly #waiting: Buffer[] = [];

  constructor(socket: Socket, maxFrameBytes: number, readTimeoutMs: number, sink: FrameSink, fault: (fault: Fault) => void, timedOut: () => void) {
    this.#socket = socket;
    this.#fault = fault;
    this.#decoder = new FrameDecoder(maxFrameBytes, (buf, start, end) => {
      this.#frames++;
      return sink(buf, start, end);
    });
    this.#timer = new ReadTimer(readTimeoutMs, () => {
      // Time we chose not to read is not the client's slowness.
      if (this.#reasons === 0 && this.#decoder.midFrame) timedOut();
    });
  }

  get paused(): boolean {
    return this.#reasons !== 0;
  }

  has(reason: Pause): boolean {
    return (this.#reasons & reason) !== 0;
  }

  /** Feeds one chunk from the socket (dropped once reading has ended). */
  push(chunk: Buffer): void {
    if ((this.#reasons & Pause.Ended) !== 0) return;
    // A paused socket emits no data; should one still come while part of a
    // chunk is held, it waits its turn rather than overtake it.
    if (this.#decoder.held) {
      this.#waiting.push(chunk);
      return;
    }
    const before = this.#frames;
    this.#after(this.#decoder.push(chunk), before);
  }

  /** Adds (`on`) or removes a reason; pauses or resumes the socket when the set becomes non-empty or empty. */
  set(reason: Pause, on: boolean): void {
    const before = this.#reasons;
    const after = on ? before | reason : before & ~reason;
    if (after === before) return;
    this.#reasons = after;
    if (after !== 0 && before === 0) {
      this.#socket.pause();
      this.#timer.stop();
    } else if (after === 0) {
      // The rest of a chunk we stopped in the middle of comes first.
      if (!this.#catchUp()) return;
      this.#socket.resume();
      if (this.#decoder.midFrame) this.#timer.start(true);
    }
  }

  /** After the connection has sent its FIN: take the peer's bytes and drop them, so its FIN is seen. */
  discard(): void {
    this.#reasons |= Pause.Ended;
    this.#timer.stop();
    this.#socket.resume();
  }

  stop(): void {
    this.#timer.stop();
  }

  /** Reads what was held back; false if that paused us again. */
  #catchUp(): boolean {
    while (this.#reasons === 0 && (this.#decoder.held || this.#waiting.length > 0)) {
      const before = this.#frames;
      const bad = this.#decoder.held ? this.#decoder.resume() : this.#decoder.push(this.#waiting.shift() as Buffer);
      this.#after(bad, before);
    }
    return this.#reasons === 0;
  }

  #after(bad: Fault | null, framesBefore: number): void {
    if (bad !== null) return this.#fault(bad);
    if (this.#decoder.held) this.set(Pause.Held, true);
    if (this.#reasons === 0) this.#timer.watch(this.#decoder.midFrame, this.#frames !== framesBefore);
  }
}
