#!/usr/bin/env node
// The installed command. Order matters: reflect-metadata must exist before
// any decorator runs, and the TypeScript loader must be registered before
// rpc.config.ts or a .ts plugin is imported. Workers forked by the master
// start from this same file, so they get both too.
import "reflect-metadata";

if (process.env.FORKRPC_TS_LOADER !== "off") {
  // Compiles the app's .ts files with decorator metadata (loader/hooks.js).
  await import("../loader/register.js");
}
await import("../dist/cli/main.js");
