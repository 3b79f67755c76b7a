// ESM loader hooks: compile TypeScript with @swc/core, with the decorator
// settings forkrpc needs (legacy decorators, emitted parameter metadata for
// constructor injection) regardless of any tsconfig. Plain JS: this is what
// makes .ts loadable, so it cannot be .ts itself.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transform } from "@swc/core";

const TS = /\.(ts|mts)$/;

const OPTIONS = {
  sourceMaps: "inline",
  module: { type: "es6" },
  jsc: {
    target: "es2022",
    keepClassNames: true,
    parser: { syntax: "typescript", decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
  },
};

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    // TypeScript's NodeNext style names the compiled file: "./service.js" for service.ts.
    if (error?.code === "ERR_MODULE_NOT_FOUND" && /^\.{1,2}\/.*\.m?js$/.test(specifier)) {
      try {
        return await next(specifier.replace(/js$/, "ts"), context);
      } catch {
        // fall through to the original error, which names what was asked for
      }
    }
    throw error;
  }
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !TS.test(new URL(url).pathname)) return next(url, context);
  const filename = fileURLToPath(url);
  const source = await readFile(filename, "utf8");
  const { code } = await transform(source, { ...OPTIONS, filename });
  return { format: "module", source: code, shortCircuit: true };
}
