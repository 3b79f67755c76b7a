/**
 * The server a client command talks to: --host and --port, and a quick
 * check that something listens there, so that a stopped server is reported
 * at once and plainly instead of as a timeout.
 */
import { connect } from "node:net";
import { intFlag } from "./args.ts";

export const TARGET_FLAGS = {
  host: { type: "string" },
  port: { type: "string", short: "p" },
} as const;

export const TARGET_USAGE = `  --host         server address (default 127.0.0.1)
  --port, -p     server port (default 8080)`;

export interface Target {
  readonly host: string;
  readonly port: number;
}

export function targetFrom(values: { host?: unknown; port?: unknown }): Target {
  return {
    host: (values.host as string | undefined) ?? "127.0.0.1",
    port: intFlag("port", values.port as string | undefined, 1, 65535) ?? 8080,
  };
}

/** What to tell a user whose server cannot be reached. */
export function unreachable(target: Target, why: string): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  const hint = /ECONNREFUSED/.test(why) ? ": nothing listens there (is the server running? forkrpc serve)" : `: ${why}`;
  return `forkrpc: cannot connect to ${host}:${target.port}${hint}`;
}

/**
 * Opens and closes one connection; resolves with null when it opened, or
 * with why it did not. (RpcClient keeps reconnecting until the call's
 * deadline, which is right for a long-lived client and slow for a command.)
 */
export function probe(target: Target, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => done(`no answer to connect within ${timeoutMs} ms`), timeoutMs);
    const done = (why: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    socket.once("connect", () => done(null));
    socket.once("error", (error) => done(error.message));
  });
}
