/**
 * src/cli/main.ts is a module first: importing it runs no command (it used
 * to run itself with the importer's argv), and running it as a script, as
 * npm start, the tests and forked workers do, still does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, symlinkSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { CLI, NODE_FLAGS, ROOT } from "../helpers/server.ts";

const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/**
 * Runs main(argv) in a child that imports the module, as a program using
 * forkrpc would. In this process, replacing process.stdout.write around
 * main() also caught the test runner's own TAP lines on Node 20, and the
 * tests they reported went missing from the count.
 */
function captured(argv: string[]) {
  const script = `const { main } = await import(${JSON.stringify(pathToFileURL(CLI).href)}); process.exitCode = await main(${JSON.stringify(argv)});`;
  const run = spawnSync(process.execPath, [...NODE_FLAGS, "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("imported, main runs only what it is asked to", () => {
  assert.deepEqual(captured(["version"]), { code: 0, stdout: `${VERSION}\n`, stderr: "" });
});

test("help lists every command from the one table, each command's usage once", () => {
  const { code, stdout } = captured(["help"]);
  assert.equal(code, 0);
  for (const name of ["serve", "dev", "reload", "stop", "call", "list", "bench", "new", "help", "version"]) {
    assert.match(stdout, new RegExp(`^  ${name} +\\S`, "m"), name);
  }
  assert.equal(stdout.split("\n").filter((line) => line.startsWith("forkrpc serve [")).length, 1, "serve and dev share one usage, shown once");
  assert.equal(stdout.split("\n").filter((line) => line.startsWith("forkrpc reload [")).length, 1, "reload and stop share one usage, shown once");
});

test("an unknown command is a usage error with the full usage; a command's own usage error shows only its usage", () => {
  const unknown = captured(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*commands:/);
  const bad = captured(["call"]);
  assert.equal(bad.code, 2);
  assert.doesNotMatch(bad.stderr, /commands:/);
  assert.match(bad.stderr, /usage: forkrpc call/);
});

test("run as a script, by a relative path or through a symlink, it runs the command", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "forkrpc-main-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const link = join(dir, "main.ts");
  symlinkSync(CLI, link);
  for (const script of [relative(ROOT, CLI), link]) {
    const run = spawnSync(process.execPath, [...NODE_FLAGS, script, "version"], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    assert.equal(run.stdout, `${VERSION}\n`, `${script}: ${run.stderr}`);
    assert.equal(run.status, 0);
  }
});
