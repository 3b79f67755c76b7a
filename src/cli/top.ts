/**
 * `forkrpc top`: the dashboard's live figures in the terminal, for a
 * server reached over ssh. It reads the admin server's /events (one
 * snapshot per heartbeat) and redraws; it reconnects by itself when the
 * master restarts.
 */
import { request, type IncomingMessage } from "node:http";
import type { Snapshot } from "../admin/snapshot.ts";
import { loadConfig } from "../config.ts";
import { adminAddress } from "../cluster/admin.ts";
import { parseHostPort } from "../config/checks.ts";
import { hostPort } from "../registry/address.ts";
import { intFlag, parseFlags, UsageError } from "./args.ts";
import { renderTop } from "./top-view.ts";

export const TOP_USAGE = `forkrpc top [--admin HOST:PORT] [--config FILE] [--count N]

  --admin        the admin server (default: the config's admin, else 127.0.0.1:9464)
  --config, -c   config file to read admin from (default: rpc.config.* in this folder)
  --count        print this many screens, without clearing, then exit (default: run until Ctrl-C)`;

const TOP_FLAGS = {
  admin: { type: "string" },
  config: { type: "string", short: "c" },
  count: { type: "string" },
} as const;

const RECONNECT_MS = 1_000;
const CLEAR = "\x1b[H\x1b[2J";

export async function top(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, TOP_FLAGS);
  const count = intFlag("count", values.count as string | undefined, 1, 1_000_000);
  const at = await where(values.admin as string | undefined, values.config as string | undefined);
  const source = `http://${hostPort(at.host, at.port)}/`;
  let prev: Snapshot | null = null;
  const carried = new Map<number, number>();
  let shown = 0;
  const tty = process.stdout.isTTY === true && count === undefined;
  for (;;) {
    const failure = await stream(`${source}events`, (snap) => {
      // The first snapshot has no rates yet: it only starts the period (with --count, nothing is shown for it).
      if (prev !== null || count === undefined) {
        process.stdout.write(`${tty ? CLEAR : ""}${renderTop(snap, prev, source, carried)}${tty ? "" : "\n"}`);
        if (prev !== null) shown++;
      }
      prev = snap;
      return count !== undefined && shown >= count;
    });
    if (failure === null) return 0;
    if (count !== undefined) {
      process.stderr.write(`forkrpc top: ${source}events: ${failure}\n`);
      return 1;
    }
    process.stdout.write(`${tty ? CLEAR : ""}forkrpc top: ${source}: ${failure}; reconnecting\n`);
    prev = null;
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

async function where(flag: string | undefined, configPath: string | undefined): Promise<{ host: string; port: number }> {
  if (flag !== undefined) {
    const at = parseHostPort(flag);
    if (at === null) throw new UsageError(`--admin must be HOST:PORT, not ${JSON.stringify(flag)}`);
    return at;
  }
  const config = await loadConfig(configPath).catch((error: unknown) => {
    if (configPath !== undefined) throw error;
    return null; // no config here: the default address
  });
  const at = config === null ? null : adminAddress(config);
  if (at?.port === 0) throw new UsageError("the config's admin port is 0 (picked at each start): pass --admin with the address in the master's log line");
  return at === null ? { host: "127.0.0.1", port: 9464 } : { host: at.host === "0.0.0.0" ? "127.0.0.1" : at.host, port: at.port };
}

/**
 * Reads server-sent events until `onSnapshot` returns true (then null), or
 * the stream fails or ends (then why).
 */
function stream(url: string, onSnapshot: (snap: Snapshot) => boolean): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request(url, { headers: { accept: "text/event-stream" } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        return resolve(`HTTP ${res.statusCode}`);
      }
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        if (buffer.length > MAX_EVENT_CHARS) {
          req.destroy();
          return resolve(`not a forkrpc snapshot: an event of over ${MAX_EVENT_CHARS} characters`);
        }
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split("\n")
            .filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6))
            .join("\n");
          if (data === "") continue;
          const snapshot = snapshotOf(data);
          if (snapshot === null) {
            // Another server on that port: a line saying so, not a TypeError from an event handler.
            req.destroy();
            return resolve(`not a forkrpc snapshot: ${JSON.stringify(data.slice(0, 80))}`);
          }
          if (onSnapshot(snapshot)) {
            req.destroy();
            return resolve(null);
          }
        }
      });
      res.on("end", () => resolve("the stream ended"));
      res.on("error", (error) => resolve(error.message));
    });
    req.on("error", (error) => resolve(error.message));
    req.end();
  });
}

/** A master's snapshot is a few KB (it grows with workers and methods): far past that, it is not one. */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/** The event's snapshot, or null when it is not JSON or not shaped as one (the view reads these fields). */
function snapshotOf(data: string): Snapshot | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  const lists = [v.workers, v.methods, v.slowest, v.events].every(Array.isArray);
  const tables = [v.served, v.codes].every((t) => t !== null && typeof t === "object" && !Array.isArray(t));
  return lists && tables && typeof v.at === "number" ? (value as Snapshot) : null;
}
