// npm run mutate [-- PART ...] [-- stryker flags]: mutation testing of the
// parts named (protocol, client, middleware, server, policy; all by default).
// It reports; it does not gate CI. See docs/testing.md.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const firstFlag = args.findIndex((a) => a.startsWith("-"));
const parts = firstFlag === -1 ? args : args.slice(0, firstFlag);
const flags = firstFlag === -1 ? [] : args.slice(firstFlag);
const stryker = fileURLToPath(new URL("../node_modules/@stryker-mutator/core/bin/stryker.js", import.meta.url));
const result = spawnSync(process.execPath, [stryker, "run", "stryker.config.mjs", ...flags], {
  stdio: "inherit",
  env: { ...process.env, FORKRPC_MUTATE_PARTS: parts.join(",") },
});
process.exit(result.status ?? 1);
