/**
 * Which file called a function, read from a stack trace. @Rpc records it so
 * that boot errors name the file that defines a handler class, not the file
 * that happened to import or re-export it. It runs once per decorated class,
 * at boot, so reading a stack is cheap enough.
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// A frame's location: a file:// URL, a POSIX path, a drive-letter or UNC path,
// then :line:column. `.*?` stretches to the last :line:column on the line.
const FRAME = /^\s*at (?:.*?\()?((?:file:\/\/|\/|[A-Za-z]:[\\/]|\\\\).*?):\d+:\d+\)?$/;
// Reflect.decorate sits between a compiled `__decorate` helper and the
// decorator; its frames belong to the polyfill, not to the app.
const DECORATE_POLYFILL = /[\\/]node_modules[\\/]reflect-metadata[\\/]/;

/**
 * The absolute path of the file whose code called `fn`, or undefined when no
 * frame says (stack traces turned off, or only eval and Node-internal frames).
 * Call it from inside `fn`.
 */
export function callerFile(fn: Function): string | undefined {
  const holder: { stack?: unknown } = {};
  // Cuts every frame from `fn` up, so the first frame left is fn's caller
  // however many helpers, or compiled copies of this module, sit above it.
  Error.captureStackTrace(holder, fn);
  return typeof holder.stack === "string" ? fileFromStack(holder.stack) : undefined;
}

/** The file of the first frame of a V8 stack trace that is app code. */
export function fileFromStack(stack: string): string | undefined {
  for (const line of stack.split("\n")) {
    if (/\beval at\b/.test(line)) continue; // the eval'd code has no file of its own
    const location = FRAME.exec(line)?.[1];
    if (location === undefined || DECORATE_POLYFILL.test(location)) continue;
    const file = toPath(location);
    if (file !== undefined) return file;
  }
  return undefined;
}

function toPath(location: string): string | undefined {
  if (location.startsWith("file://")) {
    try {
      return fileURLToPath(location);
    } catch {
      return undefined; // a file URL with a host, say
    }
  }
  return isAbsolute(location) ? resolve(location) : undefined;
}
