/**
 * `forkrpc new plugin`: writes the plugin and its test, refuses to
 * overwrite, and what it writes typechecks, serves, and passes its own test.
 * The files go to a throwaway app folder whose node_modules links forkrpc
 * (this repo) and zod, as an app that installed them would have.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLI, NODE_FLAGS, ROOT, runCli, serve } from "../helpers/server.ts";

let app: string;
before(() => {
  app = mkdtempSync(join(tmpdir(), "forkrpc-new-"));
  mkdirSync(join(app, "node_modules"));
  symlinkSync(ROOT, join(app, "node_modules", "forkrpc"), "dir");
  symlinkSync(join(ROOT, "node_modules", "zod"), join(app, "node_modules", "zod"), "dir");
  writeFileSync(join(app, "package.json"), JSON.stringify({ type: "module", private: true }));
});
after(() => {
  rmSync(app, { recursive: true, force: true });
});

const NAME = "hello.world-v2";
const plugin = () => join(app, "plugins", `${NAME}.ts`);
const testFile = () => join(app, "test", `${NAME}.test.ts`);
/** A nested `node --test` must not think it reports to ours. */
const env = { ...process.env };
delete env.NODE_TEST_CONTEXT;

const generate = (name = NAME, cwd = ROOT) => runCli(["new", "plugin", name, "--dir", join(app, "plugins"), "--test-dir", join(app, "test")], { cwd });

test("new plugin writes the plugin and its test; a second run refuses to overwrite either", async () => {
  const r = await generate();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n").slice(0, 2).join("\n"), `wrote ${plugin()}\nwrote ${testFile()}`);
  const source = readFileSync(plugin(), "utf8");
  assert.match(source, /^import \{ z \} from "zod";\nimport \{ Rpc, type Infer \} from "forkrpc";\n/);
  assert.match(source, /@Rpc\("hello\.world-v2", \{ description: "Says hello to a name\.", params: HelloWorldV2Params \}\)\nexport class HelloWorldV2 \{\n {2}handle\(params: Infer<typeof HelloWorldV2Params>\)/);
  const testText = readFileSync(testFile(), "utf8");
  assert.match(testText, /import \{ serve, type Served \} from ".*\/test\/helpers\/server\.ts";/, "uses this repo's helpers");

  const again = await generate();
  assert.equal(again.code, 1);
  assert.equal(again.stderr, `forkrpc: ${plugin()} and ${testFile()} already exist; not overwriting (nothing was written)\n`);
  assert.equal(readFileSync(plugin(), "utf8"), source);

  const keep = readFileSync(testFile(), "utf8");
  unlinkSync(testFile());
  const one = await generate();
  assert.equal(one.code, 1);
  assert.match(one.stderr, new RegExp(`${plugin().replace(/[.]/g, "\\.")} already exists; not overwriting`));
  assert.equal(existsSync(testFile()), false, "the missing test is not written either");
  writeFileSync(testFile(), keep);
});

test("names must be method names (letters, digits, dots, dashes, underscores; a letter first)", async () => {
  for (const name of ["9lives", "a b", "trailing.", "../escape", "x/y", "-x"]) {
    const r = await generate(name);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /is not a method name|unknown option|Unknown option/i, name);
  }
  const kind = await runCli(["new", "handler", "x"]);
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /only forkrpc new plugin <name>/);
});

test("the generated plugin and test typecheck", { timeout: 120_000 }, () => {
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({ extends: join(ROOT, "tsconfig.json"), compilerOptions: { noEmit: true, rootDir: "/", typeRoots: [join(ROOT, "node_modules/@types")] }, include: ["plugins", "test"] }),
  );
  const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(app, "tsconfig.json")], { encoding: "utf8" });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test("the generated plugin serves: a server with --plugins pointing at it answers it", async () => {
  const served = await serve({ args: ["--plugins", plugin()], timeoutMs: 60_000 });
  try {
    assert.match(served.stdout(), /forkrpc ready: 1 method on /);
    const r = await runCli(["call", NAME, '{"name":"ada","shout":true}', "--port", String(served.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { text: "HELLO, ADA" });
    const list = await runCli(["list", "--port", String(served.port)]);
    assert.match(list.stdout, /\nhello\.world-v2 +hello\.world-v2 +\{name: string, shout\?: boolean\} +- +- +Says hello to a name\.\n/);
  } finally {
    await served.stop();
  }
});

// The tap reporter is named: from Node 23 the default, even into a pipe, is spec ("ℹ pass 3").
test("the generated test passes", { timeout: 120_000 }, () => {
  const run = spawnSync(process.execPath, [...NODE_FLAGS, "--test", "--test-reporter=tap", testFile()], { cwd: ROOT, env, encoding: "utf8", timeout: 110_000 });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /# pass 3\n/);
});

test("without test helpers (an app, not this repo) the test starts the installed forkrpc itself", { timeout: 120_000 }, async (t) => {
  // runCli's loader flag is relative to the repo: name it absolutely to run in the app's folder.
  const loader = pathToFileURL(join(ROOT, "loader/register.js")).href;
  const r = spawnSync(process.execPath, ["--import", loader, "--conditions=forkrpc-source", CLI, "new", "plugin", "standalone", "--test-dir", "test"], { cwd: app, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.split("\n").slice(0, 2), ["wrote plugins/standalone.ts", "wrote test/standalone.test.ts"]);
  const text = readFileSync(join(app, "test/standalone.test.ts"), "utf8");
  assert.doesNotMatch(text, /helpers/);
  assert.match(text, /import\.meta\.resolve\("forkrpc\/package\.json"\)/);
  if (!existsSync(join(ROOT, "dist/cli/main.js"))) {
    t.skip("the installed command runs from dist/: npm run build first");
    return;
  }
  // An app with auth: the generated test serves the plugin alone, without the app's config.
  writeFileSync(join(app, "rpc.config.ts"), `import { defineConfig } from "forkrpc";\nexport default defineConfig({ auth: { tokens: ["s3cr3t"] } });\n`);
  const run = spawnSync(process.execPath, ["--import", "forkrpc/register", "--test", "--test-reporter=tap", "test/standalone.test.ts"], { cwd: app, env, encoding: "utf8", timeout: 110_000 });
  rmSync(join(app, "rpc.config.ts"));
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /# pass 3\n/);
});
