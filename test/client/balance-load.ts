/**
 * A bounded load for the balancing tests: CALLERS loops calling `sleep`
 * until stopped (or MAX_CALLS each), recording failures and which process
 * answered each call.
 */
import type { RpcClient } from "forkrpc/client";
import type { Sleep } from "../fixtures/client/plugins/sleep.ts";

const MAX_CALLS_PER_CALLER = 5_000;

export interface Load {
  readonly failures: { idempotent: boolean; error: unknown }[];
  /** Calls answered per pid. */
  readonly pids: Map<number, number>;
  readonly calls: number;
  stop(): Promise<void>;
}

/** `idempotent`: "all", or "half" (every other call of each loop is not). */
export function keepCalling(client: RpcClient, callers: number, idempotent: "all" | "half" = "all"): Load {
  let stopped = false;
  let calls = 0;
  const failures: Load["failures"] = [];
  const pids = new Map<number, number>();
  const loops = Array.from({ length: callers }, async (_, caller) => {
    for (let i = 0; i < MAX_CALLS_PER_CALLER && !stopped; i++) {
      const tag = `${caller}-${i}`;
      const safe = idempotent === "all" || i % 2 === 0;
      try {
        const r = await client.call<typeof Sleep>("sleep", { ms: 1 + (i % 3) * 4, tag }, { idempotent: safe });
        if (r.tag !== tag) throw new Error(`answer ${JSON.stringify(r.tag)} to call ${tag}`);
        pids.set(r.pid, (pids.get(r.pid) ?? 0) + 1);
        calls++;
      } catch (error) {
        failures.push({ idempotent: safe, error });
      }
    }
  });
  return {
    failures,
    pids,
    get calls() {
      return calls;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
