/**
 * `serve --watch`: a new plugin file is picked up through the safe reload.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, childPids, isAlive, supervised, tempFixture, waitFor } from "../helpers/supervision.ts";

test("serve --watch: writing a new plugin file makes its method answer", { timeout: 85_000 }, async (t) => {
  const fx = tempFixture("watch");
  const options = { args: ["--config", fx.config, "--workers", "1", "--watch"], timeoutMs: 40_000 };
  await supervised(
    options,
    async ({ served }) => {
      const before = await waitFor("1 worker", () => (childPids(served.pid).length === 1 ? childPids(served.pid) : undefined), 5_000);
      assert.match(served.stderr(), /watching .*plugins/);
      const missing = await call(served.port, "hello");
      assert.equal(missing.result?.code, "METHOD_NOT_FOUND");

      writeFileSync(
        join(fx.plugins, "hello.ts"),
        `import { Rpc } from "forkrpc";\n\n@Rpc("hello")\nexport class Hello {\n  handle(params: unknown) {\n    return { hello: params };\n  }\n}\n`,
      );
      const at = Date.now();
      const r = await waitFor(
        '"hello" to answer',
        async () => {
          const x = await call(served.port, "hello", "world");
          return x.out === "error" && x.result?.code === "METHOD_NOT_FOUND" ? undefined : x;
        },
        15_000,
        200,
      );
      t.diagnostic(`"hello" answered ${Date.now() - at} ms after the file was written`);
      assert.deepEqual(r, { out: "hello", result: { hello: "world" } });
      assert.match(served.stderr(), /reload \(changed: .*hello\.ts\)/);
      await waitFor("the old worker to go", () => !isAlive(before[0] as number), 10_000);
      assert.deepEqual(await call(served.port, "ping", 3), { out: "pong", result: 3 });

      // Saves by rename (sed -i, `mv tmp file`, atomic editors) reload every time, and so
      // does a plain write after one: Node 20's recursive fs.watch lost the file for good.
      const file = join(fx.plugins, "hello.ts");
      const version = (v: string) =>
        `import { Rpc } from "forkrpc";\n\n@Rpc("hello")\nexport class Hello {\n  handle() {\n    return "${v}";\n  }\n}\n`;
      const saves: Array<[string, () => void]> = [
        ["rename 1", () => (writeFileSync(`${file}.tmp`, version("rename 1")), renameSync(`${file}.tmp`, file))],
        ["write after rename", () => writeFileSync(file, version("write after rename"))],
        ["rename 2", () => (writeFileSync(`${file}.tmp`, version("rename 2")), renameSync(`${file}.tmp`, file))],
      ];
      for (const [v, save] of saves) {
        save();
        await waitFor(`"hello" to answer ${v}`, async () => ((await call(served.port, "hello")).result === v ? true : undefined), 15_000, 200);
      }
    },
    { cleanup: fx.remove },
  );
});
