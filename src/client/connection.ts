/**
 * One client connection: a socket, the calls sent on it under ids, and what
 * the server says about it. It knows the wire (through protocol/) and nothing
 * of retries: every outcome is reported to its owner, which decides.
 *
 * States: connecting -> open -> (goaway ->) closing -> closed; any state may
 * jump to closed when the socket dies, the server breaks the protocol, or it
 * stalls in the middle of an answer for longer than readTimeoutMs.
 */
import { connect, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { FrameDecoder, encodeFrames } from "../protocol/frame.ts";
import { encodeRequest, isGoaway, isMalformed, parseResponse, type ResponseEnvelope } from "../protocol/client-envelope.ts";
import type { CallHolder, PendingCall } from "./call.ts";
import { ReadTimer } from "./read-timer.ts";
import { endpointKey } from "./balancer.ts";
import type { ClientTls } from "./options.ts";

export interface ConnectionEvents {
  opened(conn: ClientConnection): void;
  /** An answer (result or error) to a call sent on this connection. */
  answered(conn: ClientConnection, call: PendingCall, response: ResponseEnvelope): void;
  /** The server is going away: nothing more is sent here; `unsent` never left and may go elsewhere. */
  goaway(conn: ClientConnection, unsent: PendingCall[]): void;
  /** The socket closed. `written` calls were handed to the socket and got no answer; `unsent` were not. */
  closed(conn: ClientConnection, why: string, unsent: PendingCall[], written: PendingCall[]): void;
}

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  readonly maxResponseBytes: number;
  /** How long an answer frame may take to arrive once it has begun (0: no limit). */
  readonly readTimeoutMs: number;
  /** Absent: plaintext. */
  readonly tls: ClientTls | undefined;
}

type State = "connecting" | "open" | "goaway" | "closing" | "closed";

/** After we end our side, how long the server has to close its own before we cut it. */
const CLOSE_WAIT_MS = 2_000;

export class ClientConnection implements CallHolder {
  /** "host:port" of the server, the endpoint this connection belongs to. */
  readonly endpoint: string;
  readonly #socket: Socket;
  readonly #events: ConnectionEvents;
  readonly #decoder: FrameDecoder;
  readonly #connectTimeoutMs: number;
  /** null when readTimeoutMs is 0. */
  readonly #readTimer: ReadTimer | null;
  #state: State = "connecting";
  /** Ids are numbers, unique on this connection, never reused. */
  #nextId = 1;
  readonly #calls = new Map<number, PendingCall>();
  /** Calls sent since the last write, and their request texts: one write per tick. */
  #batch: PendingCall[] = [];
  #texts: string[] = [];
  #flushQueued = false;
  /** Why the connection is going (the first reason wins), for error messages. */
  #why = "";
  #broken = false;
  #answered = false;
  /** Calls forgotten (timed out) whose answers have not arrived: nobody waits for them. */
  #abandoned = 0;
  #closeTimer: NodeJS.Timeout | null = null;
  /** Frames received, so a read can tell whether the frame it leaves partly received began in it. */
  #frames = 0;

