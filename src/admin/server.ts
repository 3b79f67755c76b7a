/**
 * The master's admin HTTP server: /metrics (Prometheus text), /healthz (the
 * master lives), /readyz (a generation serves and the master is not
 * stopping), / (the dashboard) with its assets, and /events (one snapshot a
 * heartbeat as server-sent events). It has no auth: it listens only where
 * config.admin says, which belongs on loopback or a private network.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BootError, describe } from "../errors.ts";
import { log } from "../log.ts";
import { CONTENT_TYPE } from "../metrics/exposition.ts";
import { readAsset } from "./assets.ts";

/** What the routes read; the master's metrics observer provides it. */
export interface AdminSource {
  /** The /metrics body. */
  metrics(): string;
  ready(): boolean;
  /** The next /events snapshot (called once per period, shared by every client). */
  snapshot(): unknown;
}

/** EventSource reconnects this long after the stream breaks (a master restart). */
const RETRY_MS = 1_000;
/**
 * An /events client with this much unsent (or four snapshots' worth, if
 * more) is not reading: it is cut (EventSource reconnects) rather than
 * buffered for without bound (a 256 KB snapshot a period once grew the
 * master by ~25 MB/s for one client that never read).
 */
const MAX_UNSENT_BYTES = 1024 * 1024;
/** /events subscribers at once: each may hold MAX_UNSENT_BYTES, so their number is bounded too (a dashboard tab is one). */
export const MAX_STREAMS = 32;

export class AdminServer {
  readonly #http: Server;
  readonly #source: AdminSource;
  readonly #streams = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | null = null;
  /** The last snapshot pushed: what a new subscriber gets first (taking a new one would cut the others' period short). */
  #last: string | null = null;

  constructor(source: AdminSource, periodMs: number) {
    this.#source = source;
    this.#http = createServer((req, res) => this.#route(req, res));
    this.#http.keepAliveTimeout = 5_000;
    this.#timer = setInterval(() => this.#push(), periodMs);
    this.#timer.unref();
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (cause: Error) => reject(new BootError("LISTEN_FAILED", `admin server cannot listen on ${host}:${port}: ${cause.message}`, { cause }));
      this.#http.once("error", onError);
      this.#http.listen({ host, port }, () => {
        this.#http.off("error", onError);
        this.#http.on("error", (error) => log.error(`admin server: ${describe(error)}`));
        resolve(this.#http.address() as AddressInfo);
      });
    });
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const res of this.#streams) res.end();
    this.#streams.clear();
    this.#http.close();
    this.#http.closeAllConnections();
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    try {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "only GET\n", { allow: "GET, HEAD" });
      if (path === "/metrics") return send(res, 200, CONTENT_TYPE, this.#source.metrics());
      if (path === "/healthz") return send(res, 200, "text/plain", "ok\n");
      if (path === "/readyz") return this.#source.ready() ? send(res, 200, "text/plain", "ready\n") : send(res, 503, "text/plain", "not ready\n");
      // HEAD gets the stream's headers and an end: a write to a HEAD response is dropped, so a subscription would never end.
      if (path === "/events" && req.method === "HEAD") return send(res, 200, "text/event-stream", "");
      if (path === "/events") return this.#subscribe(res);
      const asset = readAsset(path === "/" ? "/index.html" : (path as string));
      if (asset !== null) return send(res, 200, asset.type, asset.body);
      send(res, 404, "text/plain", "not found\n");
    } catch (error) {
      log.error(`admin server: ${req.url}: ${describe(error)}`);
      if (!res.headersSent) send(res, 500, "text/plain", "internal error\n");
      else res.destroy();
    }
  }

  #subscribe(res: ServerResponse): void {
    if (this.#streams.size >= MAX_STREAMS) return send(res, 503, "text/plain", `${MAX_STREAMS} /events subscribers already\n`, { "retry-after": "5" });
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.write(`retry: ${RETRY_MS}\n\n`);
    this.#streams.add(res);
    res.on("close", () => this.#streams.delete(res));
    // The last snapshot at once: a page that (re)connects shows figures without waiting a period.
    this.#last ??= `data: ${JSON.stringify(this.#source.snapshot())}\n\n`;
    res.write(this.#last);
  }

  #push(): void {
    if (this.#streams.size === 0) {
      this.#last = null;
      return;
    }
    try {
      const frame = `data: ${JSON.stringify(this.#source.snapshot())}\n\n`;
      this.#last = frame;
      const limit = Math.max(MAX_UNSENT_BYTES, 4 * frame.length);
      for (const res of this.#streams) {
        if (res.writableLength > limit) {
          this.#streams.delete(res);
          res.destroy();
        } else {
          res.write(frame);
        }
      }
    } catch (error) {
      log.error(`admin server: snapshot failed: ${describe(error)}`);
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
