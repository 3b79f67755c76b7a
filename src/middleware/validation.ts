/**
 * Params validation with any Standard Schema validator (zod, valibot,
 * arktype...): a handler declares `@Rpc("add", { params: schema })`, bad
 * params are answered INVALID_PARAMS with the issues in `data`, and handle()
 * receives the parsed value.
 */
import { RpcError } from "../errors.ts";
import type { WithInput } from "../params-input.ts";
import type { MiddlewareFn } from "./types.ts";

/** The part of the Standard Schema interface forkrpc uses (standardschema.dev). */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output };
    /** Standard JSON Schema, where the library offers it (zod 4 does). */
    readonly jsonSchema?: { readonly input: (options: { target: string }) => Record<string, unknown> };
  };
}

export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> }> };

/**
 * The type a schema produces: use it for handle()'s params. It also carries
 * what the schema accepts, so that typed client calls ask the caller for
 * that (a field with a default is optional to the caller) and not for the
 * parsed value (src/params-input.ts).
 */
export type Infer<S> = S extends StandardSchema<infer I, infer O> ? WithInput<O, I> : never;

export function isStandardSchema(value: unknown): value is StandardSchema {
  const std = (value as { "~standard"?: { validate?: unknown } } | null)?.["~standard"];
  return typeof std === "object" && std !== null && typeof std.validate === "function";
}

export function validate(schema: StandardSchema): MiddlewareFn {
  return async (ctx, next) => {
    let result = schema["~standard"].validate(ctx.request.params);
    if (result instanceof Promise) result = await result;
    if (result.issues !== undefined) {
      const issues = result.issues.map((issue) => ({ message: issue.message, path: pathOf(issue.path) }));
      throw new RpcError("INVALID_PARAMS", `params do not match ${ctx.request.method}'s schema`, { issues });
    }
    ctx.request.params = result.value;
    await next();
  };
}

function pathOf(path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): Array<string | number> {
  return (path ?? []).map((p) => {
    const key = typeof p === "object" && p !== null ? p.key : p;
    return typeof key === "number" ? key : String(key);
  });
}

/** The params' JSON Schema for introspection, when the validator can say it. */
export function jsonSchemaOf(schema: StandardSchema | undefined): Record<string, unknown> | undefined {
  try {
    return schema?.["~standard"].jsonSchema?.input({ target: "draft-2020-12" });
  } catch {
    return undefined; // some types (bigint, symbol) have no JSON Schema
  }
}
