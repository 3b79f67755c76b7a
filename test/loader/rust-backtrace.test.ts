/**
 * With RUST_BACKTRACE set in the environment, a plugin's syntax error is
 * still just the syntax error: swc's Rust backtrace is left out.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/server.ts";
import { removeTempApps, tempApp } from "../helpers/temp-app.ts";

after(removeTempApps);

test("RUST_BACKTRACE=1: a syntax error carries no Rust backtrace", async () => {
  const app = tempApp("forkrpc-rust-bt-", { "plugins/bad.ts": "export const x = ;\n" });
  const r = await runCli(["serve", "--workers", "0", "--port", "0"], { cwd: app, env: { RUST_BACKTRACE: "1", FORKRPC_CACHE_DIR: "off" }, timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /PLUGIN_IMPORT_FAILED[\s\S]*plugins\/bad\.ts[\s\S]*Expression expected/);
  assert.doesNotMatch(r.stderr, /Stack backtrace|rust_begin_unwind|std::backtrace/);
});
