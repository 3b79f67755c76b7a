/**
 * Checks, before anything is constructed, that every constructor parameter
 * of a handler and of the services it needs (transitively) can be injected.
 * tsyringe would fail too, but with "Cannot inject the dependency at
 * position #0" and no word of why; the usual cause is a type imported with
 * `import type`, or an interface, which leave only `Object` in the metadata.
 * Built-in classes (Map, Date, URL...) are refused too: tsyringe would not
 * fail on them, it would quietly construct a fresh one.
 */
import type { DependencyContainer, InjectionToken } from "tsyringe";
import { BootError, describe } from "../errors.ts";

const INJECTION_TOKENS = "injectionTokens"; // tsyringe's metadata key for @inject()
const NOT_INJECTABLE = new Set<unknown>([undefined, Object, String, Number, Boolean, Symbol, BigInt, Array, Function, Promise]);
// Built-in classes tsyringe can construct: it would quietly inject a new,
// empty Map (or Date, or URL...) instead of the one the app means to share.
// Checked by name against globalThis, so a user class that is merely named
// "URL" stays injectable, and Node's lazy globals load only when asked about.
const BUILT_IN_NAMES = new Set([
  "Date", "RegExp", "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Proxy",
  "Error", "AggregateError", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError",
  "ArrayBuffer", "SharedArrayBuffer", "DataView",
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
  "URL", "URLSearchParams", "Buffer", "Blob", "File", "FormData", "Headers", "Request", "Response",
  "AbortController", "AbortSignal", "Event", "EventTarget", "CustomEvent", "DOMException",
  "TextEncoder", "TextDecoder", "MessageChannel", "MessagePort", "BroadcastChannel",
]);

/** A built-in constructor of the runtime (Map, Date, URL...), as opposed to a class of the app. */
export function isBuiltIn(type: unknown): type is Function {
  if (typeof type !== "function" || !BUILT_IN_NAMES.has(type.name)) return false;
  return Reflect.get(globalThis, type.name) === type;
}

/** Returns a description of the first problem found, or null. */
export function findInjectionProblem(cls: Function, container: DependencyContainer, path: string[] = [], seen = new Set<Function>()): string | null {
  if (seen.has(cls)) return null;
  seen.add(cls);
  const chain = [...path, cls.name || "(anonymous class)"];
  // Own metadata only: tsyringe keys what it knows by the exact class, so a
  // subclass does not inherit its base's decorator.
  const types = Reflect.getOwnMetadata("design:paramtypes", cls) as unknown[] | undefined;
  const tokens = (Reflect.getOwnMetadata(INJECTION_TOKENS, cls) ?? {}) as Record<number, unknown>;
  if (types === undefined) {
    const inherited = Reflect.getMetadata("design:paramtypes", cls) as unknown[] | undefined;
    if (cls.length > Object.keys(tokens).length || (inherited?.length ?? 0) > 0) {
      return `${chain.join(" -> ")} has constructor parameters but no type metadata of its own: decorate it with @injectable() or @singleton() (a base class's decorator does not carry over), and compile with "emitDecoratorMetadata" and "experimentalDecorators"`;
    }
    return null;
  }
  for (let i = 0; i < types.length; i++) {
    if (Object.hasOwn(tokens, i)) continue;
    const type = types[i];
    if (NOT_INJECTABLE.has(type)) {
      const what = type === undefined ? "no type" : `type ${(type as Function).name}`;
      return `${chain.join(" -> ")}: constructor parameter ${i + 1} (index ${i}) has ${what} in its metadata, so it cannot be injected. If it is a class, import it with a value import (not "import type"); if it is an interface or a primitive, inject it with @inject(token)`;
    }
    // Registered under the built-in itself (container.register(Map, { useValue })) is fine.
    if (isBuiltIn(type) && !container.isRegistered(type as never, true)) {
      return `${chain.join(" -> ")}: constructor parameter ${i + 1} (index ${i}) has type ${type.name}, a built-in class, so it cannot be injected by type: the container would pass a new ${type.name} made with no arguments, not the one you mean. Inject it with @inject(token) and register a value under that token (container.register(token, { useValue: ... }))`;
    }
    if (typeof type === "function" && !container.isRegistered(type as never, true)) {
      const deeper = findInjectionProblem(type, container, chain, seen);
      if (deeper !== null) return deeper;
    }
  }
  return null;
}

/** Every token a class needs to be constructed, transitively, dependencies first. */
export function dependencyTokens(cls: Function, out = new Set<unknown>()): Set<unknown> {
  const types = (Reflect.getMetadata("design:paramtypes", cls) ?? []) as unknown[];
  const tokens = (Reflect.getOwnMetadata(INJECTION_TOKENS, cls) ?? {}) as Record<number, unknown>;
  for (let i = 0; i < types.length; i++) {
    const given = tokens[i];
    // @inject(token) stores either the token or a descriptor { token, ... }
    const token = given === undefined ? types[i] : typeof given === "object" && given !== null && "token" in given ? (given as { token: unknown }).token : given;
    if (token === undefined || NOT_INJECTABLE.has(token) || isBuiltIn(token) || out.has(token)) continue;
    if (typeof token === "function") dependencyTokens(token, out);
    out.add(token);
  }
  return out;
}

/**
 * Builds `cls` through the container, as every class the registry makes is
 * built: its constructor's parameters checked first (INJECTION_METADATA
 * names the bad one), then resolved (INJECTION_FAILED wraps what threw).
 * `where` is the file shown in errors, `what` the thing being built.
 */
export function construct<T>(cls: new (...args: never[]) => T, container: DependencyContainer, where: string, what: string): T {
  const problem = findInjectionProblem(cls, container);
  if (problem !== null) throw new BootError("INJECTION_METADATA", `${where}: ${problem}`);
  try {
    return container.resolve(cls as unknown as InjectionToken<T>);
  } catch (cause) {
    throw new BootError("INJECTION_FAILED", `${where}: constructing ${what} failed: ${describe(cause)}`, { cause });
  }
}
