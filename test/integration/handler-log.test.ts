/**
 * ctx.log in a handler (README: handlers get it): a pino child bound to the
 * request's method and id, the same object middleware's ctx.log is, writing
 * JSON lines on stderr.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../helpers/server.ts";
import { RawPeer, request } from "../helpers/wire.ts";
import { removeTempApps, tempApp } from "../helpers/temp-app.ts";

after(removeTempApps);

const PLUGIN = `import { Middleware, Rpc, type MiddlewareContext, type Next, type RpcContext } from "forkrpc";

@Middleware()
export class Keep {
  async use(ctx: MiddlewareContext, next: Next) {
    ctx.state.middlewareLog = ctx.log;
    await next();
  }
}

@Rpc("noted")
export class Noted {
  handle(params: unknown, ctx: RpcContext) {
    ctx.log.info({ params }, "handler logged");
    return { same: ctx.log === ctx.state.middlewareLog };
  }
}
`;

test("a handler's ctx.log is the request's logger: bound to method and id, shared with middleware", async () => {
  const app = tempApp("forkrpc-log-", { "plugins/noted.ts": PLUGIN });
  const served = await serve({ cwd: app, timeoutMs: 60_000 });
  try {
    const peer = await RawPeer.open(served.port);
    try {
      peer.write(request("noted", "hi", { id: 7 }));
      assert.deepEqual(await peer.read(), { out: "noted", id: 7, result: { same: true } });
      peer.write(request("noted", "bye"));
      assert.deepEqual(await peer.read(), { out: "noted", result: { same: true } });
    } finally {
      peer.close();
    }
    const lines = () =>
      served
        .stderr()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l))
        .filter((l) => l.msg === "handler logged");
    const deadline = Date.now() + 5_000;
    while (lines().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const [first, second] = lines();
    assert.equal(first.method, "noted");
    assert.equal(first.id, 7);
    assert.equal(first.params, "hi");
    assert.equal(first.level, 30);
    assert.equal(second.method, "noted");
    assert.equal("id" in second, false, "no id key when the request had none");
  } finally {
    await served.stop();
  }
});
