/**
 * Request and response envelopes: the only code that turns a frame body into
 * a typed request, and a result into a response text.
 */
import { isUtf8 } from "node:buffer";
import { fault, type Fault, type WireCode } from "./codes.ts";
import { exceedsDepth } from "./json-depth.ts";

export type RequestId = string | number;

/**
 * An id either side accepts: absent, a string, or a finite number (a number
 * JSON cannot carry back, 1e400 parsed as Infinity, would be echoed as null).
 */
export function isRequestId(id: unknown): id is RequestId | undefined {
  return id === undefined || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

export interface RequestEnvelope {
  readonly method: string;
  readonly params: unknown;
  /** undefined when the request carried no id. */
  readonly id: RequestId | undefined;
  /** The request's `meta` object; its `timeoutMs`, when present, is a positive number (checked here). */
  readonly meta: Readonly<Record<string, unknown>>;
  /** The body as received: an offloaded handler's thread parses its params from it (no second JSON.stringify). */
  readonly text?: string;
}

/**
 * A result that is JSON text already (an offloaded handler's, made in its
 * thread): encodeResponse puts it in the response as it is.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/** A request that could not be accepted; `id` is set when it could still be read. */
export interface RejectedRequest {
  readonly fault: Fault;
  readonly id: RequestId | undefined;
}

export const DEFAULT_MAX_DEPTH = 512;

const NO_META: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Parses one frame body (bytes start..end of `body`). Never throws: any
 * input yields a request or a rejection with its wire code.
 */
export function parseRequest(
  body: Uint8Array,
  maxDepth = DEFAULT_MAX_DEPTH,
  start = 0,
  end = body.length,
): RequestEnvelope | RejectedRequest {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const text = buf.toString("utf8", start, end);
  // Decoding turns every invalid byte sequence into U+FFFD, so the strict
  // check is needed only when one appears.
  if (text.includes("\uFFFD") && !isUtf8(buf.subarray(start, end))) return reject("PARSE_ERROR", "body is not valid UTF-8");
  if (exceedsDepth(text, maxDepth)) return reject("PARSE_ERROR", `body is nested deeper than ${maxDepth} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return reject("PARSE_ERROR", "body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return reject("INVALID_REQUEST", "request must be a JSON object");
  }
  const req = value as Record<string, unknown>;
  const id = req.id;
  if (!isRequestId(id)) {
    return reject("INVALID_REQUEST", "`id` must be a string or a finite number");
  }
  const method = req.in;
  if (typeof method !== "string") {
    return reject("INVALID_REQUEST", "`in` must be a string naming the method", id);
  }
  const meta = req.meta;
  if (meta !== undefined && (meta === null || typeof meta !== "object" || Array.isArray(meta))) {
    return reject("INVALID_REQUEST", "`meta` must be an object", id);
  }
  // The deadline the client asks for (server/dispatch.ts applies the smallest of it, the method's and the config's).
  const asked = meta === undefined ? undefined : (meta as Record<string, unknown>).timeoutMs;
  if (asked !== undefined && !(typeof asked === "number" && asked > 0)) {
    return reject("INVALID_REQUEST", "meta.timeoutMs must be a positive number", id);
  }
  return {
    method,
    params: req.params === undefined ? null : req.params,
    id,
    meta: meta === undefined ? NO_META : (meta as Record<string, unknown>),
    text,
  };
}

export function isRejected(r: RequestEnvelope | RejectedRequest): r is RejectedRequest {
  return (r as RejectedRequest).fault !== undefined;
}

function reject(code: WireCode, message: string, id?: RequestId): RejectedRequest {
  return { fault: fault(code, message), id };
}

/**
 * Encodes a response. `outJson` is the reply type already JSON-encoded (it is
 * fixed per method, so callers encode it once). Throws whatever JSON.stringify
 * throws for `result` (cycles, BigInt, depth): the caller owns that error.
 */
export function encodeResponse(outJson: string, result: unknown, id: RequestId | undefined): string {
  const body = result instanceof JsonText ? result.text : JSON.stringify(result);
  const resultJson = body === undefined ? "null" : body;
  if (id === undefined) return `{"out":${outJson},"result":${resultJson}}`;
  return `{"out":${outJson},"result":${resultJson},"id":${JSON.stringify(id)}}`;
}

const ERROR_OUT = JSON.stringify("error");

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly data?: unknown;
}

/** Encodes an error response; never throws (undeliverable `data` is dropped). */
export function encodeError(error: WireError, id: RequestId | undefined): string {
  const base = { code: error.code, message: error.message };
  if (error.data !== undefined) {
    try {
      return encodeResponse(ERROR_OUT, { ...base, data: error.data }, id);
    } catch {
      // data that cannot be encoded is left out rather than losing the error itself
    }
  }
  return encodeResponse(ERROR_OUT, base, id);
}

const ERROR_PREFIX = `{"out":${ERROR_OUT},"result":{"code":"`;

/**
 * The code of an answer encodeError made, or null for a result: metrics
 * label calls by it without parsing the JSON (an escaped quote in a
 * handler's own code cuts the label there, which is harmless).
 */
export function errorCodeOf(answer: string): string | null {
  if (!answer.startsWith(ERROR_PREFIX)) return null;
  const end = answer.indexOf('"', ERROR_PREFIX.length);
  return answer.slice(ERROR_PREFIX.length, end < 0 ? undefined : end);
}

const GOAWAY_OUT = JSON.stringify("goaway");

/** The unsolicited notice sent before a worker closes a connection that used ids. */
export function encodeGoaway(reason: string): string {
  return encodeResponse(GOAWAY_OUT, { reason }, undefined);
}
