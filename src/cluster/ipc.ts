/**
 * The messages between the master and its workers: one table, namespaced
 * acts, dispatched through one function. Anything else on the channel is
 * not ours and is ignored.
 */
export interface ReadyMessage {
  readonly act: "forkrpc:ready";
  readonly host: string;
  readonly port: number;
  readonly methods: number;
}

export interface BootFailedMessage {
  readonly act: "forkrpc:boot-failed";
  readonly code: string;
  readonly message: string;
}

export interface DrainMessage {
  readonly act: "forkrpc:drain";
  readonly reason: string;
}

export type ToPrimary = ReadyMessage | BootFailedMessage;
export type ToWorker = DrainMessage;

type Handlers<M extends { act: string }> = { [A in M["act"]]: (msg: Extract<M, { act: A }>) => void };

/** Returns a listener that routes our messages to their handler. */
export function router<M extends { act: string }>(handlers: Handlers<M>): (msg: unknown) => void {
  return (msg) => {
    if (typeof msg !== "object" || msg === null) return;
    const act = (msg as { act?: unknown }).act;
    if (typeof act !== "string" || !Object.hasOwn(handlers, act)) return;
    (handlers as Record<string, (m: unknown) => void>)[act]?.(msg);
  };
}

/** Sends to the master, if there is one (there is none with --workers 0). */
export function toPrimary(msg: ToPrimary): void {
  process.send?.(msg);
}
