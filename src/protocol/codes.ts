/**
 * The one table of error codes the wire can carry. docs/errors.md documents
 * each row; test/protocol/codes.test.ts fails when the two drift apart.
 *
 * `closes` says what the server does with the connection after sending it.
 */
export const WIRE_CODES = {
  PARSE_ERROR: { closes: false, when: "body is not valid UTF-8 JSON, or is nested too deeply" },
  INVALID_REQUEST: { closes: false, when: "body is not an object, `in` is missing or not a string, `id` or `meta` of the wrong type" },
  METHOD_NOT_FOUND: { closes: false, when: "no handler has that exact name" },
  INVALID_PARAMS: { closes: false, when: "`params` fail the handler's declared schema" },
  DEADLINE_EXCEEDED: { closes: false, when: "the handler outran its timeout" },
  UNAUTHENTICATED: { closes: false, when: "an auth middleware found no valid credentials" },
  PERMISSION_DENIED: { closes: false, when: "an auth middleware refused the caller" },
  RESOURCE_EXHAUSTED: { closes: false, when: "too many requests in flight on the connection or in the worker, or the worker's handler-thread queue is full" },
  UNAVAILABLE: { closes: true, when: "the server is going away and did not run the request; safe to send again elsewhere" },
  INTERNAL: { closes: false, when: "the handler threw something other than an RpcError, its result could not be encoded, or its handler thread died" },
  FRAME_TOO_LARGE: { closes: true, when: "the length prefix is above maxFrameBytes" },
  BAD_FRAME: { closes: true, when: "the length prefix is 0" },
} as const satisfies Record<string, { closes: boolean; when: string }>;

export type WireCode = keyof typeof WIRE_CODES;

/** A protocol-level failure found while reading a request, before any handler runs. */
export interface Fault {
  readonly code: WireCode;
  readonly message: string;
}

export function fault(code: WireCode, message: string): Fault {
  return { code, message };
}
