import type { Logger } from "pino";
import type { RequestId } from "../protocol/envelope.ts";

/** Where a request came from. */
export interface Peer {
  readonly address: string;
  readonly port: number;
  /** Present when the connection is TLS (config.tls): the handshake's outcome and the client's certificate. */
  readonly tls?: PeerTls;
}

/** A TLS connection, as the handshake left it (docs/tls.md). */
export interface PeerTls {
  /** The client showed a certificate that chains to tls.ca and is in its validity period. */
  readonly authorized: boolean;
  /** Why a certificate shown was not authorized (with clientAuth "request"), e.g. "CERT_HAS_EXPIRED". */
  readonly authorizationError: string | undefined;
  /** "TLSv1.3", "TLSv1.2". */
  readonly protocol: string | null;
  /** The client resumed an earlier session (an abbreviated handshake), possibly issued by another worker. */
  readonly resumed: boolean;
  /** The client's certificate, when it showed one. */
  readonly cert: PeerCertificate | undefined;
}

/** The parts of a client certificate that identify it. */
export interface PeerCertificate {
  /** The subject's common name (CN), if any. */
  readonly cn: string | undefined;
  /** The whole subject, one "KEY=value" per line, as Node gives it. */
  readonly subject: string;
  /** URI subject alternative names (SPIFFE ids: spiffe://trust-domain/path). */
  readonly uris: readonly string[];
  /** DNS subject alternative names. */
  readonly dnsNames: readonly string[];
  /** SHA-256 fingerprint, "AB:CD:...". */
  readonly fingerprint256: string;
  /** End of validity, as Node gives it ("Jan  2 00:00:00 2027 GMT"). */
  readonly validTo: string;
}

/** What a handler knows about the request it is serving. */
export interface RpcContext {
  /** The method name the client called. */
  readonly method: string;
  /** The request's id, or undefined when the client sent none. */
  readonly id: RequestId | undefined;
  /** The request's `meta` object (empty when absent). */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly peer: Peer;
  /** Aborts when the client closes its connection or the deadline passes: stop work nobody will read. */
  readonly signal: AbortSignal;
  /** Values middleware shared with the handler (auth puts `principal` here). */
  readonly state: Record<string, unknown>;
  /**
   * A pino logger bound to this request (`method`, and `id` when sent):
   * JSON lines on stderr, level from FORKRPC_LOG_LEVEL. Made on first use.
   * @example ctx.log.info({ name }, "greeting");
   */
  readonly log: Logger;
}
