/**
 * Reconnect delays: exponential, capped, with jitter so that many clients
 * dropped by one server restart do not come back in lockstep.
 */

export interface BackoffLimits {
  /** The delay before the first retry (failures = 0), before jitter. */
  readonly reconnectDelayMs: number;
  /** The ceiling the doubling stops at. */
  readonly reconnectDelayMaxMs: number;
}

/**
 * The delay before the next attempt after `failures` failures in a row:
 * base * 2^failures, capped, then drawn from its upper half ("equal jitter":
 * never 0, so a server that refuses at once cannot make a client spin).
 *
 * @example
 * backoffDelay(0, { reconnectDelayMs: 50, reconnectDelayMaxMs: 5000 }) // 25..50
 * backoffDelay(10, { reconnectDelayMs: 50, reconnectDelayMaxMs: 5000 }) // 2500..5000
 */
export function backoffDelay(failures: number, limits: BackoffLimits, random: () => number = Math.random): number {
  // 2^failures overflows to Infinity past ~1000, which min() caps as well.
  const ceiling = Math.min(limits.reconnectDelayMaxMs, limits.reconnectDelayMs * 2 ** Math.max(0, failures));
  return Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}
