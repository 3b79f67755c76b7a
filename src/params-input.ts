/**
 * What a caller may send to a method whose params a schema parses. A
 * handler is typed by what its schema produces (`Infer<typeof S>`, after
 * defaults and coercions), but a caller sends what the schema accepts: a
 * zod field with `.default("en")` is optional for the caller and present
 * for the handler. Legacy decorators cannot change a class's type, so the
 * schema's input rides along on the handler's params type as an optional
 * key that exists only for the compiler, and typed calls read it back.
 * Types only: nothing here exists at run time.
 *
 * The key, "~forkrpcInput", is never present on a value. It is a string, not
 * a unique symbol, so that declaration files of an app's handlers can name
 * it (TS4053 otherwise); the "~" sorts it last in editors' completions, as
 * Standard Schema's own "~standard" does.
 */

type IsAny<T> = 0 extends 1 & T ? true : false;

/**
 * `Output`, marked with the `Input` a caller sends. Null and undefined
 * members are left as they are (an intersection would turn them into
 * never), and so are `unknown` and `any` (marking them would narrow them).
 */
export type WithInput<Output, Input> =
  IsAny<Output> extends true ? Output : unknown extends Output ? Output : MarkEach<Output, Input>;

type MarkEach<Output, Input> = Output extends null | undefined ? Output : Output & { readonly "~forkrpcInput"?: Input };

/** The type a caller sends for params typed `P`: the schema's input when `P` carries one, else `P` itself. */
export type InputOf<P> = IsAny<P> extends true ? P : MarkedInput<P>;

// Distributes over a union. An unmarked object type also "extends" a type
// whose only key is optional, with the input inferred as unknown: only a
// known input counts as a mark.
type MarkedInput<P> = P extends { readonly "~forkrpcInput"?: infer I } ? (unknown extends I ? P : I) : P;
