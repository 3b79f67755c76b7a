// Synchronous loader hooks, for module.registerHooks (Node 22.15+, 23.5+):
// they run in the importing thread itself, so a process has no hooks thread
// (a second V8 isolate, and a message round trip per resolve and per load).
// The same behaviour as hooks.js, which register.js uses where this cannot be.
import { compileSync, typescriptTwin } from "./compile.js";

export function resolve(specifier, context, next) {
  try {
    return next(specifier, context);
  } catch (error) {
    const twin = error?.code === "ERR_MODULE_NOT_FOUND" ? typescriptTwin(specifier) : null;
    if (twin !== null) {
      try {
        return next(twin, context);
      } catch {
        // fall through to the original error, which names what was asked for
      }
    }
    throw error;
  }
}

export function load(url, context, next) {
  // Ahead of Node's own type stripping (22.18+, 24), which only erases types:
  // it rejects decorators and emits no metadata.
  const source = compileSync(url);
  return source === null ? next(url, context) : { format: "module", source, shortCircuit: true };
}
