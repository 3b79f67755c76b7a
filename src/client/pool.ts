/**
 * The client's connections: a fixed number of slots, each holding at most
 * one usable connection. A slot whose connection drops reconnects after a
 * backoff; one whose connection got a goaway opens a fresh one at once while
 * the old one finishes what it owes. Calls are the client's business: the
 * pool only tells it which calls came back unsent, lost, or answered.
 */
import { backoffDelay } from "./backoff.ts";
import type { CallHolder, PendingCall } from "./call.ts";
import { ClientConnection, type ConnectionEvents } from "./connection.ts";
import type { ResponseEnvelope } from "../protocol/client-envelope.ts";
import type { ResolvedOptions } from "./options.ts";

export interface PoolEvents {
  /** A connection opened: calls waiting for one can go. */
  ready(): void;
  answered(call: PendingCall, response: ResponseEnvelope, from: ClientConnection): void;
  /** Calls that never left their connection: safe to send anywhere. */
  unsent(calls: PendingCall[]): void;
  /** Calls written on a connection that died before answering them: they may have run. */
  lost(calls: PendingCall[], why: string, from: ClientConnection): void;
  /** A connection stopped taking calls: it got a goaway, or closed (before the calls it held are reported). */
  gone?(conn: ClientConnection): void;
}

/** Where the client sends calls: one pool (one server), or a set of them (balanced). */
export interface CallRouter {
  start(): void;
  pick(avoid: CallHolder | null): ClientConnection | null;
  readonly lastError: string;
  readonly stats: PoolStats;
  close(): Promise<void>;
  destroy(): void;
}

interface Slot {
  readonly index: number;
  conn: ClientConnection | null;
  /** Failed connects (or connections that died before any answer) in a row. */
  failures: number;
  timer: NodeJS.Timeout | null;
}

export interface PoolStats {
  /** Connections that can take calls now. */
  readonly open: number;
  /** Connections opened since the client started. */
  readonly opened: number;
  readonly goaways: number;
}

/**
 * The connection for the next call: the usable one with the fewest calls
 * outstanding (the first on a tie), preferring any other over `avoid` (the
 * one that just refused the call).
 */
export function leastBusy<C extends { readonly usable: boolean; readonly outstanding: number }>(
  candidates: readonly (C | null)[],
  avoid: C | null = null,
): C | null {
  let best: C | null = null;
  for (const c of candidates) {
    if (c === null || !c.usable || c === avoid) continue;
    if (best === null || c.outstanding < best.outstanding) best = c;
  }
  return best ?? (avoid !== null && avoid.usable ? avoid : null);
}

export class ConnectionPool implements CallRouter {
  readonly #options: ResolvedOptions;
  readonly #events: PoolEvents;
  readonly #slots: Slot[];
  /** slot i's connection, kept beside the slots so that picking allocates nothing. */
  readonly #conns: (ClientConnection | null)[];
  /** Connections that got a goaway, or that we are closing, not yet closed. */
  readonly #leaving = new Set<ClientConnection>();
  #started = false;
  #stopped = false;
  #lastError = "";
  #opened = 0;
  #goaways = 0;
  #allClosed: (() => void) | null = null;

  constructor(options: ResolvedOptions, events: PoolEvents) {
    this.#options = options;
    this.#events = events;
    this.#slots = Array.from({ length: options.connections }, (_, index) => ({ index, conn: null, failures: 0, timer: null }));
    this.#conns = this.#slots.map(() => null);
  }

  /** Opens the connections (on the first call that needs one). */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    for (const slot of this.#slots) this.#open(slot);
  }

