/**
 * The calls waiting for a handler thread, first in first out, and the rule
 * that admits one. A waiting call can leave from anywhere in the queue (its
 * deadline passed or its client left), so this is an array, not a ring: it
 * holds threads.maxQueue calls (16 by default), and splice on 16 is cheap.
 */
export class TaskQueue<T> {
  readonly #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    return this.#items.shift();
  }

  /** Takes `item` out wherever it is; false when it was not queued (already running, or gone). */
  remove(item: T): boolean {
    const at = this.#items.indexOf(item);
    if (at === -1) return false;
    this.#items.splice(at, 1);
    return true;
  }

  /** Empties the queue, returning what was in it. */
  drain(): T[] {
    return this.#items.splice(0);
  }
}

/**
 * Whether one more call may wait. Threads that are starting will each take
 * one waiting call as soon as they are ready, so those calls are not counted
 * against maxQueue: with maxQueue 0 a call still waits for a thread that is
 * being started for it (after an idle stop, or a replacement).
 */
export function admits(queued: number, maxQueue: number, starting: number): boolean {
  return queued < maxQueue + starting;
}
