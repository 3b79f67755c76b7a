/**
 * Helpers for the client tests: the fixture server's config, a free port to
 * restart a server on, bounded polling, and a raw frame server for peers that
 * break the protocol.
 */
import { createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ROOT } from "../helpers/server.ts";
import { frame } from "../helpers/wire.ts";

export const CONFIG = join(ROOT, "test/fixtures/client/rpc.config.ts");

/** A port nothing listens on right now (so a server can be stopped and started again on it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Polls `check` every 10 ms until it is true; fails after `ms`. */
export async function waitFor(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(10);
  }
}

/** Settles a promise into a value or the error, so a test can assert either. */
export async function outcome<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: any }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

export interface RawRequest {
  in: string;
  params: unknown;
  id: number;
  meta?: Record<string, unknown>;
}

export interface RawConnection {
  readonly socket: Socket;
  /** 0-based, in the order the server accepted them. */
  readonly index: number;
  readonly requests: RawRequest[];
  /** The client ended its side. */
  ended: boolean;
  send(body: string | Buffer | object): void;
}

/**
 * A server that frames requests like forkrpc does and lets the test answer
 * each one as it likes (garbage included). Listens on 127.0.0.1, port 0.
 */
export class RawServer {
  readonly server: Server;
  readonly connections: RawConnection[] = [];

  private constructor(onRequest: (conn: RawConnection, req: RawRequest) => void) {
    this.server = createServer((socket) => {
      let buffer = Buffer.alloc(0);
      const conn: RawConnection = {
        socket,
        index: this.connections.length,
        requests: [],
        ended: false,
        send(body) {
          const bytes = Buffer.isBuffer(body) ? body : frame(typeof body === "string" ? body : JSON.stringify(body));
          if (!socket.destroyed) socket.write(bytes);
        },
      };
      this.connections.push(conn);
      socket.on("error", () => {});
      socket.on("end", () => {
        conn.ended = true;
        socket.end();
      });
      socket.on("data", (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32LE(0)) {
          const n = buffer.readUInt32LE(0);
          const req = JSON.parse(buffer.subarray(4, 4 + n).toString("utf8")) as RawRequest;
          buffer = buffer.subarray(4 + n);
          conn.requests.push(req);
          onRequest(conn, req);
        }
      });
    });
  }

  static async start(onRequest: (conn: RawConnection, req: RawRequest) => void): Promise<RawServer> {
    const raw = new RawServer(onRequest);
    raw.server.listen(0, "127.0.0.1");
    await once(raw.server, "listening");
    return raw;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** All requests received, over every connection. */
  get requests(): RawRequest[] {
    return this.connections.flatMap((c) => c.requests);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    this.server.close();
    await once(this.server, "close");
  }
}
