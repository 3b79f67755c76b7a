/**
 * The client's side of the envelopes (envelope.ts is the server's): encodes
 * a request text, and turns one response frame body into a typed response or
 * a description of what is wrong with it. Pure, and never throws on input.
 */
import { DEFAULT_MAX_DEPTH, isRequestId, type RequestId, type WireError } from "./envelope.ts";
import { exceedsDepth } from "./json-depth.ts";

/**
 * Encodes a request from parts already JSON-encoded: the method name and the
 * params are encoded once per call, and only the id and meta change when a
 * request is sent again. Without an id (undefined) the key is left out: the
 * answer then comes back in order (`forkrpc bench` without --ids).
 */
export function encodeRequest(methodJson: string, paramsJson: string, id: RequestId | undefined, metaJson: string | undefined): string {
  const idPart = id === undefined ? "" : `,"id":${typeof id === "number" ? String(id) : JSON.stringify(id)}`;
  const metaPart = metaJson === undefined ? "" : `,"meta":${metaJson}`;
  return `{"in":${methodJson},"params":${paramsJson}${idPart}${metaPart}}`;
}

export interface ResponseEnvelope {
  readonly out: string;
  readonly result: unknown;
  /** undefined for a goaway, and for errors about the connection itself (BAD_FRAME, FRAME_TOO_LARGE). */
  readonly id: RequestId | undefined;
}

/** A response that breaks the protocol: what is wrong, for an error message. */
export interface MalformedResponse {
  readonly malformed: string;
}

/**
 * Parses one response body (bytes start..end of `buf`). An error response
 * (`out` "error") is checked to carry a string `code` and `message`, so
 * callers may read its result as a WireError.
 */
export function parseResponse(buf: Buffer, start = 0, end = buf.length, maxDepth = DEFAULT_MAX_DEPTH): ResponseEnvelope | MalformedResponse {
  const text = buf.toString("utf8", start, end);
  if (exceedsDepth(text, maxDepth)) return malformed(`nested deeper than ${maxDepth} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return malformed(`not JSON: ${preview(text)}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return malformed(`not a JSON object: ${preview(text)}`);
  const res = value as Record<string, unknown>;
  const { out, id } = res;
  if (typeof out !== "string") return malformed("`out` is missing or not a string");
  if (!isRequestId(id)) {
    return malformed("`id` is not a string or a finite number");
  }
  if (out === "error" && !isWireError(res.result)) return malformed("an error whose `result` has no string `code` and `message`");
  return { out, result: res.result === undefined ? null : res.result, id };
}

export function isMalformed(r: ResponseEnvelope | MalformedResponse): r is MalformedResponse {
  return (r as MalformedResponse).malformed !== undefined;
}

/** The unsolicited notice a worker sends before it closes a connection that used ids. */
export function isGoaway(r: ResponseEnvelope): boolean {
  return r.out === "goaway" && r.id === undefined;
}

/** The error an `out: "error"` response carries (parseResponse checked its shape). */
export function errorOf(r: ResponseEnvelope): WireError | null {
  if (r.out !== "error") return null;
  const { code, message, data } = r.result as WireError;
  return data === undefined ? { code, message } : { code, message, data };
}

function isWireError(value: unknown): value is WireError {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const e = value as Record<string, unknown>;
  return typeof e.code === "string" && typeof e.message === "string";
}

function malformed(why: string): MalformedResponse {
  return { malformed: why };
}

const PREVIEW_CHARS = 40;

function preview(text: string): string {
  return JSON.stringify(text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}...` : text);
}
