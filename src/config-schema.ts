/**
 * Validation of rpc.config.ts and of the command line's overrides: one
 * table of checks, walked key by key, so that every error names the key.
 */
import { BootError } from "./errors.ts";
import type { ForkrpcConfig } from "./config.ts";

type Check = (value: unknown) => string | null;

const int = (min: number, max: number): Check => (v) =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? null : `an integer from ${min} to ${max}`;
const nonEmptyString: Check = (v) => (typeof v === "string" && v !== "" ? null : "a non-empty string");
const oneOf = (...values: string[]): Check => (v) =>
  typeof v === "string" && values.includes(v) ? null : `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`;
const bool: Check = (v) => (typeof v === "boolean" ? null : "true or false");
const functions: Check = (v) => (Array.isArray(v) && v.every((f) => typeof f === "function") ? null : "an array of middleware functions");
const authCheck: Check = (v) => {
  const want = "{ tokens?: string[] | Record<token, principal>, verify?: (token, ctx) => principal | null }";
  if (v === null || typeof v !== "object" || Array.isArray(v)) return want;
  const { tokens, verify, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `${want} (unknown key "${Object.keys(rest)[0]}")`;
  if (verify !== undefined && typeof verify !== "function") return want;
  if (tokens === undefined) return verify === undefined ? `${want} (give tokens or verify)` : null;
  if (Array.isArray(tokens)) return tokens.every((t) => typeof t === "string" && t !== "") ? null : want;
  if (tokens === null || typeof tokens !== "object") return want;
  return Object.values(tokens).every((p) => p !== null && typeof p === "object" && !Array.isArray(p)) ? null : want;
};
const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];
const accessLogCheck: Check = (v) => {
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
};
const builtIns: Check = (v) =>
  Array.isArray(v) && v.every((m) => m === "rpc.discover" || m === "rpc.health") ? null : 'an array of "rpc.discover", "rpc.health"';
const patterns: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === "string" && p !== "")
    ? null
    : "a non-empty array of glob patterns";

const SCHEMA = {
  host: nonEmptyString,
  port: int(0, 65535),
  workers: int(0, 256),
  plugins: patterns,
  limits: {
    maxFrameBytes: int(1, 0xffffffff),
    readTimeoutMs: int(1, 2 ** 31 - 1),
    maxJsonDepth: int(1, 100_000),
    maxPipelined: int(1, 1_000_000),
    maxInflightPerConnection: int(0, 1_000_000),
    maxInflightPerWorker: int(0, 10_000_000),
    maxConnections: int(0, 10_000_000),
    idleTimeoutMs: int(0, 2 ** 31 - 1),
    maxWriteBufferBytes: int(1024, 2 ** 31 - 1),
    writeTimeoutMs: int(0, 2 ** 31 - 1),
  },
  shutdown: {
    graceMs: int(0, 2 ** 31 - 1),
    goawayLingerMs: int(0, 60_000),
    quietMs: int(0, 60_000),
  },
  accept: oneOf("shared", "round-robin"),
  pidFile: nonEmptyString,
  middleware: functions,
  auth: authCheck,
  accessLog: accessLogCheck,
  deadline: { defaultTimeoutMs: int(0, 2 ** 31 - 1) },
  introspection: { discover: bool, health: bool, public: builtIns },
  supervision: {
    workerTimeoutMs: int(100, 2 ** 31 - 1),
    heartbeatMs: int(10, 60_000),
    bootTimeoutMs: int(100, 2 ** 31 - 1),
    respawnDelayMs: int(0, 600_000),
    respawnDelayMaxMs: int(0, 600_000),
    minUptimeMs: int(0, 2 ** 31 - 1),
    crashLoopLimit: int(1, 1000),
    maxRequests: int(0, Number.MAX_SAFE_INTEGER),
    maxRequestsJitter: int(0, Number.MAX_SAFE_INTEGER),
    maxRssMb: int(0, 1_000_000),
    hookTimeoutMs: int(1, 2 ** 31 - 1),
  },
} as const;

type Schema = { readonly [key: string]: Check | Schema };

/** Throws CONFIG_INVALID naming the first unknown or ill-typed key. */
export function validateConfig(value: unknown, where: string): ForkrpcConfig {
  walk(value, SCHEMA, "", where);
  return value as ForkrpcConfig;
}

function walk(value: unknown, schema: Schema, path: string, where: string): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BootError("CONFIG_INVALID", `${where}: ${path || "the config"} must be an object`);
  }
  for (const [key, v] of Object.entries(value)) {
    const name = path ? `${path}.${key}` : key;
    const rule = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (rule === undefined) throw new BootError("CONFIG_INVALID", `${where}: unknown config key "${name}"${didYouMean(key, Object.keys(schema), path)}`);
    if (v === undefined) continue;
    if (typeof rule === "function") {
      const want = rule(v);
      if (want !== null) throw new BootError("CONFIG_INVALID", `${where}: "${name}" must be ${want}, got ${JSON.stringify(v)}`);
    } else {
      walk(v, rule, name, where);
    }
  }
}

/** ` (did you mean "workers"?)` for the known key nearest a misspelt one, within 2 edits; else "". */
function didYouMean(key: string, known: readonly string[], path: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? "" : ` (did you mean "${path ? `${path}.` : ""}${best}"?)`;
}

/** Levenshtein distance, or `limit` once it is known to be at least that (keys are short; this bounds the work). */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    if (Math.min(...row) >= limit) return limit;
    previous = row;
  }
  return previous[b.length] as number;
}
