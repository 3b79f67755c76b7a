/**
 * Worker lifecycle hooks. Any handler or service may implement
 * onWorkerStart() (awaited before the worker accepts: open a pool here) and
 * onWorkerStop() (awaited after the worker has drained: close it here).
 * Start hooks run in construction order, dependencies first; stop hooks run
 * in the reverse order.
 */
import type { DependencyContainer, InjectionToken } from "tsyringe";
import { BootError, describe } from "../errors.ts";
import { log } from "../log.ts";

/** Implement to run code when a worker starts, before it accepts connections. */
export interface OnWorkerStart {
  onWorkerStart(): void | Promise<void>;
}

/** Implement to run code when a worker stops, after its connections are drained. */
export interface OnWorkerStop {
  onWorkerStop(): void | Promise<void>;
}

type Hook = "onWorkerStart" | "onWorkerStop";

/**
 * Records, in construction order, every instance the container builds for
 * these tokens that has a lifecycle hook. Call before resolving.
 */
export function collectHookInstances(container: DependencyContainer, tokens: Iterable<unknown>): object[] {
  const found: object[] = [];
  const seen = new Set<object>();
  for (const token of tokens) {
    container.afterResolution(token as InjectionToken<unknown>, (_t, result) => {
      const list = Array.isArray(result) ? result : [result];
      for (const instance of list) {
        if (typeof instance !== "object" || instance === null || seen.has(instance)) continue;
        const o = instance as Partial<OnWorkerStart & OnWorkerStop>;
        if (typeof o.onWorkerStart !== "function" && typeof o.onWorkerStop !== "function") continue;
        seen.add(instance);
        found.push(instance);
      }
    });
  }
  return found;
}

/** Runs every start hook in order; the first failure or timeout stops the boot. */
export async function runStartHooks(instances: readonly object[], timeoutMs: number): Promise<void> {
  for (const instance of instances) {
    const error = await runHook(instance, "onWorkerStart", timeoutMs);
    if (error !== null) throw new BootError("HOOK_FAILED", error);
  }
}

/** Runs every stop hook in reverse order; failures are logged and do not stop the others. */
export async function runStopHooks(instances: readonly object[], timeoutMs: number): Promise<void> {
  for (const instance of [...instances].reverse()) {
    const error = await runHook(instance, "onWorkerStop", timeoutMs);
    if (error !== null) log.error(error);
  }
}

async function runHook(instance: object, hook: Hook, timeoutMs: number): Promise<string | null> {
  const fn = (instance as Record<Hook, unknown>)[hook];
  if (typeof fn !== "function") return null;
  const name = `${instance.constructor?.name ?? "object"}.${hook}()`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${name} did not finish within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const done = Promise.resolve()
      .then(() => fn.call(instance))
      .then(() => null);
    return await Promise.race([done, timeout]);
  } catch (error) {
    return `${name} failed: ${describe(error)}`;
  } finally {
    clearTimeout(timer);
  }
}
