/**
 * A raw-socket peer for integration tests: sends exact bytes, and reads
 * length-prefixed frames back, with nothing of forkrpc's own client in between.
 */
import { connect, type Socket } from "node:net";
import { once } from "node:events";

export function frame(body: string | Buffer): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(bytes.length);
  return Buffer.concat([prefix, bytes]);
}

export function request(method: string, params?: unknown, extra: Record<string, unknown> = {}): Buffer {
  return frame(JSON.stringify({ in: method, params, ...extra }));
}

export interface Response {
  out: string;
  result: any;
  id?: string | number;
}

export class RawPeer {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, d]);
      this.#wake();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }

  static async open(port: number, host = "127.0.0.1"): Promise<RawPeer> {
    const socket = connect({ port, host });
    await once(socket, "connect");
    return new RawPeer(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Reads the next response; rejects if the connection closes first or time runs out. */
  async read(timeoutMs = 5_000): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#buffer.length >= 4) {
        const n = this.#buffer.readUInt32LE(0);
        if (this.#buffer.length >= 4 + n) {
          const body = this.#buffer.subarray(4, 4 + n);
          this.#buffer = this.#buffer.subarray(4 + n);
          return JSON.parse(body.toString("utf8")) as Response;
        }
      }
      if (this.#closed) throw new Error("connection closed before a full response arrived");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a response");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async readMany(n: number, timeoutMs = 5_000): Promise<Response[]> {
    const out: Response[] = [];
    for (let i = 0; i < n; i++) out.push(await this.read(timeoutMs));
    return out;
  }

  /** Resolves true once the server closes the connection, false on timeout. */
  async waitClosed(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Bytes received and not yet read as responses. */
  get pending(): number {
    return this.#buffer.length;
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** One request on a fresh connection, as the tutorial's client makes them. */
export async function callOnce(port: number, method: string, params?: unknown): Promise<Response> {
  const peer = await RawPeer.open(port);
  try {
    peer.write(request(method, params));
    return await peer.read();
  } finally {
    peer.close();
  }
}
