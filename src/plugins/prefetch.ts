/**
 * Fetches and links modules without running them, so that importing them
 * afterwards, one by one, only has to evaluate them.
 *
 * Why: with loader hooks registered (loader/register.js), every resolve and
 * every load is a message round trip to the hooks thread, and a file and its
 * imports take several. Imported one after another, a thousand plugin files
 * are mostly two threads waiting for each other. Linked together here, the
 * round trips overlap; load.ts still imports, and so runs, the files one at
 * a time in their sorted order, and reports their errors file by file. What
 * differs: a file is fetched before the files ahead of it have run, so their
 * top level cannot make it loadable (by registering a loader, say).
 */

// An import that can never be satisfied: linking the entry fails only after
// every module it imports has been fetched and linked, and nothing is run.
// (An ES module is fetched once per URL, so the later import() reuses it.)
const UNSATISFIABLE = `import { forkrpcPrefetchOnly } from "data:text/javascript,";`;

/**
 * Fetches and links the modules at `urls` (absolute URLs) and everything
 * they import, evaluating none of them. Best effort: it never rejects, and a
 * module that fails to load fails the same way when it is imported.
 */
export async function prefetchModules(urls: readonly string[]): Promise<void> {
  if (urls.length === 0) return;
  const entry = [...urls.map((url) => `import ${JSON.stringify(url)};`), UNSATISFIABLE].join("\n");
  try {
    await import(`data:text/javascript,${encodeURIComponent(entry)}`);
  } catch {
    // Always: the entry cannot link. Errors of the modules themselves surface on import.
  }
}

/**
 * Files fetched at a time; the next batch is fetched while this one runs.
 * With 1000 one-method files, 16 to 256 were about as fast. Batches keep the
 * entry's data: URL short: every import in it sends that URL, as the parent,
 * to the hooks thread.
 */
export const PREFETCH_BATCH = 64;

/**
 * For importing `urls` in order: the function returned, called with i,
 * resolves once urls[i] has been prefetched, and starts on the batch after
 * it. Call it for each i in turn, before importing urls[i].
 */
export function prefetchInBatches(urls: readonly string[], batch = PREFETCH_BATCH): (i: number) => Promise<void> {
  let ahead = prefetchModules(urls.slice(0, batch));
  return async (i) => {
    if (i % batch !== 0) return;
    await ahead;
    ahead = prefetchModules(urls.slice(i + batch, i + 2 * batch));
  };
}
