import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { discoverPlugins } from "../../src/plugins/discover.ts";

let root: string;

const FILES = [
  "plugins/zeta.ts",
  "plugins/alpha.js",
  "plugins/Beta.ts",
  "plugins/sub/gamma.ts",
  "plugins/sub/deep/delta.js",
  "plugins/a-b.ts",
  "plugins/a.ts",
  "plugins/types.d.ts",
  "plugins/sub/more.d.ts",
  "plugins/legacy.d.mts",
  "plugins/readme.md",
  "plugins/data.json",
  "plugins/node_modules/dep/index.js",
  "plugins/sub/node_modules/x.ts",
  "node_modules/pkg/plugins/evil.ts",
  "other/outside.ts",
];

before(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "forkrpc-discover-")));
  for (const file of FILES) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), "export {};\n");
  }
  // a folder whose name looks like a plugin file
  await mkdir(join(root, "plugins/folder.ts"), { recursive: true });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const EXPECTED = [
  "plugins/Beta.ts",
  "plugins/a-b.ts",
  "plugins/a.ts",
  "plugins/alpha.js",
  "plugins/sub/deep/delta.js",
  "plugins/sub/gamma.ts",
  "plugins/zeta.ts",
];
const abs = (paths: string[]) => paths.map((p) => join(root, p)).sort();

test("the default pattern finds .ts and .js files as absolute paths, sorted", async () => {
  const found = await discoverPlugins(["plugins/**/*.{ts,js}"], root);
  assert.ok(found.every((p) => isAbsolute(p)), found.join("\n"));
  assert.deepEqual(found, [...found].sort(), "sorted");
  assert.deepEqual(found, abs(EXPECTED));
});

test("the order does not depend on the order of the patterns", async () => {
  const a = await discoverPlugins(["plugins/*.js", "plugins/**/*.ts", "plugins/sub/**/*.js"], root);
  const b = await discoverPlugins(["plugins/sub/**/*.js", "plugins/**/*.ts", "plugins/*.js"], root);
  assert.deepEqual(a, b);
  assert.deepEqual(a, abs(EXPECTED));
});

test("overlapping patterns give each file once", async () => {
  const found = await discoverPlugins(
    ["plugins/**/*.{ts,js}", "plugins/*.ts", "plugins/**/*.ts", "plugins/sub/gamma.ts", "./plugins/a.ts"],
    root,
  );
  assert.equal(new Set(found).size, found.length, `duplicates in:\n${found.join("\n")}`);
  assert.deepEqual(found, abs(EXPECTED));
});

test(".d.ts files, node_modules and folders are never plugins", async () => {
  const found = await discoverPlugins(["**/*.{ts,js,mts}", "**/*.d.ts", "node_modules/**/*.ts", "plugins/node_modules/**"], root);
  for (const p of found) {
    assert.ok(!p.endsWith(".d.ts") && !p.endsWith(".d.mts"), `declaration file found: ${p}`);
    assert.ok(!p.includes("/node_modules/"), `node_modules file found: ${p}`);
    assert.ok(!p.endsWith("folder.ts"), `folder found: ${p}`);
  }
  assert.deepEqual(found, abs([...EXPECTED, "other/outside.ts"]));
});

test("patterns are relative to the root given, not to the process's cwd", async () => {
  const sub = join(root, "plugins/sub");
  assert.deepEqual(await discoverPlugins(["*.ts"], sub), [join(sub, "gamma.ts")]);
  assert.deepEqual(await discoverPlugins(["**/*.js"], sub), [join(sub, "deep/delta.js")]);
});

test("a pattern that matches nothing gives an empty list", async () => {
  assert.deepEqual(await discoverPlugins(["nothing/**/*.ts"], root), []);
});
