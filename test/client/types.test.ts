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

test("typed calls compile (see npm run typecheck)", () => {
  assert.equal(typeof typed, "function");
});
