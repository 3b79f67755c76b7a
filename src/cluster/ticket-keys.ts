/**
 * The session-ticket keys of a cluster. A TLS server encrypts the session
 * tickets it issues with its ticket keys; each worker making its own, a
 * client resuming on another worker than the one that issued its ticket
 * gets a full handshake (nodejs/node #1462, #20908), ~1.3 ms of server CPU
 * with ECDSA instead of a fraction of it. The master makes one set, every
 * worker asks for it once it has booted (ipc.ts), and the master replaces it
 * every rotateMs and sends the new set to every worker, so that a key that
 * leaks decrypts at most that window of sessions (forward secrecy).
 */
import { randomBytes } from "node:crypto";

/** Node's ticket keys: 16 bytes of name, 16 of HMAC secret, 16 of AES key. */
export const TICKET_KEYS_BYTES = 48;
/** How long one set of keys is used; tickets issued under the previous set then need a full handshake. */
export const TICKET_ROTATE_MS = 60 * 60 * 1000;

export class TicketKeys {
  #keys: Buffer;
  readonly #random: (n: number) => Buffer;

  constructor(random: (n: number) => Buffer = randomBytes) {
    this.#random = random;
    this.#keys = random(TICKET_KEYS_BYTES);
  }

  /** The current keys, as the IPC message carries them. */
  get encoded(): string {
    return this.#keys.toString("base64");
  }

  /** Replaces the keys; returns the new ones, encoded. */
  rotate(): string {
    this.#keys = this.#random(TICKET_KEYS_BYTES);
    return this.encoded;
  }
}

/** The keys from a message, or null when they are not 48 bytes (then the worker keeps its own). */
export function decodeTicketKeys(encoded: unknown): Buffer | null {
  if (typeof encoded !== "string") return null;
  const keys = Buffer.from(encoded, "base64");
  return keys.length === TICKET_KEYS_BYTES ? keys : null;
}
