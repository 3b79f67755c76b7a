// npm run mutate [-- PART ...] [-- stryker flags]: mutation testing of the
// parts named (protocol, client, middleware, server, policy; all by default).
// It reports; it does not gate CI. See docs/testing.md.
//
// Every process of the run carries FORKRPC_MUTATE_RUN in its environment;
// when Stryker has exited (or this wrapper is interrupted), any still alive
// (a server spawned by a test file Stryker cut short, whose parent is gone)
// is killed. Test processes already kill their own at exit
// (scripts/mutate/coverage-bridge.cjs); this catches the rest.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const { killMarked } = createRequire(import.meta.url)("./mutate/leftovers.cjs");
const args = process.argv.slice(2);
const firstFlag = args.findIndex((a) => a.startsWith("-"));
const parts = firstFlag === -1 ? args : args.slice(0, firstFlag);
const flags = firstFlag === -1 ? [] : args.slice(firstFlag);
const stryker = fileURLToPath(new URL("../node_modules/@stryker-mutator/core/bin/stryker.js", import.meta.url));
const MARK = "FORKRPC_MUTATE_RUN";
const run = `${process.pid}-${Date.now()}`;
const child = spawn(process.execPath, [stryker, "run", "stryker.config.mjs", ...flags], {
  stdio: "inherit",
  env: { ...process.env, FORKRPC_MUTATE_PARTS: parts.join(","), [MARK]: run },
});
// Interrupted: Stryker stops first (a Ctrl-C reaches it too), then the sweep below.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => {
  const killed = killMarked(MARK, run);
  if (killed > 0) console.error(`mutate: killed ${killed} process(es) the run left behind`);
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
