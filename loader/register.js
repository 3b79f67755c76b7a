// swc's errors carry a Rust stack backtrace when RUST_BACKTRACE is set (a
// shell often sets it for other tools), burying the syntax error under
// dozens of frames. RUST_LIB_BACKTRACE=0 wins over it for errors only:
// a panic's backtrace is left as RUST_BACKTRACE asks.
process.env.RUST_LIB_BACKTRACE ??= "0";

// `node --import forkrpc/register app.ts`: what a process needs before any
// TypeScript plugin or decorator runs. reflect-metadata first (decorators
// record their metadata through it), then the TypeScript loader, then
// source maps so stack traces point at the .ts lines.
//
// Where Node has module.registerHooks (22.15+, 23.5+), the loader's hooks run
// synchronously in this thread; elsewhere (Node 20), or with
// FORKRPC_TS_LOADER=thread, module.register runs them on a hooks thread of
// their own, which costs memory and start time (docs/getting-started.md).
import "reflect-metadata";
import module from "node:module";

if (typeof module.registerHooks === "function" && process.env.FORKRPC_TS_LOADER !== "thread") {
  module.registerHooks(await import("./sync-hooks.js"));
} else {
  module.register("./hooks.js", import.meta.url);
}
process.setSourceMapsEnabled(true);
