import { z } from "zod";
import { Rpc, type Infer, type RpcContext } from "forkrpc";

const Greeting = z.object({
  name: z.string().min(1).max(100),
  language: z.enum(["en", "fr", "zh"]).default("en"),
});

const HELLO = { en: "Hello", fr: "Bonjour", zh: "你好" } as const;

/** Validated, typed params (with a default filled in), and a deadline of its own. */
@Rpc("greet", { description: "Greets someone by name.", params: Greeting, timeoutMs: 1_000 })
export class Greet {
  handle(params: Infer<typeof Greeting>, ctx: RpcContext) {
    return { greeting: `${HELLO[params.language]}, ${params.name}!`, caller: ctx.peer.address };
  }
}
