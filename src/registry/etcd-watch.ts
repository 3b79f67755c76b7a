/**
 * One etcd watch over the JSON gateway: a POST to /v3/watch whose answer is
 * a stream of newline-delimited JSON messages, one per batch of events.
 *
 *   const w = client.watch(prefix, {
 *     startRevision: listed.revision + 1,           // no event between list and watch is lost
 *     onEvents: (events, revision) => {...},        // { type: "put" | "delete", key, value, modRevision }
 *     onError: (err) => {...},                      // once; the watch is over: list again, watch again
 *   });
 *   await w.created;                                // etcd has the watch (rejects like onError)
 *   w.close();                                      // no callback after this
 *
 * The watch ends with exactly one onError (unless closed first):
 * REGISTRY_COMPACTED when startRevision is older than etcd keeps
 * (err.compactRevision says the oldest kept), REGISTRY_UNAVAILABLE when the
 * stream breaks or does not start within the deadline (etcd stopped,
 * restarted, unreachable), REGISTRY_REFUSED for anything else etcd says.
 * It never reconnects by itself: the caller must list again anyway, since
 * events may have been missed, and doing both in one place keeps the order
 * right.
 */
import { RegistryError } from "../errors.ts";
import { decode, encode, prefixEnd } from "./etcd-bytes.ts";

export interface WatchEvent {
  readonly type: "put" | "delete";
  readonly key: string;
  /** "" for a delete. */
  readonly value: string;
  readonly modRevision: number;
}

export interface WatchOptions {
  /** First revision to report; absent: from now. */
  readonly startRevision?: number;
  /** Watch every key under the given one (default true). */
  readonly prefix?: boolean;
  readonly onEvents: (events: WatchEvent[], revision: number) => void;
  readonly onError: (error: RegistryError) => void;
}

/**
 * Longest watch line kept while its end is awaited. etcd caps a request at
 * 1.5 MiB and a watch batch is a few of them; an endpoint streaming without
 * a newline would otherwise grow this buffer until the process dies.
 */
const MAX_LINE_CHARS = 16 * 1024 * 1024;

export class EtcdWatch {
  /** Resolves once etcd confirms the watch; rejects with the error onError gets if it never does. */
  readonly created: Promise<void>;
  private readonly abort = new AbortController();
  private done = false;
  private resolveCreated!: () => void;
  private rejectCreated!: (e: RegistryError) => void;

  constructor(
    readonly endpoint: string,
    readonly key: string,
    private readonly timeoutMs: number,
    private readonly options: WatchOptions,
  ) {
    this.created = new Promise<void>((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
    // A caller that only uses onError must not see an unhandled rejection.
    this.created.catch(() => {});
    void this.run();
  }

  close(): void {
    this.done = true;
    this.abort.abort();
  }

  private async run(): Promise<void> {
    const create: Record<string, unknown> = { key: encode(this.key) };
    if (this.options.prefix !== false) create.range_end = prefixEnd(this.key).toString("base64");
    if (this.options.startRevision !== undefined) create.start_revision = String(this.options.startRevision);
    // Only the start has a deadline: a quiet watch is a healthy one.
    const startDeadline = setTimeout(() => this.fail(new RegistryError("REGISTRY_UNAVAILABLE", `etcd: watch on ${this.endpoint} not created within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const res = await fetch(`${this.endpoint}/v3/watch`, {
        method: "POST",
        body: JSON.stringify({ create_request: create }),
        headers: { "content-type": "application/json" },
        signal: this.abort.signal,
      });
      if (res.status !== 200 || res.body === null) {
        this.fail(new RegistryError("REGISTRY_REFUSED", `etcd answered /v3/watch with ${res.status}: ${(await res.text()).slice(0, 200)}`));
        return;
      }
      let pending = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const text = Buffer.from(chunk).toString("utf8");
        pending += text;
        // Only the new text can hold a line's end: searching the whole of a long line at each chunk is quadratic.
        if (!text.includes("\n")) {
          if (pending.length <= MAX_LINE_CHARS) continue;
          this.fail(new RegistryError("REGISTRY_REFUSED", `etcd sent a watch line longer than ${MAX_LINE_CHARS} characters without its end: not etcd, or not sane`));
          return;
        }
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line !== "") this.message(line, startDeadline);
          if (this.done) return;
        }
      }
      this.fail(new RegistryError("REGISTRY_UNAVAILABLE", `etcd: watch stream from ${this.endpoint} ended`));
    } catch (error) {
      const e = error as { cause?: { code?: string }; message?: string };
      this.fail(new RegistryError("REGISTRY_UNAVAILABLE", `etcd: watch on ${this.endpoint} broke: ${e.cause?.code ?? e.message ?? String(error)}`, { cause: error }));
    } finally {
      clearTimeout(startDeadline);
    }
  }

  private message(line: string, startDeadline: NodeJS.Timeout): void {
    let msg: { result?: Record<string, any>; error?: Record<string, any> };
    try {
      msg = JSON.parse(line);
    } catch {
      this.fail(new RegistryError("REGISTRY_REFUSED", `etcd sent a watch line that is not JSON: ${line.slice(0, 200)}`));
      return;
    }
    if (msg.error !== undefined || msg.result === undefined) {
      this.fail(new RegistryError("REGISTRY_REFUSED", `etcd ended the watch: ${String(msg.error?.message ?? line.slice(0, 200))}`));
      return;
    }
    const r = msg.result;
    if (r.created === true) {
      clearTimeout(startDeadline);
      this.resolveCreated();
    }
    if (r.canceled === true) {
      const compact = Number(r.compact_revision ?? 0);
      this.fail(
        compact > 0
          ? new RegistryError("REGISTRY_COMPACTED", `etcd: watch from revision ${this.options.startRevision} is compacted (oldest kept: ${compact})`, { compactRevision: compact })
          : new RegistryError("REGISTRY_REFUSED", `etcd canceled the watch: ${String(r.cancel_reason ?? "no reason given")}`),
      );
      return;
    }
    const events = (r.events as Array<Record<string, any>> | undefined) ?? [];
    if (events.length === 0) return;
    this.options.onEvents(
      events.map((e) => ({
        // proto3 JSON leaves out the zero value: PUT has no "type".
        type: e.type === "DELETE" ? "delete" : "put",
        key: decode(e.kv?.key),
        value: decode(e.kv?.value),
        modRevision: Number(e.kv?.mod_revision ?? 0),
      })),
      Number(r.header?.revision ?? 0),
    );
  }

  private fail(error: RegistryError): void {
    if (this.done) return;
    this.done = true;
    this.abort.abort();
    this.rejectCreated(error);
    this.options.onError(error);
  }
}
