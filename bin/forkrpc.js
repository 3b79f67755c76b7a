#!/usr/bin/env node
// The installed command. Order matters: reflect-metadata must exist before
// any decorator runs, and the TypeScript loader must be registered before
// rpc.config.ts or a .ts plugin is imported. Workers forked by the master
// start from this same file, so they get both too.
import { existsSync } from "node:fs";
import "reflect-metadata";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  // A checkout installed or packed without its build: say what is missing
  // instead of Node's ERR_MODULE_NOT_FOUND from inside this file.
  const root = new URL("..", import.meta.url).pathname;
  process.stderr.write(
    `forkrpc: ${main.pathname} is missing: this copy of forkrpc was never built.\n` +
      `Run \`npm run build\` in ${root} (its \`prepare\` script does this on \`npm install\` from git and on \`npm pack\`).\n`,
  );
  process.exit(1);
}
if (process.env.FORKRPC_TS_LOADER !== "off") {
  // Compiles the app's .ts files with decorator metadata (loader/hooks.js).
  await import("../loader/register.js");
}
// main.js runs nothing when imported: the command runs here.
const { run } = await import(main.href);
await run();
