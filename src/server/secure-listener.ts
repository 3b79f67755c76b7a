/**
 * The TLS side of a worker's listener: a tls.Server on the same shared
 * socket (tls.Server is a net.Server, so the cluster shares it alike), its
 * certificate swapped without a restart, and the session-ticket keys the
 * master hands every worker, so that a ticket one worker issued resumes on
 * any other (each worker would otherwise make its own: nodejs/node #20908).
 *
 * A failed handshake (a plaintext client, a refused certificate, a client
 * that never finishes within the read timeout) is counted and logged at
 * most once a second; Node has already destroyed that socket, and nothing
 * of it reached a Connection.
 */
import { createServer, type Server, type TLSSocket } from "node:tls";
import { describe } from "../errors.ts";
import { log } from "../log.ts";
import { loadTlsMaterial, secureContextOptions, tlsServerOptions, type TlsConfig, type TlsMaterial } from "./tls.ts";

const HANDSHAKE_LOG_EVERY_MS = 1_000;

export class SecureListener {
  readonly server: Server;
  #config: TlsConfig;
  #ticketKeys: Buffer | undefined;
  /** Handshakes that failed (plaintext, refused certificate, timeout). */
  failed = 0;
  #loggedAt = Number.NEGATIVE_INFINITY;

  constructor(material: TlsMaterial, config: TlsConfig, handshakeTimeoutMs: number, onConnection: (socket: TLSSocket) => void) {
    this.#config = config;
    // allowHalfOpen: a client may finish sending and still wait for its answers.
    this.server = createServer({ ...tlsServerOptions(material, config, handshakeTimeoutMs), allowHalfOpen: true, noDelay: true }, onConnection);
    this.server.on("tlsClientError", (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      this.failed++;
      // Before destroy(): a closed socket no longer knows its peer's address.
      const address = socket.remoteAddress ?? "?";
      socket.destroy();
      const now = performance.now();
      if (now - this.#loggedAt < HANDSHAKE_LOG_EVERY_MS) return;
      this.#loggedAt = now;
      log.warn(`tls: handshake with ${address} failed (${error.code ?? error.message}); ${this.failed} so far`);
    });
  }

  /** The master's keys (48 bytes); kept so that a certificate reload does not drop them. */
  setTicketKeys(keys: Buffer): void {
    this.#ticketKeys = keys;
    this.server.setTicketKeys(keys);
  }

  /**
   * Reads config.tls's files again; new handshakes use them, connections
   * open keep theirs. A bad file is refused with one log line and the
   * current certificate stays. Returns whether the new one was taken.
   */
  reload(config: TlsConfig = this.#config, why = "reload"): boolean {
    let material: TlsMaterial;
    try {
      material = loadTlsMaterial(config);
    } catch (error) {
      const code = (error as { code?: string }).code;
      log.error(`tls: ${why}: new certificate refused, the current one stays: ${code === undefined ? describe(error) : `${code}: ${(error as Error).message}`}`);
      return false;
    }
    const options = secureContextOptions(material, config);
    try {
      this.server.setSecureContext(this.#ticketKeys === undefined ? options : { ...options, ticketKeys: this.#ticketKeys });
    } catch (error) {
      // Called from an IPC message or a file watch: a throw here would end the worker.
      log.error(`tls: ${why}: new certificate refused, the current one stays: ${describe(error)}`);
      return false;
    }
    this.#config = config;
    log.info(`tls: ${why}: new handshakes use the certificate in ${config.cert}`);
    return true;
  }
}
