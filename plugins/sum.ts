import { Rpc, RpcError } from "forkrpc";

/** Adds a list of numbers; shows how a handler refuses bad input with its own error. */
@Rpc("sum", { description: "Adds an array of numbers." })
export class Sum {
  handle(params: unknown): number {
    if (!Array.isArray(params) || !params.every((n) => typeof n === "number" && Number.isFinite(n))) {
      throw new RpcError("INVALID_PARAMS", "params must be an array of finite numbers", { got: typeof params });
    }
    return params.reduce((a: number, b: number) => a + b, 0);
  }
}
