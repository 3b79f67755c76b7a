/**
 * The checks a config key's value must pass, each typed by the value it
 * admits: the key table (keys.ts) derives the config's types from them, so a
 * key's type and its check cannot disagree.
 */
import type { AccessLogOptions } from "../middleware/access-log.ts";
import type { AuthOptions } from "../middleware/auth.ts";
import type { MiddlewareFn } from "../middleware/types.ts";

/**
 * null when the value is acceptable, else what it must be ("an integer from
 * 0 to 65535"). `T` only carries the admitted type to the table's types.
 */
export type Check<T> = ((value: unknown) => string | null) & { readonly admits?: T };

/** An integer check keeps its range: a command-line flag parses against it, and docs are tested against it. */
export type IntCheck = Check<number> & { readonly min: number; readonly max: number };

function check<T>(fn: (value: unknown) => string | null): Check<T> {
  return fn;
}

export function int(min: number, max: number): IntCheck {
  const fn = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? null : `an integer from ${min} to ${max}`);
  return Object.assign(fn, { min, max });
}

export function isIntCheck(c: Check<unknown>): c is IntCheck {
  return typeof (c as Partial<IntCheck>).min === "number";
}

export const nonEmptyString = check<string>((v) => (typeof v === "string" && v !== "" ? null : "a non-empty string"));

export function oneOf<const V extends string>(...values: V[]): Check<V> {
  return check<V>((v) => (typeof v === "string" && (values as string[]).includes(v) ? null : `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`));
}

/** Client URLs of etcd members: http:// or https://, at least one. */
export const urls = check<string[]>((v) =>
  Array.isArray(v) && v.length > 0 && v.every((u) => typeof u === "string" && /^https?:\/\/[^/\s]+\/?$/.test(u))
    ? null
    : 'a non-empty array of etcd client URLs ("http://HOST:PORT")',
);

/** A key prefix in etcd: starts with "/", no trailing "/". */
export const keyPrefix = check<string>((v) => (typeof v === "string" && /^\/[^\s]*[^/\s]$/.test(v) ? null : 'a key prefix such as "/forkrpc" (a leading "/", none at the end)'));

/** A service name: one segment of a registry key. */
export const serviceName = check<string>((v) => (typeof v === "string" && /^[A-Za-z0-9._:-]{1,128}$/.test(v) ? null : "a name of 1 to 128 letters, digits, '.', '_', ':' or '-'"));

/** Where clients should connect: { host, port }. */
export const hostPort = check<{ host: string; port: number }>((v) => {
  const want = "{ host: string, port: 1..65535 }";
  if (v === null || typeof v !== "object" || Array.isArray(v)) return want;
  const { host, port, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `${want} (unknown key "${Object.keys(rest)[0]}")`;
  if (host === "0.0.0.0" || host === "::") return `${want}: an address clients can reach, not the wildcard ${host}`;
  return typeof host === "string" && host !== "" && Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536 ? null : want;
});

export const bool = check<boolean>((v) => (typeof v === "boolean" ? null : "true or false"));

export const patterns = check<string[]>((v) =>
  Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === "string" && p !== "") ? null : "a non-empty array of glob patterns",
);

export const functions = check<MiddlewareFn[]>((v) =>
  Array.isArray(v) && v.every((f) => typeof f === "function") ? null : "an array of middleware functions",
);

export const builtIns = check<Array<"rpc.discover" | "rpc.health">>((v) =>
  Array.isArray(v) && v.every((m) => m === "rpc.discover" || m === "rpc.health") ? null : 'an array of "rpc.discover", "rpc.health"',
);

export const auth = check<AuthOptions>((v) => {
  const want = "{ tokens?: string[] | Record<token, principal>, verify?: (token, ctx) => principal | null, mtls?: Record<identity, principal> | (cert, ctx) => principal | null }";
  if (v === null || typeof v !== "object" || Array.isArray(v)) return want;
  const { tokens, verify, mtls, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `${want} (unknown key "${Object.keys(rest)[0]}")`;
  if (verify !== undefined && typeof verify !== "function") return want;
  if (mtls !== undefined && typeof mtls !== "function" && !principals(mtls)) return `${want} (bad "mtls")`;
  if (tokens === undefined) return verify === undefined && mtls === undefined ? `${want} (give tokens, verify or mtls)` : null;
  if (Array.isArray(tokens)) return tokens.every((t) => typeof t === "string" && t !== "") ? null : want;
  return principals(tokens) ? null : want;
});

/** A Record<string, principal>: an object whose values are objects. */
function principals(v: unknown): boolean {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  return Object.values(v).every((p) => p !== null && typeof p === "object" && !Array.isArray(p));
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];

export const accessLog = check<boolean | AccessLogOptions>((v) => {
  const want = 'true, false, or { level?: "info" | ..., sampleRate?: 0..1, params?: boolean }';
  if (typeof v === "boolean") return null;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return want;
  for (const [key, value] of Object.entries(v)) {
    const ok =
      (key === "level" && LEVELS.includes(value as string)) ||
      (key === "sampleRate" && typeof value === "number" && value >= 0 && value <= 1) ||
      (key === "params" && typeof value === "boolean");
    if (!ok) return `${want} (bad "${key}")`;
  }
  return null;
});

/** Where the admin server listens: `{ host?, port }` or "HOST:PORT" (the flag's form; "[::1]:9464" for IPv6). */
export interface AdminAddress {
  readonly host?: string;
  readonly port: number;
}

/** "HOST:PORT" as an address, or null when it is not one. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) return null;
  return { host: (m[1] ?? m[2]) as string, port };
}

export const adminAddress = check<AdminAddress | string>((v) => {
  const want = '{ host?: string, port: 0..65535 } or "HOST:PORT"';
  if (typeof v === "string") return parseHostPort(v) === null ? want : null;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return want;
  const { host, port, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `${want} (unknown key "${Object.keys(rest)[0]}")`;
  if (host !== undefined && (typeof host !== "string" || host === "")) return want;
  return typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535 ? null : want;
});
