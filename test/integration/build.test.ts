/**
 * The installed command, bin/forkrpc.js on dist/ (`npm test` builds first):
 * it serves plugins compiled to .js with plain node, and .ts plugins through
 * the swc loader it registers itself. Apps live in temp folders whose
 * node_modules/forkrpc links to this repo, so `import "forkrpc"` resolves to
 * dist/ as it would for a user.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, ROOT, serve } from "../helpers/server.ts";
import { callOnce } from "../helpers/wire.ts";
import { removeTempApps, tempApp as makeTempApp } from "../helpers/temp-app.ts";

const FIXTURE = join(ROOT, "test/fixtures/build/plugins");
const TSC = join(ROOT, "node_modules/.bin/tsc");

after(removeTempApps);
const tempApp = (files: Record<string, string>) => makeTempApp("forkrpc-build-", files);

const call = callOnce;

function tsc(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [TSC, ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`tsc failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
}

/** `forkrpc serve` from dist/ with a config expected to fail before it listens. */
function serveOnce(cwd: string, config: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [BIN, "serve", "--config", join(cwd, config), "--workers", "0", "--port", "0"], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

before(() => {
  for (const file of ["dist/cli/main.js", "dist/index.js", "dist/index.d.ts"]) {
    assert.ok(existsSync(join(ROOT, file)), `${file} is missing: run \`npm run build\` first (\`npm test\` does)`);
  }
});

test("the built CLI serves plugins compiled to .js by tsc, with constructor injection", async (t) => {
  const app = tempApp({});
  const out = join(app, "plugins");
  await tsc([
    "--experimentalDecorators", "--emitDecoratorMetadata",
    "--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2022",
    "--skipLibCheck", "--types", "node",
    "--outDir", out, "--rootDir", FIXTURE,
    join(FIXTURE, "greeter.ts"), join(FIXTURE, "hello.ts"),
  ]);
  assert.deepEqual(readdirSync(out).sort(), ["greeter.js", "hello.js"]);
  assert.match(readFileSync(join(out, "hello.js"), "utf8"), /design:paramtypes/);

  // Plain node, no loader flags: as the bin ships, and with its TypeScript loader turned off.
  const envs: Record<string, string>[] = [{}, { FORKRPC_TS_LOADER: "off" }];
  for (const env of envs) {
    const served = await serve({
      entry: [BIN],
      cwd: app,
      args: ["--plugins", `${out}/*.js`],
      env,
      timeoutMs: 60_000,
    });
    try {
      t.diagnostic(`${JSON.stringify(env)}: ${served.stdout().trim()}`);
      assert.match(served.stdout(), /forkrpc ready: 1 method on 127\.0\.0\.1:\d+ in one process/);
      assert.deepEqual(await call(served.port, "hello", "ada"), {
        out: "greeting",
        result: { text: "hello, ada (#1)", maxFrameBytes: 1048576 },
      });
      assert.deepEqual((await call(served.port, "hello", "bob")).result.text, "hello, bob (#2)");
      assert.equal(await served.stop(), 0, "exits 0 on SIGTERM");
    } finally {
      await served.stop();
    }
  }

  // The variable turns forkrpc's loader off and nothing else: a .ts config is then
  // up to Node (docs/getting-started.md#compiled-plugins). Node 22.18+ and 24 strip
  // erasable types by default (process.features.typescript is "strip"); Node 20,
  // and 22 before 22.18, cannot import .ts at all.
  const strips = Boolean((process.features as { typescript?: string | false }).typescript);
  const off = { FORKRPC_TS_LOADER: "off" };
  const limits = `const limits: { maxFrameBytes: number } = { maxFrameBytes: 4096 };`;
  writeFileSync(join(app, "rpc.config.ts"), `import { defineConfig } from "forkrpc";\n${limits}\nexport default defineConfig({ plugins: ["plugins/*.js"], limits });\n`);
  if (strips) {
    const served = await serve({ entry: [BIN], cwd: app, args: ["--config", "rpc.config.ts"], env: off, timeoutMs: 60_000 });
    try {
      assert.equal((await call(served.port, "hello", "ts")).result.maxFrameBytes, 4096, "the stripped config was read");
      assert.equal(await served.stop(), 0);
    } finally {
      await served.stop();
    }
  } else {
    const failed = serveOnce(app, "rpc.config.ts", off);
    assert.notEqual(failed.status, 0, failed.stderr);
    assert.match(failed.stderr, /CONFIG_LOAD_FAILED: .*rpc\.config\.ts: .*Unknown file extension "\.ts"/, failed.stderr);
  }
  // Syntax that only a compiler can remove fails on every line: the swc loader, which compiles enums, is off.
  writeFileSync(join(app, "enum.config.ts"), `enum Port {\n  Any = 0,\n}\nexport default { port: Port.Any };\n`);
  const failed = serveOnce(app, "enum.config.ts", off);
  assert.notEqual(failed.status, 0, failed.stderr);
  const why = strips ? /TypeScript enum is not supported in strip-only mode/ : /Unknown file extension "\.ts"/;
  assert.match(failed.stderr, new RegExp(`CONFIG_LOAD_FAILED: .*enum\\.config\\.ts: .*${why.source}`), failed.stderr);
});

test("the built CLI serves a .ts app (the bin registers the swc loader itself), with 2 workers", async () => {
  const greeter = readFileSync(join(FIXTURE, "greeter.ts"), "utf8");
  const hello = readFileSync(join(FIXTURE, "hello.ts"), "utf8").replace('"./greeter.js"', '"./greeter.ts"');
  const app = tempApp({
    // A user's app has its own tsconfig.json: the loader compiles the app's .ts files with it.
    "tsconfig.json": JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        allowImportingTsExtensions: true,
        noEmit: true,
        strict: true,
        skipLibCheck: true,
      },
    }),
    "rpc.config.ts": `import { defineConfig } from "forkrpc";\nexport default defineConfig({ plugins: ["plugins/*.ts"], limits: { maxFrameBytes: 4096 } });\n`,
    "plugins/greeter.ts": greeter,
    "plugins/hello.ts": hello,
  });
  const served = await serve({ entry: [BIN], cwd: app, args: ["--workers", "2"], timeoutMs: 60_000 });
  try {
    assert.match(served.stdout(), /forkrpc ready: 1 method on 127\.0\.0\.1:\d+ with 2 workers/);
    const answer = await call(served.port, "hello", "ts");
    assert.equal(answer.out, "greeting");
    assert.match(answer.result.text, /^hello, ts \(#1\)$/);
    assert.equal(answer.result.maxFrameBytes, 4096);
    assert.equal(await served.stop(), 0, "exits 0 on SIGTERM");
  } finally {
    await served.stop();
  }
});

test("a copy of forkrpc that was never built says so and how to fix it, instead of ERR_MODULE_NOT_FOUND", () => {
  // bin/ without dist/ beside it, as a git checkout installed or packed before `prepare` existed.
  const copy = tempApp({ "bin/forkrpc.js": readFileSync(BIN, "utf8") });
  symlinkSync(join(ROOT, "node_modules/reflect-metadata"), join(copy, "node_modules/reflect-metadata"), "dir");
  const run = spawnSync(process.execPath, [join(copy, "bin/forkrpc.js"), "version"], {
    cwd: copy,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /dist\/cli\/main\.js is missing: this copy of forkrpc was never built/);
  assert.match(run.stderr, /Run `npm run build` in /);
  assert.doesNotMatch(run.stderr, /ERR_MODULE_NOT_FOUND/);
});
