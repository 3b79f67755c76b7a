/**
 * What the load generator needs to know of an answer, read from its bytes
 * without parsing it: is it an error, a goaway, or anything else (a
 * result), and, with ids, which request it answers.
 *
 * forkrpc writes every response as `{"out":"<out>","result":...}` with the
 * id, when there is one, last (`,"id":1000123}`), so a few byte compares
 * settle it. Anything written differently (another server, extra spaces)
 * takes the slow path: JSON.parse. Error answers take it too, for their
 * code; they are rare in a run worth measuring.
 */
import { errorOf, isGoaway, isMalformed, parseResponse } from "../../protocol/client-envelope.ts";
import { BAD_RESPONSE } from "./tally.ts";
import { ID_BASE } from "./messages.ts";

export const OK = 0;
export const ERROR = 1;
export const GOAWAY = 2;
export type Kind = typeof OK | typeof ERROR | typeof GOAWAY;

const PREFIX = Buffer.from('{"out":"');
const ERROR_OUT = Buffer.from('error"');
const GOAWAY_OUT = Buffer.from('goaway"');
const ID_KEY = Buffer.from(',"id":');
const ID_DIGITS = String(ID_BASE).length;
const CLOSE_BRACE = 0x7d;
const ZERO = 0x30;
const NINE = 0x39;

/** The answer's kind from its first bytes; -1 when it is not written the way forkrpc writes it. */
export function quickKind(buf: Buffer, start: number, end: number): Kind | -1 {
  if (end - start < PREFIX.length + GOAWAY_OUT.length + 1 || !matches(buf, start, PREFIX)) return -1;
  const at = start + PREFIX.length;
  if (matches(buf, at, ERROR_OUT)) return ERROR;
  if (matches(buf, at, GOAWAY_OUT)) return GOAWAY;
  return OK;
}

/** The id at the end of an answer written by forkrpc, when it is one of ours (ID_BASE and up); else -1. */
export function quickId(buf: Buffer, start: number, end: number): number {
  const digitsAt = end - 1 - ID_DIGITS;
  if (digitsAt - ID_KEY.length < start || buf[end - 1] !== CLOSE_BRACE || !matches(buf, digitsAt - ID_KEY.length, ID_KEY)) return -1;
  let id = 0;
  for (let i = digitsAt; i < end - 1; i++) {
    const c = buf[i] as number;
    if (c < ZERO || c > NINE) return -1;
    id = id * 10 + (c - ZERO);
  }
  return id;
}

export interface Inspected {
  readonly kind: Kind;
  /** The error's code (or BAD_RESPONSE for a body that is no response at all). */
  readonly code: string;
  /** The answer's numeric id, or -1. */
  readonly id: number;
}

/** The slow path: the client's own response parser (protocol/client-envelope.ts). Never throws. */
export function inspect(buf: Buffer, start: number, end: number): Inspected {
  const res = parseResponse(buf, start, end);
  if (isMalformed(res)) return { kind: ERROR, code: BAD_RESPONSE, id: -1 };
  if (isGoaway(res)) return { kind: GOAWAY, code: "", id: -1 };
  const id = typeof res.id === "number" && Number.isInteger(res.id) ? res.id : -1;
  const error = errorOf(res);
  return error === null ? { kind: OK, code: "", id } : { kind: ERROR, code: error.code, id };
}

function matches(buf: Buffer, at: number, what: Buffer): boolean {
  for (let i = 0; i < what.length; i++) if (buf[at + i] !== what[i]) return false;
  return true;
}
