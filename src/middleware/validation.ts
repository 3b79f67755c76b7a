/**
 * Params validation with any Standard Schema validator (zod, valibot,
 * arktype...): a handler declares `@Rpc("add", { params: schema })`, bad
 * params are answered INVALID_PARAMS with the issues in `data`, and handle()
 * receives the parsed value.
 */
import { RpcError } from "../errors.ts";
import type { MiddlewareFn } from "./types.ts";
import type { StandardSchema } from "../request/standard-schema.ts";

export type { StandardSchema, StandardResult, Infer } from "../request/standard-schema.ts";

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
