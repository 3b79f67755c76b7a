/**
 * Validation of rpc.config.ts and of the command line's overrides: the key
 * table (config/keys.ts) walked key by key, so that every error names the key.
 */
import { BootError } from "./errors.ts";
import { isKey, type Table } from "./config/key.ts";
import { KEYS, type ForkrpcConfig } from "./config/keys.ts";

/** Throws CONFIG_INVALID naming the first unknown or ill-typed key. */
export function validateConfig(value: unknown, where: string): ForkrpcConfig {
  walk(value, KEYS, "", where);
  return value as ForkrpcConfig;
}

function walk(value: unknown, schema: Table, path: string, where: string): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BootError("CONFIG_INVALID", `${where}: ${path || "the config"} must be an object`);
  }
  for (const [key, v] of Object.entries(value)) {
    const name = path ? `${path}.${key}` : key;
    const rule = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (rule === undefined) throw new BootError("CONFIG_INVALID", `${where}: unknown config key "${name}"${didYouMean(key, Object.keys(schema), path)}`);
    if (v === undefined) continue;
    if (isKey(rule)) {
      const want = rule.check(v);
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
