/**
 * Which endpoint a call goes to: the less loaded of two picked at random
 * ("power of two choices"). Two random picks instead of the global minimum
 * keep many clients from all rushing to the one server that looked idlest a
 * moment ago, while still steering away from a slow or full one: with n
 * endpoints, the maximum load stays within O(log log n) of the mean instead
 * of O(log n / log log n) for one random pick (Mitzenmacher, 2001).
 */

import { hostPort } from "../registry/address.ts";

/** Something a call can be sent to, with its calls outstanding now. */
export interface Weighed {
  readonly outstanding: number;
}

/**
 * The less loaded of two distinct random entries among the first `count` of
 * `candidates` (a reused scratch array: picking allocates nothing); the first
 * of the two on a tie. null when count is 0.
 *
 * @example
 * pickOfTwo([{ outstanding: 3 }, { outstanding: 1 }], 2, Math.random) // { outstanding: 1 }
 */
export function pickOfTwo<T extends Weighed>(candidates: readonly T[], count: number, random: () => number): T | null {
  if (count <= 0) return null;
  if (count === 1) return candidates[0] as T;
  const i = Math.floor(random() * count);
  // j is drawn from the count - 1 others, so the two are never the same entry.
  let j = Math.floor(random() * (count - 1));
  if (j >= i) j++;
  const a = candidates[i] as T;
  const b = candidates[j] as T;
  return b.outstanding < a.outstanding ? b : a;
}

/** The key an endpoint goes by: "host:port", IPv6 hosts in brackets. */
export const endpointKey = hostPort;
