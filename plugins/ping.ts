import { Rpc } from "forkrpc";

/** The tutorial's method: answers "pong" with the params it was sent. */
@Rpc("ping", { out: "pong", description: "Answers pong with the params it was sent." })
export class Ping {
  handle(params: unknown) {
    return params;
  }
}
