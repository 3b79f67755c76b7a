/**
 * The serve/dev flags that set config keys, derived from the key table: a key
 * with a `flag` gets its parseArgs option, its usage line, and its parse,
 * with the same range the file is checked against. Nested keys may have
 * flags too (--etcd sets registry.etcd.endpoints).
 */
import type { ConfigOverrides } from "../config.ts";
import { isIntCheck } from "../config/checks.ts";
import { keyPaths, type AnyKey, type Flag } from "../config/key.ts";
import { KEYS } from "../config/keys.ts";
import { intFlag, UsageError, type Flags } from "./args.ts";

/** Width of the flag column in usage text, as the hand-written lines of serve.ts. */
const COLUMN = 15;

/** The keys that have a flag, by dotted path ("tls.cert"), in table order. */
function flagged(): Array<[string, AnyKey & { flag: Flag }]> {
  return keyPaths(KEYS).flatMap(([path, entry]) => (entry.flag !== undefined ? [[path, entry as AnyKey & { flag: Flag }]] : []));
}

/** parseArgs options: every value is a string (numbers are parsed here, to name the flag in the error). */
export function configFlagOptions(): Flags {
  return Object.fromEntries(
    flagged().map(([, { flag }]) => [
      flag.name,
      { type: "string" as const, ...(flag.short === undefined ? {} : { short: flag.short }), ...(flag.multiple ? { multiple: true } : {}) },
    ]),
  );
}

/**
 * The command line's config overrides, nested as the table is. Integers out
 * of their key's range, and values a flag's own parse refuses, are usage
 * errors here; anything else is checked with the file's checks when the
 * config is resolved (CONFIG_INVALID, "command line").
 */
export function overridesFrom(values: Record<string, unknown>): ConfigOverrides {
  const overrides: Record<string, unknown> = {};
  for (const [path, { check, flag }] of flagged()) {
    const raw = values[flag.name];
    if (raw === undefined) continue;
    const parts = path.split(".");
    let group = overrides;
    for (const part of parts.slice(0, -1)) group = (group[part] ??= {}) as Record<string, unknown>;
    group[parts.at(-1)!] = isIntCheck(check) ? intFlag(flag.name, raw as string, check.min, check.max) : parsed(flag, raw);
  }
  return overrides as ConfigOverrides;
}

function parsed(flag: Flag, raw: unknown): unknown {
  if (flag.parse === undefined || typeof raw !== "string") return raw;
  const value = flag.parse(raw);
  if (value === undefined) throw new UsageError(`--${flag.name} must be ${flag.arg}, got ${JSON.stringify(raw)}`);
  return value;
}

/** `[--host HOST] [--port N] ...` for the synopsis line. */
export function configFlagSynopsis(): string {
  return flagged()
    .map(([, { flag }]) => `[--${flag.name} ${flag.arg}${flag.multiple ? " ..." : ""}]`)
    .join(" ");
}

/** One usage entry per flag: `  --port, -p     port; ...`, later lines of the help under its first. */
export function configFlagUsage(): string {
  return flagged()
    .map(([, { flag }]) => {
      const label = `--${flag.name}${flag.short === undefined ? "" : `, -${flag.short}`}`;
      // A label as wide as the column keeps two spaces before its help.
      const head = label.length < COLUMN ? label.padEnd(COLUMN) : `${label}  `;
      return `  ${head}${flag.help.split("\n").join(`\n${" ".repeat(COLUMN + 2)}`)}`;
    })
    .join("\n");
}
