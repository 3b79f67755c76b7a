/**
 * One load connection: keeps `pipeline` requests in flight, and whenever
 * answers arrive, sends as many again in one write. The request frames are
 * encoded once, at the start: without ids the same frame `pipeline` times
 * over (a write is a slice of that block), with ids one frame per slot (a
 * write copies the freed slots' frames into one buffer).
 *
 * Latency is from the write that carried a request to the read that brought
 * its answer, timed once per read.
 */
import type { Socket } from "node:net";
import type { ClientTlsOptions } from "../../client/options.ts";
import { connectWithin } from "../connect.ts";
import { encodeFrames, FrameDecoder } from "../../protocol/frame.ts";
import { ERROR, GOAWAY, inspect, quickId, quickKind, type Kind } from "./answer.ts";
import { ID_BASE } from "./messages.ts";
import { BAD_RESPONSE, type Tally } from "./tally.ts";

/** Largest answer accepted; a larger one breaks the connection (as in the C load generator). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export class LoadConnection {
  readonly #socket: Socket;
  readonly #tally: Tally;
  readonly #decoder: FrameDecoder;
  readonly #pipeline: number;
  readonly #ids: boolean;
  /** All request frames back to back, each #frameBytes long: slot i at i * #frameBytes. */
  readonly #block: Buffer;
  readonly #frameBytes: number;
  /** Without ids: send times in a ring, oldest at #head. With ids: by slot, -1 when the slot is free. */
  readonly #sentAt: Float64Array;
  #head = 0;
  #inflight = 0;
  /** With ids: slots answered since the last write. */
  readonly #freed: Int32Array;
  #freedCount = 0;
  /** Answers in the read being handled: without ids, that many requests go out again. */
  #answered = 0;
  #sending = false;
  #finished = false;
  #why = "";

  constructor(socket: Socket, tally: Tally, texts: readonly string[], pipeline: number, ids: boolean) {
    this.#socket = socket;
    this.#tally = tally;
    this.#pipeline = pipeline;
    this.#ids = ids;
    const frames = ids ? texts : Array.from({ length: pipeline }, () => texts[0] as string);
    this.#block = encodeFrames(frames);
    this.#frameBytes = this.#block.length / pipeline;
    if (!Number.isInteger(this.#frameBytes)) throw new Error("request frames must all have the same length");
    this.#sentAt = new Float64Array(pipeline).fill(-1);
    this.#freed = new Int32Array(pipeline);
    this.#decoder = new FrameDecoder(MAX_ANSWER_BYTES, (buf, start, end) => this.#onFrame(buf, start, end));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => this.#because("the server closed the connection"));
    socket.on("error", (error: Error) => this.#because(error.message));
    socket.on("close", () => this.#onClose());
  }

  /** Opens a connection, resolving once it is connected (with TLS: once the handshake is done). */
  static open(host: string, port: number, timeoutMs: number, tls?: ClientTlsOptions): Promise<Socket> {
    return connectWithin(host, port, timeoutMs, tls);
  }

  /** Sends the first `pipeline` requests. */
  start(now: number): void {
    this.#sending = true;
    this.#sentAt.fill(now);
    this.#inflight = this.#pipeline;
    this.#socket.write(this.#block);
  }

  /** Stops counting and sending, and cuts the connection (what is in flight is dropped, not counted). */
  finish(): void {
    this.#finished = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    const tally = this.#tally;
    const now = performance.now();
    if (this.#finished || now >= tally.endAt) return; // answers after the end are not counted
    tally.now = now;
    this.#answered = 0;
    const fault = this.#decoder.push(chunk);
    if (fault !== null) {
      tally.error(fault.code);
      this.#because(`${fault.code}: ${fault.message}`);
      this.#socket.destroy();
      return;
    }
    if (this.#answered === 0) return;
    tally.publish();
    if (!this.#sending) return;
    if (this.#ids) this.#resendFreed(now);
    else this.#resend(now);
  }

  #onFrame(buf: Buffer, start: number, end: number): void {
    let kind: Kind | -1 = quickKind(buf, start, end);
    let id = this.#ids && kind !== -1 && kind !== GOAWAY ? quickId(buf, start, end) : -1;
    let code = "";
    if (kind === -1 || kind === ERROR || (this.#ids && id === -1 && kind !== GOAWAY)) {
      const seen = inspect(buf, start, end);
      kind = seen.kind;
      id = seen.id;
      code = seen.code;
    }
    if (kind === GOAWAY) {
      // The server is going away: it answers what it has and closes; send nothing more here.
      this.#tally.goaways++;
      this.#sending = false;
      this.#because("the server sent goaway");
      return;
    }
    if (!this.#settle(id)) {
      this.#tally.error(BAD_RESPONSE); // an answer to nothing we have in flight
      return;
    }
    this.#answered++;
    if (kind === ERROR) this.#tally.error(code);
  }

  /** Records the answered request's latency and frees its place; false when nothing matches it. */
  #settle(id: number): boolean {
    if (!this.#ids) {
      if (this.#inflight === 0) return false;
      this.#tally.answer(this.#sentAt[this.#head] as number);
      if (++this.#head === this.#pipeline) this.#head = 0;
      this.#inflight--;
      return true;
    }
    const slot = id - ID_BASE;
    if (slot < 0 || slot >= this.#pipeline || (this.#sentAt[slot] as number) < 0) return false;
    this.#tally.answer(this.#sentAt[slot] as number);
    this.#sentAt[slot] = -1;
    this.#freed[this.#freedCount++] = slot;
    return true;
  }

  /** Without ids: as many requests as were answered, a slice of the block, one write. */
  #resend(now: number): void {
    const k = this.#pipeline - this.#inflight;
    if (k === 0) return;
    let at = this.#head + this.#inflight;
    for (let i = 0; i < k; i++, at++) this.#sentAt[at >= this.#pipeline ? at - this.#pipeline : at] = now;
    this.#inflight += k;
    this.#socket.write(k === this.#pipeline ? this.#block : this.#block.subarray(0, k * this.#frameBytes));
  }

  /** With ids: the freed slots' frames, copied into one buffer, one write. */
  #resendFreed(now: number): void {
    const k = this.#freedCount;
    if (k === 0) return;
    const size = this.#frameBytes;
    const out = Buffer.allocUnsafe(k * size);
    for (let i = 0; i < k; i++) {
      const slot = this.#freed[i] as number;
      this.#block.copy(out, i * size, slot * size, (slot + 1) * size);
      this.#sentAt[slot] = now;
    }
    this.#freedCount = 0;
    this.#socket.write(out);
  }

  #because(why: string): void {
    if (this.#why === "") this.#why = why;
  }

  #onClose(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (performance.now() < this.#tally.endAt) this.#tally.lost(this.#why || "the connection closed");
  }
}
