/**
 * A connection's lifecycle as one state and one transition function, with
 * no socket in sight: connection.ts feeds it events and acts on the state it
 * returns (tested in test/server/connection-state.test.ts).
 *
 *   Open ──leave(no ids)──> Departing ──first id──> GoneAway
 *    │  └──leave(ids)─────────────────────────────> GoneAway
 *    │                        │ linger over              │ linger over
 *    └─finish──> Finishing <──┴──────────────────────────┘
 *                   │ nothing owed
 *                   v
 *                Closing (our FIN sent) ──socket closed──> Closed
 *
 * Departing and GoneAway close once nothing is owed and (Departing) the
 * client has been quiet or (both) the goaway linger is over; Finishing
 * closes as soon as nothing is owed. Any state reaches Closed when the
 * socket closes.
 */

export const enum State {
  /** Reading requests and answering them. */
  Open,
  /** Going away from a client that never used ids: it cannot be told, so we wait for a quiet moment. */
  Departing,
  /** Going away, and the client was sent a goaway: new requests are answered UNAVAILABLE. */
  GoneAway,
  /** Reading no more: answer what is owed, then close. */
  Finishing,
  /** Our FIN is sent; waiting for the peer's (or a timer) to release the socket. */
  Closing,
  /** The socket is closed. */
  Closed,
}

export type Event =
  /** The server goes away (shutdown, reload, idle timeout). */
  | { readonly type: "leave"; readonly usedIds: boolean }
  /** A request with an id arrived (the client can now be sent a goaway). */
  | { readonly type: "first-id" }
  /** The goaway linger ran out. */
  | { readonly type: "linger-over" }
  /** Read no more: the client ended its side, a frame took too long, or the stream cannot be framed. */
  | { readonly type: "finish" }
  /** Nothing is owed and the close condition of the state holds: send our FIN. */
  | { readonly type: "idle" }
  | { readonly type: "closed" };

export function transition(state: State, event: Event): State {
  switch (event.type) {
    case "leave":
      if (state !== State.Open) return state;
      return event.usedIds ? State.GoneAway : State.Departing;
    case "first-id":
      return state === State.Departing ? State.GoneAway : state;
    case "linger-over":
    case "finish":
      return state < State.Finishing ? State.Finishing : state;
    case "idle":
      return state >= State.Departing && state <= State.Finishing ? State.Closing : state;
    case "closed":
      return State.Closed;
  }
}

/** Whether requests are still read in this state. */
export function reads(state: State): boolean {
  return state <= State.GoneAway;
}

/**
 * Whether a connection in this state, with nothing owed, may close now.
 * `quiet`: the client has sent nothing for quietMs (only Departing asks).
 */
export function mayClose(state: State, quiet: boolean): boolean {
  if (state === State.Finishing) return true;
  return state === State.Departing && quiet;
}
