#!/usr/bin/env node
// The installed command. Order matters: reflect-metadata must exist before
// any decorator runs, and the TypeScript loader must be registered before
// rpc.config.ts or a .ts plugin is imported. Workers forked by the master
// start from this same file, so they get both too.
import "reflect-metadata";
import { register } from "node:module";

if (process.env.FORKRPC_TS_LOADER !== "off") {
  // Compiles the app's .ts files (with decorator metadata) using the app's tsconfig.json.
  register("@swc-node/register/esm", import.meta.url);
}
await import("../dist/cli/main.js");
