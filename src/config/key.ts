/**
 * What one config key is: its check, its default and, for the few the
 * command line may set, its flag. The key table (keys.ts) is made of these,
 * and the config's types are derived from it here, so a new key is one entry
 * (fastify derives types, defaults and checks from one schema the same way).
 */
import type { Check } from "./checks.ts";

/** A command-line flag that sets a top-level key (forkrpc serve and dev). */
export interface Flag {
  /** Long name, without "--". */
  readonly name: string;
  readonly short?: string;
  /** Placeholder for the value in the usage line ("N", "HOST"). */
  readonly arg: string;
  /** Usage text; its lines after the first are indented under the first. */
  readonly help: string;
  /** May be given more than once, each adding one element. */
  readonly multiple?: true;
}

/**
 * A key's resolved value: arrays become read-only, and an array of string
 * literals resolves to strings, so `config.introspection.public.includes(name)`
 * takes any method name.
 */
export type Resolved<T> = T extends readonly (infer E)[] ? readonly (E extends string ? string : E)[] : T;

export class ConfigKey<T, R, F extends Flag | undefined> {
  constructor(
    readonly check: Check<T>,
    /** The value when neither the file nor the command line gives one; called per resolve, so arrays are not shared. */
    readonly fallback: () => R,
    readonly flag: F,
    /** A file path: resolved against the config file's folder, or the current folder when it comes from the flag. */
    readonly isPath: boolean,
    /** The default depends on the machine (CPU count, descriptor limit), so docs describe it in words. */
    readonly defaultVaries: boolean,
  ) {}
}

export type AnyKey = ConfigKey<unknown, unknown, Flag | undefined>;
export type Table = { readonly [name: string]: AnyKey | Table };

interface Common<T, F> {
  check: Check<T>;
  flag?: F;
}

/** A key with a default: a value, or (`defaultFrom`) a function for one that depends on the machine. */
export function key<T, F extends Flag | undefined = undefined>(
  spec: Common<T, F> & ({ default: Resolved<T> } | { defaultFrom: () => Resolved<T> }),
): ConfigKey<T, Resolved<T>, F> {
  const fallback = "defaultFrom" in spec ? spec.defaultFrom : copier(spec.default);
  return new ConfigKey(spec.check, fallback, spec.flag as F, false, "defaultFrom" in spec);
}

/** A key that is absent (undefined) unless set; `path: true` makes it a file path. */
export function optionalKey<T, F extends Flag | undefined = undefined>(
  spec: Common<T, F> & { path?: true },
): ConfigKey<T, Resolved<T> | undefined, F> {
  return new ConfigKey(spec.check, () => undefined, spec.flag as F, spec.path === true, false);
}

function copier<V>(value: V): () => V {
  return Array.isArray(value) ? () => [...value] as V : () => value;
}

export function isKey(entry: AnyKey | Table): entry is AnyKey {
  return entry instanceof ConfigKey;
}

/** Every key of the table with its dotted path ("limits.maxFrameBytes"), in table order. */
export function keyPaths(table: Table, prefix = ""): Array<[string, AnyKey]> {
  return Object.entries(table).flatMap(([name, entry]) =>
    isKey(entry) ? [[prefix + name, entry] as [string, AnyKey]] : keyPaths(entry, `${prefix}${name}.`),
  );
}

/** What a config file may say: every key optional, groups nested as in the table. */
export type FileOf<S> = { -readonly [K in keyof S]?: S[K] extends ConfigKey<infer T, any, any> ? T : FileOf<S[K]> };

/** The resolved config: every key present, with its default filled in. */
export type ResolvedOf<S> = { readonly [K in keyof S]: S[K] extends ConfigKey<any, infer R, any> ? R : ResolvedOf<S[K]> };

/** A table's own keys that have a flag, with their types. */
type KeyFlags<S> = {
  -readonly [K in keyof S as S[K] extends ConfigKey<unknown, unknown, Flag> ? K : never]?: S[K] extends ConfigKey<infer T, unknown, Flag> ? T : never;
};

/** The keys the command line may set, with their types; a group appears when one of its keys has a flag (tls.cert: --tls-cert). */
export type FlagsOf<S> = KeyFlags<S> & {
  -readonly [K in keyof S as S[K] extends AnyKey ? never : keyof KeyFlags<S[K]> extends never ? never : K]?: KeyFlags<S[K]>;
};