  /** The connection for a call now, or null when none is usable (the call waits). */
  pick(avoid: CallHolder | null = null): ClientConnection | null {
    return leastBusy(this.#conns, avoid as ClientConnection | null);
  }

  /** A connection can take calls now. */
  get usable(): boolean {
    for (const conn of this.#conns) if (conn !== null && conn.usable) return true;
    return false;
  }

  /** Calls sent on the usable connections and not yet answered. */
  get outstanding(): number {
    let n = 0;
    for (const conn of this.#conns) if (conn !== null) n += conn.outstanding;
    return n;
  }

  /** Cuts every connection now (the host stopped answering): written calls are lost, the slots reconnect after a backoff. */
  reset(why: string): void {
    for (const conn of this.#connections()) conn.destroy(why);
  }

  /** Slots waiting out a reconnect backoff try now (the registry says a new server is at this address). */
  reconnectNow(): void {
    if (!this.#started || this.#stopped) return;
    for (const slot of this.#slots) {
      if (slot.timer === null) continue;
      clearTimeout(slot.timer);
      slot.failures = 0;
      this.#open(slot);
    }
  }

  /** Why the last connection closed or failed to open (for error messages). */
  get lastError(): string {
    return this.#lastError;
  }

  get stats(): PoolStats {
    return {
      open: this.#slots.filter((s) => s.conn !== null && s.conn.usable).length,
      opened: this.#opened,
      goaways: this.#goaways,
    };
  }

  /** Closes every connection gracefully (callers have nothing outstanding) and stops reconnecting. */
  close(): Promise<void> {
    this.#stop();
    const conns = this.#connections();
    if (conns.length === 0) return Promise.resolve();
    const closed = new Promise<void>((resolve) => (this.#allClosed = resolve));
    for (const conn of conns) conn.end();
    return closed;
  }

  destroy(): void {
    this.#stop();
    for (const conn of this.#connections()) conn.destroy("the client was destroyed");
  }

  #stop(): void {
    this.#stopped = true;
    for (const slot of this.#slots) {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.timer = null;
    }
  }

  #connections(): ClientConnection[] {
    const conns = [...this.#leaving];
    for (const slot of this.#slots) if (slot.conn !== null) conns.push(slot.conn);
    return conns;
  }

  #open(slot: Slot): void {
    slot.timer = null;
    if (this.#stopped) return;
    this.#setConn(slot, new ClientConnection(this.#options, this.#connectionEvents));
    this.#opened++;
  }

  /** Reconnects after the backoff for the slot's failures in a row (the first delay after a healthy connection). */
  #reopenLater(slot: Slot): void {
    if (this.#stopped) return;
    slot.timer = setTimeout(() => this.#open(slot), backoffDelay(slot.failures - 1, this.#options));
  }

  #setConn(slot: Slot, conn: ClientConnection | null): void {
    slot.conn = conn;
    this.#conns[slot.index] = conn;
  }

  #slotOf(conn: ClientConnection): Slot | undefined {
    return this.#slots.find((s) => s.conn === conn);
  }

  readonly #connectionEvents: ConnectionEvents = {
    opened: () => this.#events.ready(),
    answered: (conn, call, response) => this.#events.answered(call, response, conn),
    goaway: (conn, unsent) => {
      this.#goaways++;
      this.#events.gone?.(conn);
      const slot = this.#slotOf(conn);
      this.#leaving.add(conn);
      if (slot !== undefined) {
        this.#setConn(slot, null);
        // A replacement at once, unless the server sends goaways before answering anything (then back off, not spin).
        slot.failures = conn.healthy ? 0 : slot.failures + 1;
        if (slot.failures === 0) this.#open(slot);
        else this.#reopenLater(slot);
      }
      this.#events.unsent(unsent);
    },
    closed: (conn, why, unsent, written) => {
      this.#leaving.delete(conn);
      if (!this.#stopped) this.#events.gone?.(conn);
      const slot = this.#slotOf(conn);
      if (slot !== undefined) {
        this.#setConn(slot, null);
        this.#lastError = why;
        slot.failures = conn.healthy ? 0 : slot.failures + 1;
        this.#reopenLater(slot);
      }
      if (unsent.length > 0) this.#events.unsent(unsent);
      if (written.length > 0) this.#events.lost(written, why, conn);
      if (this.#stopped && this.#allClosed !== null && this.#connections().length === 0) this.#allClosed();
    },
  };
}
