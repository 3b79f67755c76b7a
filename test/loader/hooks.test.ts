/**
 * The two ways the loader hooks into Node (loader/register.js): in the
 * importing thread (module.registerHooks, Node 22.15+) and on a hooks thread
 * (module.register: Node 20, or FORKRPC_TS_LOADER=thread). Each is checked
 * for what it must keep: errors that name the .ts file and line, and
 * decorator metadata that constructor injection needs, ahead of Node's own
 * type stripping (22.18+, 24) which would refuse the decorators.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import module from "node:module";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../helpers/server.ts";
import { removeTempApps, tempApp } from "../helpers/temp-app.ts";
import { callOnce } from "../helpers/wire.ts";
import { launch, work } from "./run.ts";

after(removeTempApps);

const IN_THREAD = typeof (module as { registerHooks?: unknown }).registerHooks === "function";
const modes = [
  ...(IN_THREAD ? [{ name: "in the importing thread (module.registerHooks)", setting: "", thread: false }] : []),
  { name: "on a hooks thread (module.register)", setting: "thread", thread: true },
];

/** work/dir/name holding `text`. */
function file(dir: string, name: string, text: string): string {
  mkdirSync(join(work, dir), { recursive: true });
  writeFileSync(join(work, dir, name), text);
  return join(work, dir, name);
}

// Threads this process has once the thread pool is up.
const COUNT_THREADS = 'await import("node:fs/promises").then((fs) => fs.stat("."));\nconsole.log((await import("node:fs")).readdirSync("/proc/self/task").length);\n';

for (const [i, mode] of modes.entries()) {
  const env = { FORKRPC_TS_LOADER: mode.setting };
  describe(`the loader ${mode.name}`, () => {
    test(mode.thread ? "adds one thread to the process" : "adds no thread to the process", { skip: process.platform !== "linux" && "counts /proc/self/task" }, () => {
      const plain = spawnSync(process.execPath, ["--input-type=module", "-e", COUNT_THREADS], { encoding: "utf8", timeout: 30_000 });
      assert.equal(plain.status, 0, plain.stderr);
      const threads = file(`threads-${i}`, "threads.ts", `const unused: number = 0;\n${COUNT_THREADS}`);
      // Twice: the second run reads the cache, as most starts do (a compile may start swc's threads).
      launch(threads, { env });
      const ran = launch(threads, { env });
      assert.equal(ran.status, 0, ran.stderr);
      assert.equal(Number(ran.stdout), Number(plain.stdout) + (mode.thread ? 1 : 0));
    });

    test("a syntax error names the .ts file and line", () => {
      const bad = file(`syntax-${i}`, "bad.ts", "const a = 1;\nconst b = 2;\nconst c: string = ;\nconsole.log(a, b, c);\n");
      const ran = launch(bad, { env, cache: "off" });
      assert.notEqual(ran.status, 0);
      assert.match(ran.stderr, /bad\.ts:3:/);
      assert.match(ran.stderr, /Expression expected/);
    });

    test("a stack trace points at the .ts line (source maps)", () => {
      const boom = file(`stack-${i}`, "boom.ts", 'interface Unused { a: number }\nfunction fail(why: string): never {\n  throw new Error(why);\n}\nfail("on purpose");\n');
      const ran = launch(boom, { env });
      assert.notEqual(ran.status, 0);
      assert.match(ran.stderr, /boom\.ts:3:\d+/);
    });

    test("a plugin with constructor injection is served, by the master and by a worker", async () => {
      const app = tempApp("forkrpc-loader-inject-", {
        "rpc.config.ts": 'import { defineConfig } from "forkrpc";\nexport default defineConfig({ plugins: ["plugins/*.ts"] });\n',
        "plugins/time.ts": [
          'import { Rpc, injectable } from "forkrpc";',
          "@injectable()",
          'export class Clock { now() { return "tick"; } }',
          '@Rpc("time")',
          "export class Time {",
          "  constructor(private readonly clock: Clock) {}",
          "  handle() { return this.clock.now(); }",
          "}",
          "",
        ].join("\n"),
      });
      for (const workers of ["0", "1"]) {
        const server = await serve({ cwd: app, args: ["--workers", workers], env });
        try {
          const response = await callOnce(server.port, "time");
          assert.deepEqual(response.result, "tick", JSON.stringify(response));
        } finally {
          await server.stop();
        }
      }
    });
  });
}
