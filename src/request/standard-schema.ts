/**
 * The part of the Standard Schema interface forkrpc uses (standardschema.dev).
 * A type only: @Rpc's options name it and middleware/validation.ts runs it.
 */
import type { WithInput } from "../params-input.ts";

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

