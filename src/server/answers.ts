/**
 * The answers a connection owes, in the order they must leave.
 *
 * Answers to requests without an id leave in arrival order: while an
 * earlier one is still running, later ones wait in a FIFO of slots (only
 * then is a slot allocated). Answers to requests with an id leave as soon
 * as they are ready. A notice (goaway) waits behind owed no-id answers, so a
 * client reading those in order does not take it for one of them. Ready
 * texts gather in a batch that the connection writes in one go. The queue
 * counts the characters of every text it holds (ready or waiting in the
 * FIFO), since those are what a client that does not read makes us keep.
 */

/** A place in the answer order of a request without an id. */
export interface Slot {
  text: string | undefined;
}

/** Released slots are dropped from the front once this many have piled up. */
const COMPACT_AFTER = 1024;

export class AnswerQueue {
  /**
   * Made at the first ready text and handed over whole by take(), never
   * reused: an empty array kept between requests grows old (a round trip at
   * 512 connections outlasts two scavenges), and a dead old array still
   * pointing at the texts it held makes the next scavenge keep them. With a
   * 16 KB answer that kept ~3.6 MB alive per scavenge (12 ms each instead of
   * 1.5) and cost 0.6x the requests/s of a server that makes its array per
   * read (bench/README.md).
   */
  #batch: string[] | null = null;
  /** Texts in #batch that answer a request (the rest are notices). */
  #batchAnswers = 0;
  #fifo: Slot[] = [];
  #head = 0;
  /** Requests received whose answers have not been taken for writing. */
  #owed = 0;
  /** Characters of the texts held (batch and waiting slots): the answers' size, to a factor of 3 for non-ASCII. */
  #heldChars = 0;
  #batchChars = 0;

  /** Requests received and not yet answered on the wire. */
  get owed(): number {
    return this.#owed;
  }

  /** Characters of the answers held, ready or waiting. */
  get heldChars(): number {
    return this.#heldChars;
  }

  /** Characters of the answers ready to be written now. */
  get readyChars(): number {
    return this.#batchChars;
  }

  get hasBatch(): boolean {
    return this.#batch !== null;
  }

  /** An answer that is ready now (sync handler, rejected request). */
  now(text: string, hasId: boolean): void {
    this.#owed++;
    this.#place(text, hasId, true);
  }

  /** A request that will be answered later; no-id requests get their slot now. */
  expect(hasId: boolean): Slot | null {
    this.#owed++;
    if (hasId) return null;
    const slot: Slot = { text: undefined };
    this.#fifo.push(slot);
    return slot;
  }

  /** The later answer of a request: its slot (no id) or null (id). */
  fill(slot: Slot | null, text: string): void {
    this.#heldChars += text.length;
    if (slot === null) return this.#ready(text, true);
    slot.text = text;
    this.#release();
  }

  /** A message that answers no request (goaway), behind owed no-id answers. */
  notice(text: string): void {
    this.#place(text, false, false);
  }

  /** Everything ready to write, in order; the queue forgets it. */
  take(): string[] {
    const batch = this.#batch ?? [];
    this.#owed -= this.#batchAnswers;
    this.#heldChars -= this.#batchChars;
    this.#batch = null;
    this.#batchAnswers = 0;
    this.#batchChars = 0;
    return batch;
  }

  #place(text: string, hasId: boolean, answer: boolean): void {
    this.#heldChars += text.length;
    if (hasId || this.#head === this.#fifo.length) {
      this.#ready(text, answer);
    } else {
      // Waits behind a running no-id request. A notice's slot counts as no answer.
      const slot: Slot & { notice?: true } = { text };
      if (!answer) slot.notice = true;
      this.#fifo.push(slot);
    }
  }

  /** A text that can leave now; heldChars already counts it. */
  #ready(text: string, answer: boolean): void {
    if (this.#batch === null) this.#batch = [text];
    else this.#batch.push(text);
    this.#batchChars += text.length;
    if (answer) this.#batchAnswers++;
  }

  #release(): void {
    const fifo = this.#fifo;
    while (this.#head < fifo.length) {
      const slot = fifo[this.#head] as Slot & { notice?: true };
      if (slot.text === undefined) break;
      this.#ready(slot.text, slot.notice !== true);
      this.#head++;
    }
    if (this.#head === fifo.length) {
      fifo.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= fifo.length) {
      // A connection that always has one slow request outstanding would
      // otherwise keep every answer it ever sent.
      this.#fifo = fifo.slice(this.#head);
      this.#head = 0;
    }
  }
}
