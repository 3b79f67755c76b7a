/**
 * What the worker and its handler threads say to each other (postMessage).
 * Params and results cross as JSON text, never as object graphs: a string
 * crosses in ~48 us whether it holds 16 B or 16 KB, where structured clone of
 * an 8 KB object graph takes ~510 us (figures in docs/threads.md).
 */
import type { BootCode } from "../errors.ts";
import type { RequestId } from "../protocol/envelope.ts";
import type { Peer } from "../request/context.ts";

/** What a thread is started with (workerData). */
export interface ThreadData {
  /** The files that define the offloaded handlers, each imported once. */
  readonly files: readonly string[];
  /** The offloaded methods the thread serves. */
  readonly methods: readonly string[];
  readonly pluginRoot: string;
  /** The config as JSON: what ServerConfig injects in a thread (functions, such as middleware, are left out). */
  readonly configJson: string;
  readonly hookTimeoutMs: number;
}

/** One call: `text` is the whole request body when `whole`, else the params alone (middleware replaced them). */
export interface CallMessage {
  readonly kind: "call";
  readonly seq: number;
  readonly method: string;
  readonly text: string;
  readonly whole: boolean;
  readonly id: RequestId | undefined;
  /** meta as JSON when the text is not the whole body (which holds it). */
  readonly meta: string | null;
  /** ctx.state as JSON when middleware put something in it (auth's principal); null when empty or not JSON. */
  readonly state: string | null;
  readonly peer: Peer;
}

export type ToThread =
  | CallMessage
  /** The client went away: the call's ctx.signal aborts (the thread is not stopped). */
  | { readonly kind: "abort"; readonly seq: number }
  /** Run the stop hooks, then exit. */
  | { readonly kind: "stop" };

/** An RpcError's fields; data as JSON, left out when it cannot be encoded (as on the main thread). */
export interface ThreadRpcError {
  readonly code: string;
  readonly message: string;
  readonly data?: string;
}

export type FromThread =
  | { readonly kind: "ready" }
  | { readonly kind: "boot-failed"; readonly code: BootCode; readonly message: string }
  | { readonly kind: "result"; readonly seq: number; readonly json: string }
  | { readonly kind: "rpc-error"; readonly seq: number; readonly error: ThreadRpcError }
  /** Anything else thrown: the client gets INTERNAL, the log gets `stack`. */
  | { readonly kind: "threw"; readonly seq: number; readonly stack: string }
  | { readonly kind: "unencodable"; readonly seq: number; readonly reason: string };
