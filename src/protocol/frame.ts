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

/**
 * Receives one frame body as a range of a buffer: no view is created per
 * frame (each costs a typed-array allocation on the hot path). The range is
 * valid only during the call. Returning false stops the decoder after this
 * frame: the rest of the chunk is held, unread, until resume().
 */
export type FrameSink = (buf: Buffer, start: number, end: number) => boolean | void;

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #onFrame: FrameSink;
  /** Bytes of a prefix split across chunks. */
  readonly #prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  #prefixHave = 0;
  /**
   * A body split across chunks is assembled in a buffer that grows by
   * doubling as bytes arrive (0 length: none in progress). Memory follows
   * bytes received, never what the prefix claims (a 4-byte send cannot make
   * us allocate 1 MiB), nor the number of pieces (a body sent a byte at a
   * time costs its size, not a Buffer object per byte).
   */
  #body: Buffer | null = null;
  #bodyLength = 0;
  #bodyHave = 0;
  #fault: Fault | null = null;
  /** The unread rest of a chunk, after the sink asked to stop (null: none). */
  #held: Buffer | null = null;
  #heldAt = 0;
  #stopped = false;

  constructor(maxFrameBytes: number, onFrame: FrameSink) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#onFrame = onFrame;
  }

  /** True while part of a frame has been read and the rest has not. */
  get midFrame(): boolean {
    return this.#prefixHave > 0 || this.#bodyLength > 0;
  }

  /** True while the sink has stopped the decoder with part of a chunk unread. */
  get held(): boolean {
    return this.#held !== null;
  }

  /**
   * Feeds one chunk. Calls onFrame for every complete body, in order, until
   * the sink returns false. Returns a fault once the stream can no longer be
   * framed (and ignores all input after it); the frames before the fault
   * have been delivered. A chunk must not be pushed while one is held.
   */
  push(chunk: Buffer, from = 0): Fault | null {
    if (this.#fault !== null) return this.#fault;
    this.#stopped = false;
    let at = from;
    const end = chunk.length;
    if (this.#bodyLength > 0) at = this.#fillBody(chunk, at);
    while (at < end && !this.#stopped) {
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
        this.#stopped = this.#onFrame(chunk, at, at + length) === false;
        at += length;
      } else {
        this.#bodyLength = length;
        this.#bodyHave = 0;
        at = this.#fillBody(chunk, at);
      }
    }
    if (at < end) {
      this.#held = chunk;
      this.#heldAt = at;
    }
    return null;
  }

  /** Goes on with the held rest of a chunk, if any (same contract as push). */
  resume(): Fault | null {
    const chunk = this.#held;
    if (chunk === null) return this.#fault;
    this.#held = null;
    return this.push(chunk, this.#heldAt);
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
    const need = this.#bodyHave + take;
    let body = this.#body;
    if (body === null || body.length < need) {
      const grown = Buffer.allocUnsafe(Math.min(this.#bodyLength, Math.max(need, 2 * (body?.length ?? 0), MIN_BODY_BUFFER)));
      if (body !== null) body.copy(grown, 0, 0, this.#bodyHave);
      this.#body = body = grown;
    }
    chunk.copy(body, this.#bodyHave, at, at + take);
    this.#bodyHave = need;
    if (need === this.#bodyLength) {
      // The buffer never outgrows bodyLength, so it is now exactly the body.
      this.#body = null;
      this.#bodyLength = 0;
      this.#stopped = this.#onFrame(body, 0, need) === false;
    }
    return at + take;
  }
}

/** The first buffer for a split body (or the whole body, when smaller). */
const MIN_BODY_BUFFER = 16 * 1024;

/**
 * Encodes JSON texts as consecutive frames in one buffer, so a batch of
 * answers leaves in a single write.
 */
export function encodeFrames(texts: readonly string[]): Buffer {
  // Room for the worst case (3 bytes per UTF-16 unit) for small texts, so
  // they are encoded in one pass with no length pass first; large texts are
  // measured instead, so a 1 MB answer does not borrow 3 MB.
  let room = 0;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i] as string;
    room += PREFIX_BYTES + (text.length <= EXACT_ABOVE ? 3 * text.length : Buffer.byteLength(text));
  }
  const out = Buffer.allocUnsafe(room);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const written = out.write(texts[i] as string, at + PREFIX_BYTES);
    out.writeUInt32LE(written, at);
    at += PREFIX_BYTES + written;
  }
  return out.subarray(0, at);
}

const EXACT_ABOVE = 4096;
