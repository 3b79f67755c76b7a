/**
 * Command-line parsing shared by the commands: flags become typed values,
 * and anything unknown or malformed is a UsageError naming the flag.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {
  override name = "UsageError";
}

export type Flags = NonNullable<ParseArgsConfig["options"]>;

export function parseFlags(argv: string[], options: Flags, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function intFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** A JSON command-line value (params, meta); malformed JSON is a UsageError naming it. */
export function jsonArg(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const hint = /^[\p{L}_][\p{L}\p{N}_ -]*$/u.test(text) ? ` (a string needs JSON quotes: '"${text}"')` : "";
    throw new UsageError(`${what} is not valid JSON${hint}: ${(error as Error).message}`);
  }
}

/** --meta: a JSON object, or undefined when the flag is absent. */
export function metaArg(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  const meta = jsonArg("--meta", text);
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) throw new UsageError("--meta must be a JSON object, e.g. '{\"token\":\"abc\"}'");
  return meta as Record<string, unknown>;
}
