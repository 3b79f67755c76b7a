/**
 * One bounded await for every test helper: the in-process server tests and
 * the supervision tests had each their own, with their arguments in a
 * different order.
 */

/** `promise`, or a rejection naming `what` after `ms`: an await that cannot hang a test. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    // Unref'd: a test that fakes setTimeout after this cannot clear it, and it must not hold the process.
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