  constructor(options: ConnectionOptions, events: ConnectionEvents) {
    this.#events = events;
    this.endpoint = endpointKey(options.host, options.port);
    this.#connectTimeoutMs = options.connectTimeoutMs;
    const readTimeoutMs = options.readTimeoutMs;
    this.#readTimer = readTimeoutMs > 0 ? new ReadTimer(readTimeoutMs, () => this.#onReadTimeout(readTimeoutMs)) : null;
    this.#decoder = new FrameDecoder(options.maxResponseBytes, (buf, start, end) => this.#onFrame(buf, start, end));
    const socket = open(options);
    this.#socket = socket;
    socket.setTimeout(options.connectTimeoutMs);
    // With TLS the connection is open once the handshake is done (the timeout covers both).
    socket.on(options.tls === undefined ? "connect" : "secureConnect", () => this.#onConnect());
    socket.on("timeout", () => this.#onTimeout());
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => this.#because("the server closed the connection"));
    socket.on("error", (error: Error) => this.#because(error.message));
    socket.on("close", () => this.#onClose());
  }

  /** Calls sent here and not yet answered (nor timed out). */
  get outstanding(): number {
    return this.#calls.size;
  }

  /** New calls may be sent here. */
  get usable(): boolean {
    return this.#state === "open";
  }

  /** The server has answered at least one call sensibly on this connection. */
  get healthy(): boolean {
    return this.#answered;
  }

  /** Sends a call; the write happens once per tick for everything sent in it. Only while usable. */
  send(call: PendingCall, now: number): void {
    const id = this.#nextId++;
    call.holder = this;
    call.id = id;
    call.written = false;
    this.#calls.set(id, call);
    this.#texts.push(encodeRequest(call.methodJson, call.paramsJson, id, call.metaToSend(now)));
    this.#batch.push(call);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(this.#flush);
    }
  }

  forget(call: PendingCall): void {
    if (this.#calls.get(call.id) === call) {
      this.#calls.delete(call.id);
      if (call.written) this.#abandoned++;
    }
    call.holder = null;
    this.#closeIfDone();
  }

  /** Closes gracefully: at once if nothing is outstanding, else after the last answer. */
  end(): void {
    if (this.#state === "connecting") return this.destroy("closed before it opened");
    if (this.#state !== "open" && this.#state !== "goaway") return;
    this.#state = "closing";
    this.#because("closed by the client");
    this.#closeIfDone();
  }

  destroy(why: string): void {
    this.#because(why);
    this.#broken = true;
    this.#socket.destroy();
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    const batch = this.#batch;
    if (batch.length === 0) return;
    const texts = this.#texts;
    this.#batch = [];
    this.#texts = [];
    // A socket that can no longer send: 'close' is coming and reports these calls unsent.
    if (!this.#socket.writable) return;
    this.#socket.write(encodeFrames(texts));
    for (let i = 0; i < batch.length; i++) (batch[i] as PendingCall).written = true;
  };

  #onConnect(): void {
    this.#socket.setTimeout(0);
    if (this.#state !== "connecting") return;
    this.#state = "open";
    this.#events.opened(this);
  }

  #onTimeout(): void {
    if (this.#state === "connecting") this.destroy(`connecting took longer than ${this.#connectTimeoutMs} ms`);
  }

  #onData(chunk: Buffer): void {
    if (this.#broken) return;
    const framesBefore = this.#frames;
    const fault = this.#decoder.push(chunk);
    if (this.#broken) return;
    if (fault !== null) this.#fail(`${fault.code}: ${fault.message}`);
    else this.#readTimer?.watch(this.#decoder.midFrame, this.#frames !== framesBefore);
  }

  /**
   * An answer begun and not finished in time: whatever follows it on this
   * connection is stuck behind it, so it goes, and its calls are lost calls.
   */
  #onReadTimeout(readTimeoutMs: number): void {
    if (this.#broken) return;
    this.destroy(`the server sent part of an answer and not the rest within readTimeoutMs (${readTimeoutMs} ms)`);
  }

  #onFrame(buf: Buffer, start: number, end: number): void {
    this.#frames++;
    if (this.#broken) return;
    const response = parseResponse(buf, start, end);
    if (isMalformed(response)) return this.#fail(response.malformed);
    const id = response.id;
    if (id === undefined) return this.#onNotice(response);
    const call = typeof id === "number" ? this.#calls.get(id) : undefined;
    if (call === undefined) {
      // An id we sent whose call has timed out: its answer is late, not wrong.
      if (typeof id === "number" && Number.isInteger(id) && id >= 1 && id < this.#nextId) {
        if (this.#abandoned > 0) this.#abandoned--;
        return;
      }
      return this.#fail(`an answer for id ${JSON.stringify(id)}, which this client never sent`);
    }
    this.#calls.delete(id as number);
    call.holder = null;
    this.#answered = true;
    this.#events.answered(this, call, response);
    this.#closeIfDone();
  }

  /** A message without id: a goaway, or an error about the connection itself. */
  #onNotice(response: ResponseEnvelope): void {
    if (isGoaway(response)) return this.#onGoaway(response.result);
    if (response.out === "error") {
      const { code, message } = response.result as { code: string; message: string };
      return this.#fail(`the server ended the connection with ${code}: ${message}`);
    }
    this.#fail(`an answer without an id (out ${JSON.stringify(response.out)}), though every request had one`);
  }

  #onGoaway(result: unknown): void {
    if (this.#state !== "open") return;
    this.#state = "goaway";
    const reason = (result as { reason?: unknown } | null)?.reason;
    this.#because(`the server is going away${typeof reason === "string" ? ` (${reason})` : ""}`);
    const unsent = this.#takeBatch();
    this.#events.goaway(this, unsent);
    this.#closeIfDone();
  }

  /** Takes back the calls not yet written (they go elsewhere). */
  #takeBatch(): PendingCall[] {
    const unsent = this.#batch;
    this.#batch = [];
    this.#texts = [];
    for (const call of unsent) {
      this.#calls.delete(call.id);
      call.holder = null;
    }
    return unsent;
  }

  /** A server that breaks the protocol: nothing more it says can be trusted on this connection. */
  #fail(why: string): void {
    this.destroy(`malformed response from the server: ${why}`);
  }

  #because(why: string): void {
    if (this.#why === "") this.#why = why;
  }

  #closeIfDone(): void {
    if ((this.#state !== "goaway" && this.#state !== "closing") || this.#calls.size > 0 || this.#closeTimer !== null) return;
    this.#state = "closing";
    // Answers still owed only to calls that timed out: nobody wants them, so do not wait.
    if (this.#abandoned > 0) return this.destroy(this.#why);
    this.#socket.end();
    this.#closeTimer = setTimeout(() => this.#socket.destroy(), CLOSE_WAIT_MS);
    this.#closeTimer.unref();
  }

  #onClose(): void {
    this.#state = "closed";
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#readTimer?.stop();
    const unsent: PendingCall[] = [];
    const written: PendingCall[] = [];
    for (const call of this.#calls.values()) {
      call.holder = null;
      (call.written ? written : unsent).push(call);
    }
    this.#calls.clear();
    this.#batch = [];
    this.#texts = [];
    this.#events.closed(this, this.#why || "the connection closed", unsent, written);
  }
}

/** A plain socket, or a TLS one offering the client's last session. */
function open(options: ConnectionOptions): Socket {
  const { host, port, tls } = options;
  if (tls === undefined) return connect({ host, port, noDelay: true });
  const socket = connectTls({ ...tls.connect, host, port, ...(tls.session === undefined ? {} : { session: tls.session }) });
  socket.setNoDelay(true);
  socket.on("session", (session: Buffer) => (tls.session = session));
  return socket;
}
