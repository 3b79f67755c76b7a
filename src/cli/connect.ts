/**
 * Opens one connection for a command (`forkrpc bench`, the reachability
 * probe of call and list): resolves with the socket once it is connected,
 * with TLS once the handshake is done, or rejects with why not. RpcClient's
 * connections (client/connection.ts) keep their own state machine instead:
 * they reconnect, and a timeout there is an event, not a rejection.
 */
import { connect, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import type { ClientTlsOptions } from "../client/options.ts";

export function connectWithin(host: string, port: number, timeoutMs: number, tls?: ClientTlsOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tls === undefined ? connect({ host, port, noDelay: true }) : connectTls({ ...tls, host, port }).setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to connect within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(tls === undefined ? "connect" : "secureConnect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}
