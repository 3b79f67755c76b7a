/**
 * Why a worker that just exited was replaced, as the label of
 * forkrpc_worker_restarts_total: a pure function of its last state and
 * the reasons the supervisor gave, so it is tested without forks.
 */
import type { RestartReason } from "../metrics/totals.ts";
import type { MasterPhase, WorkerState } from "./records.ts";

/** The kind of a recycle, from the reason policy.ts's recycleReason gave. */
export function recycleKind(why: string): RestartReason | undefined {
  if (why.startsWith("served ")) return "max_requests";
  if (why.startsWith("RSS ")) return "max_rss";
  return undefined;
}

/**
 * `from`: the state it exited from; `endReason`: why the supervisor retired
 * or killed it; `recycled`: its recycle kind, if it was recycled. Undefined
 * when the exit replaces nothing: the master is stopping, or an abandoned
 * reload's worker goes.
 */
export function restartReason(
  from: WorkerState,
  endReason: string | undefined,
  recycled: RestartReason | undefined,
  phase: MasterPhase,
): RestartReason | undefined {
  if (phase === "stopping" || phase === "stopped") return undefined;
  if (from === "retiring") {
    if (endReason === "reload") return "reload";
    if (endReason === "scaled down") return "scale";
    if (endReason === "replaced") return recycled;
    return undefined;
  }
  if (from === "killed") return endReason?.startsWith("hung") || endReason?.startsWith("not ready after") ? "hung" : undefined;
  return "crash";
}
