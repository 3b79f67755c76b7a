import { Rpc, ServerConfig, singleton, type RpcContext } from "forkrpc";

/** A service: one instance per worker, injected wherever a constructor asks for it. */
@singleton()
export class CallCounter {
  #calls = 0;
  count(): number {
    return ++this.#calls;
  }
}

/** Shows constructor injection: a plugin service and the resolved config, by type. */
@Rpc("stats", { description: "Which worker answered, how often it has, and its limits." })
export class Stats {
  constructor(
    private readonly counter: CallCounter,
    private readonly config: ServerConfig,
  ) {}

  handle(_params: unknown, ctx: RpcContext) {
    return {
      pid: process.pid,
      calls: this.counter.count(),
      maxFrameBytes: this.config.limits.maxFrameBytes,
      peer: ctx.peer.address,
    };
  }
}
