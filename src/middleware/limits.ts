/**
 * In-flight limits: requests running at once on one connection and in the
 * whole worker. Past either, a request is answered RESOURCE_EXHAUSTED at
 * once (the client may retry later or elsewhere); nothing queues without
 * bound. Checked before anything else runs, so it is a comparison, not a
 * middleware in the chain. 0 means no limit.
 */
import { fault, type Fault } from "../protocol/codes.ts";

export interface InflightLimits {
  readonly maxInflightPerConnection: number;
  readonly maxInflightPerWorker: number;
}

const CONNECTION_FULL = fault("RESOURCE_EXHAUSTED", "too many requests in flight on this connection");
const WORKER_FULL = fault("RESOURCE_EXHAUSTED", "too many requests in flight in this worker");

export function overLimit(limits: InflightLimits, onConnection: number, inWorker: number): Fault | null {
  if (limits.maxInflightPerConnection > 0 && onConnection >= limits.maxInflightPerConnection) return CONNECTION_FULL;
  if (limits.maxInflightPerWorker > 0 && inWorker >= limits.maxInflightPerWorker) return WORKER_FULL;
  return null;
}
