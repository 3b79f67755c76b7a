/**
 * The longest delay setTimeout keeps: 2^31-1 ms (24.8 days); a larger one
 * fires at once. Every range check on a duration that ends up in a timer
 * (config keys, client options, CLI flags, meta.timeoutMs) uses this one.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
