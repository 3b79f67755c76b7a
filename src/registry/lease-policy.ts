/**
 * When a registered server talks to etcd, and what it does next: pure
 * functions over a small state, so the timeline below is tested without
 * etcd, sockets or timers (test/registry/lease-policy.test.ts).
 *
 *   ready      grant ──> put ──> keepalive every ttl/3 ──> ...
 *   etcd down             keepalive fails: retry after 100 ms, 200 ms, ... capped at ttl/4
 *                         (the lease lives on in etcd for ttl after the last keepalive)
 *   etcd back, lease kept keepalive works: nothing else to do
 *   lease gone            (etcd said so, or ttl passed since the last keepalive): grant at once, put
 *   record changed        put (reload: new registryHash)
 *
 * The retry cap of ttl/4 is what bounds re-registration: etcd back at time
 * T, the server has tried again by T + ttl/4 and is registered a round trip
 * later, well within the ttl that clients' leases are measured in.
 */

export type LeaseStep = "grant" | "put" | "keepalive";

export interface LeaseState {
  /** The lease held, or null: none yet, or known lost. */
  readonly lease: string | null;
  /** When etcd last confirmed the lease (grant or keepalive), ms. */
  readonly keptAt: number;
  /** The lease's TTL as granted, ms. */
  readonly ttlMs: number;
  /** The record is not (yet) in etcd as it now is, under this lease. */
  readonly dirty: boolean;
  /** Failed calls in a row. */
  readonly failures: number;
  /** The last failure was etcd saying the lease is gone (re-grant at once, not after a backoff). */
  readonly lost: boolean;
}

export const INITIAL: LeaseState = { lease: null, keptAt: 0, ttlMs: 0, dirty: true, failures: 0, lost: false };

/** What to ask etcd next. */
export function nextStep(s: LeaseState, now: number): LeaseStep {
  // Past its TTL with no keepalive, the lease is gone whatever etcd says when it comes back.
  if (s.lease === null || now - s.keptAt >= s.ttlMs) return "grant";
  return s.dirty ? "put" : "keepalive";
}

export function granted(s: LeaseState, lease: string, ttlS: number, now: number): LeaseState {
  return { ...s, lease, keptAt: now, ttlMs: ttlS * 1000, dirty: true, failures: 0, lost: false };
}

export function put(s: LeaseState): LeaseState {
  return { ...s, dirty: false, failures: 0, lost: false };
}

export function keptAlive(s: LeaseState, now: number): LeaseState {
  return { ...s, keptAt: now, failures: 0, lost: false };
}

/** The record changed: put it again. */
export function changed(s: LeaseState): LeaseState {
  return { ...s, dirty: true };
}

/** A call failed; `leaseLost`: etcd answered that the lease does not exist. */
export function failed(s: LeaseState, leaseLost: boolean): LeaseState {
  if (leaseLost) return { ...s, lease: null, dirty: true, failures: s.failures + 1, lost: true };
  return { ...s, failures: s.failures + 1, lost: false };
}

/** How often a held lease is kept alive: three chances per TTL. */
export function keepAliveEveryMs(ttlS: number): number {
  return Math.max(100, Math.floor((ttlS * 1000) / 3));
}

/** The longest wait between retries while etcd is away: a quarter of the TTL, at most 5 s. */
export function retryMaxMs(ttlS: number): number {
  return Math.min(5_000, Math.max(100, Math.floor((ttlS * 1000) / 4)));
}

/**
 * How long to wait before the next call. After a success: at once if there
 * is more to do (put after grant), else the keepalive period. After a
 * failure: at once when the lease was just reported lost (etcd is up: grant
 * now), else 100 ms doubling to retryMaxMs, drawn from its upper half so
 * that servers cut off together do not come back in lockstep.
 */
export function delayMs(s: LeaseState, ttlS: number, now: number, random: () => number = Math.random): number {
  if (s.failures === 0) return nextStep(s, now) === "keepalive" ? keepAliveEveryMs(ttlS) : 0;
  if (s.lost && s.failures === 1) return 0;
  const ceiling = Math.min(retryMaxMs(ttlS), 100 * 2 ** Math.min(s.failures - 1, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * What to log after a call: "failing" on the first failure of an outage,
 * "recovered" on the first success after one, else nothing. Once per
 * outage, not per attempt: a server retrying every second for an hour must
 * not write 3600 lines.
 */
export function logTransition(before: LeaseState, after: LeaseState): "failing" | "recovered" | null {
  if (before.failures === 0 && after.failures > 0) return "failing";
  if (before.failures > 0 && after.failures === 0) return "recovered";
  return null;
}
