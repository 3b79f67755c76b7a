/**
 * Plugin discovery and boot failures, through the real CLI: every way a
 * server can fail to start exits non-zero with the boot code and the files
 * involved; the happy paths serve what the globs find, in sorted order.
 *
 * Fixtures live in test/fixtures/discovery/<case>/. Files that would not
 * typecheck (a syntax error, an import of a missing module) are written to a
 * temp folder at test time instead, and run with cwd = repo root so the swc
 * loader compiles them with the repo's tsconfig.json.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { BOOT_CODES } from "../../src/errors.ts";
import { ROOT, runCli, serve } from "../helpers/server.ts";
import { callOnce } from "../helpers/wire.ts";
import { removeTempApps, tempApp as makeTempApp } from "../helpers/temp-app.ts";
import { createServer, type AddressInfo } from "node:net";

const FIXTURES = join(ROOT, "test/fixtures/discovery");
const configOf = (name: string) => join(FIXTURES, name, "rpc.config.ts");

after(removeTempApps);
/** A throwaway app folder whose plugins can `import "forkrpc"`. */
const tempApp = (files: Record<string, string>) => makeTempApp("forkrpc-discovery-", files);

const TEMP_CONFIG = `import { defineConfig } from "forkrpc";\nexport default defineConfig({ plugins: ["plugins/**/*.ts"] });\n`;

const call = callOnce;

