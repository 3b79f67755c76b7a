import { singleton } from "forkrpc";

/** Who called what, counted per method: read back by the `audit` method. */
@singleton()
export class AuditLog {
  readonly #calls = new Map<string, number>();

  record(method: string): void {
    this.#calls.set(method, (this.#calls.get(method) ?? 0) + 1);
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.#calls);
  }
}
