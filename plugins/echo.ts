import { Rpc } from "forkrpc";

@Rpc("echo", { description: "Answers with the params it was sent." })
export class Echo {
  handle(params: unknown) {
    return params;
  }
}