/** Boots a config that must fail; checks the exit, the boot code and every text that must be named. */
async function bootFails(config: string, workers: number, code: keyof typeof BOOT_CODES, mentions: string[]) {
  assert.ok(Object.hasOwn(BOOT_CODES, code), `${code} is a boot code`);
  // Generous: the machines these run on are shared, and a boot is mostly loading the TypeScript loader.
  const run = await runCli(["serve", "--port", "0", "--workers", String(workers), "--config", config], { timeoutMs: 60_000 });
  const shown = `exit ${run.code} signal ${run.signal}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
  assert.equal(run.signal, null, `exited by itself\n${shown}`);
  assert.notEqual(run.code, 0, `exit code is non-zero\n${shown}`);
  assert.doesNotMatch(run.stdout, /forkrpc ready/, shown);
  assert.match(run.stderr, new RegExp(`\\b${code}\\b`), `names ${code}\n${shown}`);
  for (const text of mentions) assert.ok(run.stderr.includes(text), `names ${JSON.stringify(text)}\n${shown}`);
  return run;
}

describe("boot failures exit non-zero, naming the code and the files", { concurrency: 2 }, () => {
  for (const workers of [0, 2]) {
    test(`two handlers claiming one method name (--workers ${workers})`, async () => {
      const run = await bootFails(configOf("duplicate"), workers, "DUPLICATE_METHOD", [
        '"twice"',
        "plugins/first.ts",
        "plugins/second.ts",
        "FirstTwice",
        "SecondTwice",
      ]);
      if (workers > 0) assert.match(run.stderr, /failed to boot/, "the master reports the worker's error");
    });
  }

  test("a plugin whose top level throws", async () => {
    const run = await bootFails(configOf("throws-at-top"), 0, "PLUGIN_IMPORT_FAILED", [
      "plugins/boom.ts",
      "boom at the top level of boom.ts",
    ]);
    assert.doesNotMatch(run.stderr, /plugins\/fine\.ts/, "only the failing file is blamed");
  });

  // These two would break the repo's typecheck, so they are written at test time.
  // One boot reports every file that failed to import, so one run covers both.
  test("a plugin with a syntax error, and one importing a missing module", async () => {
    const dir = tempApp({
      "rpc.config.ts": TEMP_CONFIG,
      "plugins/broken.ts": `import { Rpc } from "forkrpc";\n@Rpc("broken")\nexport class Broken {\n  handle( { return 1; }\n}\n`,
      "plugins/fine.ts": `import { Rpc } from "forkrpc";\n@Rpc("fine")\nexport class Fine {\n  handle() { return 1; }\n}\n`,
      "plugins/needs.ts": `import { nothing } from "./no-such-file.ts";\nexport const value = nothing;\n`,
    });
    const run = await bootFails(join(dir, "rpc.config.ts"), 0, "PLUGIN_IMPORT_FAILED", [
      "plugins/broken.ts",
      "plugins/needs.ts",
      "no-such-file",
    ]);
    assert.match(run.stderr, /syntax/i, "the syntax error is described");
    assert.doesNotMatch(run.stderr, /plugins\/fine\.ts/, "only the failing files are blamed");
  });

  test("a handler constructor that throws", async () => {
    await bootFails(configOf("constructor-throws"), 0, "INJECTION_FAILED", [
      "plugins/grumpy.ts",
      "Grumpy",
      "Grumpy refuses to be constructed",
    ]);
  });

  test("an @Rpc class that is not exported", async () => {
    await bootFails(configOf("not-exported"), 0, "PLUGIN_NOT_EXPORTED", ["HiddenHandler", "plugins/hidden.ts"]);
  });

  test("an unexported @Rpc class imported by another plugin is blamed on its own file", async () => {
    const run = await bootFails(configOf("imported-hidden"), 0, "PLUGIN_NOT_EXPORTED", [
      "InnerHandler in plugins/b.ts (imported through plugins/a.ts)",
    ]);
    assert.doesNotMatch(run.stderr, /decorated while importing/);
  });

  test("a handler re-exported by a file sorted first is blamed on the file that defines it", async () => {
    const run = await bootFails(configOf("re-export"), 0, "INJECTION_METADATA", ["plugins/greeter.ts", "Greeter", "parameter 1 (index 0)"]);
    assert.doesNotMatch(run.stderr, /a-index/);
  });

  test("@Rpc applied twice to one class (was PLUGIN_IMPORT_FAILED: Cannot redefine property)", async () => {
    const run = await bootFails(configOf("applied-twice"), 0, "PLUGIN_INVALID", ["Twice", "plugins/twice.ts", '"first"', '"second"']);
    assert.doesNotMatch(run.stderr, /PLUGIN_IMPORT_FAILED|redefine/);
  });

  test("a constructor parameter imported with `import type` (class and position named)", async () => {
    await bootFails(configOf("import-type"), 0, "INJECTION_METADATA", [
      "plugins/time.ts",
      "TimeHandler",
      "parameter 2 (index 1)",
      "import type",
    ]);
  });

  test("a constructor parameter typed by an interface", async () => {
    await bootFails(configOf("interface-param"), 0, "INJECTION_METADATA", [
      "plugins/greeter.ts",
      "Greeter",
      "parameter 1 (index 0)",
    ]);
  });

  test("a config with an unknown key (the key is named)", async () => {
    await bootFails(configOf("unknown-key"), 0, "CONFIG_INVALID", ['"wokers"', "unknown-key/rpc.config.ts"]);
  });

  test("--config pointing nowhere", async () => {
    const nowhere = join(FIXTURES, "no-such-case", "rpc.config.ts");
    await bootFails(nowhere, 0, "CONFIG_NOT_FOUND", [nowhere]);
  });

  for (const workers of [0, 2]) {
    test(`a port already in use: LISTEN_FAILED naming the address (--workers ${workers})`, async () => {
      const holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
      const { port } = holder.address() as AddressInfo;
      try {
        const run = await runCli(["serve", "--port", String(port), "--workers", String(workers), "--config", join(ROOT, "rpc.config.ts")], { timeoutMs: 60_000 });
        const shown = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
        assert.notEqual(run.code, 0, shown);
        assert.doesNotMatch(run.stdout, /forkrpc ready/, shown);
        assert.match(run.stderr, new RegExp(`LISTEN_FAILED: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`), shown);
      } finally {
        holder.close();
      }
    });
  }
});

describe("discovery happy paths", () => {
  test("nested folders load in sorted path order, .js beside .ts, injection of a service and ServerConfig", async () => {
    const served = await serve({ args: ["--config", configOf("nested")], timeoutMs: 60_000 });
    try {
      assert.match(served.stdout(), /forkrpc ready: 5 methods /);
      const order = await call(served.port, "order");
      assert.deepEqual(order.result, ["a.ts", "b/a/deep.ts", "b/c.ts", "m.js", "z/y/stats.ts"]);
      assert.deepEqual(await call(served.port, "deep"), { out: "deep", result: "deep" });
      assert.deepEqual(await call(served.port, "fromJs", [1]), { out: "fromJs", result: { js: true, params: [1] } });
      assert.deepEqual(await call(served.port, "bump"), { out: "bump", result: 1 });
      assert.deepEqual(await call(served.port, "bump"), { out: "bump", result: 2 });
      // nestedStats lives in another file and sees the same Counter instance.
      const stats = await call(served.port, "nestedStats");
      assert.equal(stats.out, "nestedStats");
      assert.deepEqual(stats.result, {
        counter: 2,
        maxFrameBytes: 65432,
        configFile: configOf("nested"),
        pid: served.pid,
      });
    } finally {
      await served.stop();
    }
  });

  test("--plugins GLOB on the command line overrides the config's plugins", async () => {
    const served = await serve({
      args: ["--config", configOf("override"), "--plugins", "test/fixtures/discovery/override/extra/*.ts"],
      timeoutMs: 60_000,
    });
    try {
      assert.match(served.stdout(), /forkrpc ready: 1 method /);
      assert.deepEqual(await call(served.port, "fromFlag"), { out: "fromFlag", result: "flag" });
      const missing = await call(served.port, "fromConfig");
      assert.equal(missing.out, "error");
      assert.equal(missing.result.code, "METHOD_NOT_FOUND");
    } finally {
      await served.stop();
    }
  });

  test("an app outside the repo (--config <tmp>, cwd = repo root) gets decorators and metadata", async () => {
    const dir = tempApp({
      "rpc.config.ts": `import { defineConfig } from "forkrpc";\nexport default defineConfig({ plugins: ["plugins/**/*.ts"], limits: { maxFrameBytes: 7777 } });\n`,
      "plugins/services/tally.ts": [
        `import { singleton } from "forkrpc";`,
        `@singleton()`,
        `export class Tally {`,
        `  n = 0;`,
        `}`,
      ].join("\n"),
      "plugins/tally.ts": [
        `import { Rpc, ServerConfig } from "forkrpc";`,
        `import { Tally } from "./services/tally.ts";`,
        `@Rpc("tally")`,
        `export class TallyHandler {`,
        `  constructor(private readonly tally: Tally, private readonly config: ServerConfig) {}`,
        `  handle() { return { n: ++this.tally.n, max: this.config.limits.maxFrameBytes }; }`,
        `}`,
      ].join("\n"),
    });
    const served = await serve({ args: ["--config", join(dir, "rpc.config.ts")], timeoutMs: 60_000 });
    try {
      assert.deepEqual(await call(served.port, "tally"), { out: "tally", result: { n: 1, max: 7777 } });
      assert.deepEqual(await call(served.port, "tally"), { out: "tally", result: { n: 2, max: 7777 } });
    } finally {
      await served.stop();
    }
  });
});
