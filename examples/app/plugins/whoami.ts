import { Rpc, type RpcContext } from "forkrpc";

/** Who the server thinks the caller is (auth put the principal in ctx.state). */
@Rpc("whoami", { description: "The caller's principal." })
export class WhoAmI {
  handle(_params: unknown, ctx: RpcContext) {
    return { principal: ctx.state.principal ?? null, peer: ctx.peer.address };
  }
}

/** Public: answers without a token (a load balancer's check, say). */
@Rpc("version", { description: "The app's version.", public: true })
export class Version {
  handle() {
    return { app: "forkrpc-example-app", node: process.version };
  }
}
