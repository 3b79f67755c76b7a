/**
 * One request over a fresh TLS connection, and what the handshake was:
 * resumed or not, the server's certificate, or why it failed. For tests of
 * config.tls; resolves (never rejects), with `error` when no answer came.
 */
import { connect, type ConnectionOptions } from "node:tls";
import { request } from "./wire.ts";

export interface TlsExchange {
  /** The first answer's JSON, if one came (an error: out "error", result { code, message }). */
  readonly answer?: { out: string; result?: any };
  /** Why there is no answer: the TLS error code, or "closed". */
  readonly error?: string;
  readonly reused: boolean;
  /** The server certificate's fingerprint256 ("" when the handshake failed). */
  readonly fingerprint: string;
  /** The session to offer next time (the latest ticket received). */
  readonly session?: Buffer;
}

export function tlsExchange(port: number, options: ConnectionOptions, method = "whoami", meta?: Record<string, unknown>, timeoutMs = 5_000): Promise<TlsExchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, servername: "localhost", ...options });
    let session: Buffer | undefined;
    let fingerprint = "";
    let data = Buffer.alloc(0);
    let settled = false;
    const done = (result: Omit<TlsExchange, "reused" | "fingerprint" | "session">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const reused = socket.isSessionReused();
      // Give a TLS 1.3 ticket, which follows the handshake, a moment to arrive before closing.
      setTimeout(() => {
        socket.destroy();
        resolve({ ...result, reused, fingerprint, ...(session === undefined ? {} : { session }) });
      }, result.answer === undefined ? 0 : 20);
    };
    const timer = setTimeout(() => done({ error: "timeout" }), timeoutMs);
    socket.on("session", (s: Buffer) => (session = s));
    socket.once("secureConnect", () => {
      fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? "";
      socket.write(request(method, null, meta === undefined ? {} : { meta }));
    });
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 4 || data.length < 4 + data.readUInt32LE(0)) return;
      done({ answer: JSON.parse(data.subarray(4, 4 + data.readUInt32LE(0)).toString("utf8")) });
    });
    socket.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    socket.on("close", () => done({ error: "closed" }));
  });
}
