/**
 * Length-prefixed framing: a 4-byte unsigned little-endian length N, then N bytes.
 *
 * The decoder is fed chunks exactly as the socket delivers them. A body that
 * arrives whole inside one chunk is handed out as a view of that chunk (no
 * copy); only a body split across chunks is assembled, once, into a buffer of
 * its exact size when its last byte arrives, so never more than maxFrameBytes
 * is held for one frame, nor more than has actually been received.
 */
import type { Fault } from "./codes.ts";

export const PREFIX_BYTES = 4;

export type FrameSink = (body: Buffer) => void;

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #onFrame: FrameSink;
  /** Bytes of a prefix split across chunks. */
  readonly #prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  #prefixHave = 0;
  /**
   * The pieces of a body split across chunks, and its announced length
   * (0: none in progress). Memory grows with bytes received, never with
   * what the prefix claims: a 4-byte send cannot make us allocate 1 MiB.
   */
  #parts: Buffer[] = [];
  #bodyLength = 0;
  #bodyHave = 0;
  #fault: Fault | null = null;

  constructor(maxFrameBytes: number, onFrame: FrameSink) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#onFrame = onFrame;
  }

  /** True while part of a frame has been read and the rest has not. */
  get midFrame(): boolean {
    return this.#prefixHave > 0 || this.#bodyLength > 0;
  }

  /**
   * Feeds one chunk. Calls onFrame for every complete body, in order. Returns
   * a fault once the stream can no longer be framed (and ignores all input
   * after it); the frames before the fault have been delivered.
   */
  push(chunk: Buffer): Fault | null {
    if (this.#fault !== null) return this.#fault;
    let at = 0;
    const end = chunk.length;
    if (this.#bodyLength > 0) at = this.#fillBody(chunk, 0);
    while (at < end) {
      let length: number;
      if (this.#prefixHave === 0 && end - at >= PREFIX_BYTES) {
        length = chunk.readUInt32LE(at);
        at += PREFIX_BYTES;
      } else {
        const take = Math.min(PREFIX_BYTES - this.#prefixHave, end - at);
        chunk.copy(this.#prefix, this.#prefixHave, at, at + take);
        this.#prefixHave += take;
        at += take;
        if (this.#prefixHave < PREFIX_BYTES) break;
        this.#prefixHave = 0;
        length = this.#prefix.readUInt32LE(0);
      }
      const bad = this.#check(length);
      if (bad !== null) return bad;
      if (end - at >= length) {
        this.#onFrame(chunk.subarray(at, at + length));
        at += length;
      } else {
        this.#bodyLength = length;
        this.#bodyHave = 0;
        at = this.#fillBody(chunk, at);
      }
    }
    return null;
  }

  #check(length: number): Fault | null {
    if (length === 0) {
      this.#fault = { code: "BAD_FRAME", message: "frame length prefix is 0" };
    } else if (length > this.#maxFrameBytes) {
      this.#fault = {
        code: "FRAME_TOO_LARGE",
        message: `frame of ${length} bytes is larger than maxFrameBytes (${this.#maxFrameBytes})`,
      };
    }
    return this.#fault;
  }

  #fillBody(chunk: Buffer, at: number): number {
    const take = Math.min(this.#bodyLength - this.#bodyHave, chunk.length - at);
    this.#parts.push(at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take));
    this.#bodyHave += take;
    if (this.#bodyHave === this.#bodyLength) {
      // One copy, into a buffer of the body's exact size.
      const body = Buffer.concat(this.#parts, this.#bodyLength);
      this.#parts = [];
      this.#bodyLength = 0;
      this.#onFrame(body);
    }
    return at + take;
  }
}

/**
 * Encodes JSON texts as consecutive frames in one buffer, so a batch of
 * answers leaves in a single write.
 */
export function encodeFrames(texts: readonly string[]): Buffer {
  let total = 0;
  const lengths = new Array<number>(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const n = Buffer.byteLength(texts[i] as string);
    lengths[i] = n;
    total += PREFIX_BYTES + n;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    out.writeUInt32LE(lengths[i] as number, at);
    at += PREFIX_BYTES;
    at += out.write(texts[i] as string, at);
  }
  return out;
}

/** Encodes one JSON text as one frame. */
export function encodeFrame(text: string): Buffer {
  return encodeFrames([text]);
}
