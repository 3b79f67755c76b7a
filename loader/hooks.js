// Async loader hooks, for module.register: they run on Node's hooks thread
// (Node 20, or FORKRPC_TS_LOADER=thread; register.js). Plain JS: this is what
// makes .ts loadable, so it cannot be .ts itself.
import { compileAsync, typescriptTwin } from "./compile.js";

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const twin = error?.code === "ERR_MODULE_NOT_FOUND" ? typescriptTwin(specifier) : null;
    if (twin !== null) {
      try {
        return await next(twin, context);
      } catch {
        // fall through to the original error, which names what was asked for
      }
    }
    throw error;
  }
}

export async function load(url, context, next) {
  const source = await compileAsync(url);
  return source === null ? next(url, context) : { format: "module", source, shortCircuit: true };
}
