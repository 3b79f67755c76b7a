/**
 * Typed calls: checked by `npm run typecheck` (this file is compiled with
 * the tests); the @ts-expect-error lines fail the typecheck if a type stops
 * catching the mistake they make. Nothing here connects anywhere.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RpcClient, type ParamsOf, type ResultOf } from "forkrpc";
import type { Ping, Echo, Pid } from "../fixtures/client/plugins/ping.ts";
import type { Sleep } from "../fixtures/client/plugins/sleep.ts";
import type { Greet } from "../../plugins/greet.ts";
import type { Sum } from "../../plugins/sum.ts";
import { z } from "zod";
import type { Infer, StandardSchema } from "forkrpc";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const yes = <T extends true>(): T => true as T;

type Api = { ping: typeof Ping; sleep: typeof Sleep; pid: typeof Pid };

/** Never called: the compiler checks it. */
async function typed(untyped: RpcClient, api: RpcClient<Api>): Promise<void> {
  yes<Equal<ParamsOf<typeof Sleep>, { ms: number; tag?: unknown }>>();
  yes<Equal<ResultOf<typeof Sleep>, { slept: number; tag: unknown; pid: number }>>();
  yes<Equal<ResultOf<typeof Pid>, number>>();
  yes<Equal<ParamsOf<typeof Echo>, unknown>>();

  // An untyped client takes any name; results are `any`, or typed by a handler class.
  const anything = await untyped.call("whatever", { any: "thing" });
  yes<Equal<typeof anything, any>>();
  const pong = await untyped.call<typeof Ping>("ping", "hello");
  yes<Equal<typeof pong, string>>();
  // @ts-expect-error ping takes a string
  await untyped.call<typeof Ping>("ping", 42);

  // A typed client: names from the map, params and results from the handlers.
  const slept = await api.call("sleep", { ms: 5 });
  yes<Equal<typeof slept, { slept: number; tag: unknown; pid: number }>>();
  const { out, result } = await api.request("pid");
  yes<Equal<typeof out, string>>();
  yes<Equal<typeof result, number>>();
  // @ts-expect-error not a method of the map
  await api.call("pong", "x");
  // @ts-expect-error sleep's params need ms
  await api.call("sleep", { tag: 1 });
  void [anything, pong, slept, out, result];
}

/** A schema's parsed type for the handler, its input type for the caller (issue 11, item 4). */
async function schemaTyped(client: RpcClient<{ greet: typeof Greet; sum: typeof Sum }>): Promise<void> {
  // greet's language has .default("en"): optional to send, always there for the handler.
  yes<Equal<ParamsOf<typeof Greet>, { name: string; language?: "en" | "fr" | "zh" | undefined }>>();
  await client.call("greet", { name: "ada" });
  await client.call("greet", { name: "ada", language: "fr" });
  // @ts-expect-error not one of the schema's languages
  await client.call("greet", { name: "ada", language: "de" });
  // @ts-expect-error name is required by the schema
  await client.call("greet", { language: "en" });
  yes<Equal<ParamsOf<typeof Sum>, number[]>>();
  // @ts-expect-error sum takes an array of numbers
  await client.call("sum", "nope");

  // The handler still sees the parsed type: language is there, a plain property read.
  const Greeting = z.object({ name: z.string(), language: z.string().default("en") });
  const parsed = {} as Infer<typeof Greeting>;
  const language: string = parsed.language;
  // Transforms: the caller sends the input, the handler gets the output.
  const Count = z.string().transform((s) => s.length);
  class Counter {
    handle(n: Infer<typeof Count>) {
      return n + 1;
    }
  }
  yes<Equal<ParamsOf<typeof Counter>, string>>();
  const counted: number = {} as Infer<typeof Count>;
  // Nullable and unknown schemas keep null and unknown on both sides.
  const Maybe = z.object({ n: z.number().default(0) }).nullable();
  class Maybe1 {
    handle(p: Infer<typeof Maybe>) {
      return p?.n ?? -1;
    }
  }
  yes<Equal<ParamsOf<typeof Maybe1>, { n?: number | undefined } | null>>();
  const nothing = {} as Infer<typeof Maybe>;
  // @ts-expect-error the handler's value may be null
  void nothing.n;
  yes<Equal<Infer<StandardSchema<unknown>>, unknown>>();
  class Anything {
    handle(p: Infer<StandardSchema<unknown>>) {
      return p;
    }
  }
  yes<Equal<ParamsOf<typeof Anything>, unknown>>();
  void [language, counted, Greeting, Count, Counter, Maybe, Maybe1, Anything];
}

test("typed calls compile (see npm run typecheck)", () => {
  assert.equal(typeof typed, "function");
  assert.equal(typeof schemaTyped, "function");
});
