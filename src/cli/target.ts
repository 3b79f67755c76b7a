/**
 * The server a client command talks to, and the token it shows: --host,
 * --port and --token first, then FORKRPC_TOKEN, then the folder's config
 * (rpc.config.*, or --config FILE), then 127.0.0.1:8080. And a quick check
 * that something listens there, so that a stopped server is reported at
 * once and plainly instead of as a timeout. With --tls-ca (and
 * --tls-cert, --tls-key for mutual TLS) the commands speak TLS.
 */
import { readFileSync } from "node:fs";
import type { ClientTlsOptions } from "../client/options.ts";
import { loadConfig, type ServerConfig } from "../config.ts";
import { hostPort } from "../registry/address.ts";
import { connectWithin } from "./connect.ts";
import { intFlag, UsageError } from "./args.ts";

export const TARGET_FLAGS = {
  host: { type: "string" },
  port: { type: "string", short: "p" },
  config: { type: "string", short: "c" },
  token: { type: "string" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-servername": { type: "string" },
} as const;

export const TARGET_USAGE = `  --host         server address (default: the config's host, else 127.0.0.1)
  --port, -p     server port (default: the config's port, else 8080)
  --config, -c   the config to read host, port and token from (default: rpc.config.* here)
  --token        auth token, sent as meta.token (default: $FORKRPC_TOKEN, else the config's first token)
  --tls-ca       speak TLS; the server's certificate must chain to this PEM CA file
  --tls-cert     client certificate (PEM) for mutual TLS, with --tls-key
  --tls-key      the client certificate's private key (PEM)
  --tls-servername  the name the server's certificate must carry (default: --host)`;

export const TOKEN_ENV = "FORKRPC_TOKEN";

export interface Target {
  readonly host: string;
  readonly port: number;
  /** Where the port came from, for messages: "", or " (port from /app/rpc.config.ts)". */
  readonly from?: string;
  /** The token to send as meta.token, if any. */
  readonly token?: string;
  /** TLS settings (PEM texts read from the --tls-* files); absent: plaintext. */
  readonly tls?: ClientTlsOptions;
}

/**
 * Reads the config when no --port says where to go (or --config names one):
 * a server started in this folder listens where its config says. The
 * config's token is only sent to the config's own host, never to a --host
 * given by hand.
 */
export async function targetFrom(values: { host?: unknown; port?: unknown; config?: unknown; token?: unknown; [flag: string]: unknown }): Promise<Target> {
  const flagHost = values.host as string | undefined;
  const flagPort = intFlag("port", values.port as string | undefined, 1, 65535);
  const configPath = values.config as string | undefined;
  let config: ServerConfig | undefined;
  // Importing a config costs a compile (~0.3 s): with --port given, only --config asks for it.
  if (configPath !== undefined || flagPort === undefined) config = await loadConfig(configPath);
  const host = flagHost ?? connectable(config?.host ?? "127.0.0.1");
  const port = flagPort ?? config?.port ?? 8080;
  if (port === 0) {
    throw new UsageError(`the config (${config?.configFile ?? "rpc.config"}) says port 0, a free port picked at each start: pass --port with the port in the server's ready line`);
  }
  const file = config?.configFile;
  // The port is what a user expects to have given; say so when the config chose it.
  const from = file !== undefined && flagPort === undefined ? ` (port from ${file})` : "";
  const explicit = (values.token as string | undefined) ?? nonEmpty(process.env[TOKEN_ENV]);
  if (explicit === "") throw new UsageError("--token must not be empty");
  const token = explicit ?? (flagHost === undefined ? configToken(config) : undefined);
  const tls = tlsFrom(values);
  return { host, port, from, ...(token === undefined ? {} : { token }), ...(tls === undefined ? {} : { tls }) };
}

/** The --tls-* flags as client TLS options; undefined without any. */
export function tlsFrom(values: Record<string, unknown>): ClientTlsOptions | undefined {
  const [ca, cert, key, servername] = ["tls-ca", "tls-cert", "tls-key", "tls-servername"].map((f) => values[f] as string | undefined);
  if (ca === undefined && cert === undefined && key === undefined && servername === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError("give --tls-cert and --tls-key together");
  if (servername === "") throw new UsageError("--tls-servername must not be empty");
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new UsageError(`--${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  return {
    ...(ca === undefined ? {} : { ca: read("tls-ca", ca) }),
    ...(cert === undefined ? {} : { cert: read("tls-cert", cert) }),
    ...(key === undefined ? {} : { key: read("tls-key", key) }),
    ...(servername === undefined ? {} : { servername }),
  };
}

/** A server listening on every address is reached on the loopback one. */
function connectable(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "::1";
  return host;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}

/** The config's auth token: the first of a list, or the first with every scope ("*"), else the first. */
function configToken(config: ServerConfig | undefined): string | undefined {
  const tokens = config?.auth?.tokens;
  if (tokens === undefined) return undefined;
  if (Array.isArray(tokens)) return tokens[0] as string | undefined;
  const entries = Object.entries(tokens as Record<string, { scopes?: readonly string[] }>);
  const all = entries.find(([, p]) => Array.isArray(p?.scopes) && p.scopes.includes("*"));
  return (all ?? entries[0])?.[0];
}

/** The meta to send: --meta's object with the target's token, unless --meta carries its own. */
export function withToken(meta: Record<string, unknown> | undefined, target: Target, tokenFlag: unknown): Record<string, unknown> | undefined {
  if (meta !== undefined && Object.hasOwn(meta, "token")) {
    if (tokenFlag !== undefined) throw new UsageError("give the token once: --token, or \"token\" in --meta");
    return meta;
  }
  if (target.token === undefined) return meta;
  return { ...meta, token: target.token };
}

/** What to tell a user whose server cannot be reached. */
export function unreachable(target: Target, why: string): string {
  const hint = /ECONNREFUSED/.test(why) ? ": nothing listens there (is the server running? forkrpc serve)" : `: ${why}`;
  return `forkrpc: cannot connect to ${hostPort(target.host, target.port)}${target.from ?? ""}${hint}`;
}

/**
 * Opens and closes one connection; resolves with null when it opened, or
 * with why it did not. (RpcClient keeps reconnecting until the call's
 * deadline, which is right for a long-lived client and slow for a command.)
 * With TLS the handshake is part of it, so a refused certificate is said plainly.
 */
export function probe(target: Target, timeoutMs: number): Promise<string | null> {
  return connectWithin(target.host, target.port, timeoutMs, target.tls).then(
    (socket) => {
      socket.destroy();
      return null;
    },
    (error: Error) => error.message,
  );
}
