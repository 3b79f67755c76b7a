/**
 * loadPlugins names the file that defines a handler class (where @Rpc ran),
 * not the first file that exports it, and reports every invalid class in one
 * error. Each case writes its plugins to a fresh temp folder (a module is
 * imported once per process, so folders are never reused).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { discoverPlugins } from "../../src/plugins/discover.ts";
import { loadPlugins } from "../../src/plugins/load.ts";
import { PREFETCH_BATCH } from "../../src/plugins/prefetch.ts";
import { removeTempApps, tempApp } from "../helpers/temp-app.ts";

after(removeTempApps);

/** Writes the files and loads what `plugins/**\/*.ts` matches, as a worker would. */
async function load(files: Record<string, string>) {
  const dir = tempApp("forkrpc-load-", files);
  const found = await discoverPlugins(["plugins/**/*.ts"], dir);
  return { dir, defs: async () => (await loadPlugins(found, dir)).handlers };
}

/** Resolves to the BootError the load fails with. */
async function bootError(load: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await load();
  } catch (error) {
    return error as { code: string; message: string };
  }
  assert.fail("the load was expected to fail");
}

const handler = (cls: string, method: string, body = "handle() { return 1; }") =>
  `import { Rpc } from "forkrpc";\n@Rpc("${method}")\nexport class ${cls} {\n  ${body}\n}\n`;
const REEXPORT = `export { Greeter } from "./greeter.ts";\n`;

test("a re-exported handler is attributed to the file that defines it, not the re-exporting file sorted first", async () => {
  const app = await load({ "plugins/a-index.ts": REEXPORT, "plugins/greeter.ts": handler("Greeter", "greet") });
  const defs = await app.defs();
  assert.equal(defs.length, 1, "exported twice, counted once");
  assert.equal(defs[0]!.file, join(app.dir, "plugins/greeter.ts"));
});

test("a handler defined outside the plugin patterns and re-exported by a plugin is attributed to its own file", async () => {
  const app = await load({ "plugins/index.ts": `export { Greeter } from "../lib/greeter.ts";\n`, "lib/greeter.ts": handler("Greeter", "greet") });
  const defs = await app.defs();
  assert.equal(defs[0]!.file, join(app.dir, "lib/greeter.ts"));
});

test("through a symlinked plugin root, the defining file is spelled under that root, as discovered files are", async (t) => {
  const app = await load({ "plugins/a-index.ts": REEXPORT, "plugins/greeter.ts": handler("Greeter", "greet") });
  const link = `${app.dir}-current`;
  symlinkSync(app.dir, link, "dir");
  // unlink, not rmSync: on some Node 24 releases (24.11.1, 24.12.0) rmSync follows a link to a folder and
  // throws ERR_FS_EISDIR (nodejs/node#61020).
  t.after(() => unlinkSync(link));
  // Node imports the real path, so the stack names app.dir, not the link.
  const { handlers: defs } = await loadPlugins(await discoverPlugins(["plugins/**/*.ts"], link), link);
  assert.equal(defs[0]!.file, join(link, "plugins/greeter.ts"));
});

test("PLUGIN_INVALID for a re-exported class names the defining file", async () => {
  const app = await load({ "plugins/a-index.ts": REEXPORT, "plugins/greeter.ts": handler("Greeter", "greet", "greet() { return 1; }") });
  const error = await bootError(app.defs);
  assert.equal(error.code, "PLUGIN_INVALID");
  assert.match(error.message, /Greeter in plugins\/greeter\.ts: an @Rpc class needs a handle/);
  assert.doesNotMatch(error.message, /a-index/);
});

test("DUPLICATE_METHOD for re-exported classes names the defining files", async () => {
  const app = await load({
    "plugins/a-index.ts": `export { One } from "./one.ts";\nexport { Two } from "./two.ts";\n`,
    "plugins/one.ts": handler("One", "same"),
    "plugins/two.ts": handler("Two", "same"),
  });
  const error = await bootError(app.defs);
  assert.equal(error.code, "DUPLICATE_METHOD");
  assert.ok(error.message.includes(`"same" is claimed by One in plugins/one.ts and by Two in plugins/two.ts`), error.message);
});

test("an unexported @Rpc class is reported in the file that defines it, with the file that imported it", async () => {
  const app = await load({
    "plugins/a.ts": `import { helper } from "./b.ts";\nexport const uses = helper;\n`,
    "plugins/b.ts": `import { Rpc } from "forkrpc";\n@Rpc("hidden")\nclass Hidden {\n  handle() { return 1; }\n}\nexport const helper = Hidden.name;\n`,
  });
  const error = await bootError(app.defs);
  assert.equal(error.code, "PLUGIN_NOT_EXPORTED");
  assert.ok(error.message.includes("Hidden in plugins/b.ts (imported through plugins/a.ts)"), error.message);
  assert.doesNotMatch(error.message, /decorated while importing/);
});

test("when the stack cannot tell, the exporting and importing files are named, as before", async () => {
  const reexported = await load({ "plugins/a-index.ts": REEXPORT, "plugins/greeter.ts": handler("Greeter", "greet") });
  const hidden = await load({
    "plugins/a.ts": `import { helper } from "./b.ts";\nexport const uses = helper;\n`,
    "plugins/b.ts": `import { Rpc } from "forkrpc";\n@Rpc("hidden")\nclass Hidden {\n  handle() { return 1; }\n}\nexport const helper = Hidden.name;\n`,
  });
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let defs;
  let error;
  try {
    defs = await reexported.defs();
    error = await bootError(hidden.defs);
  } finally {
    Error.stackTraceLimit = limit;
  }
  assert.equal(defs[0]!.file, join(reexported.dir, "plugins/a-index.ts"));
  assert.equal(error.code, "PLUGIN_NOT_EXPORTED");
  assert.ok(error.message.includes("Hidden (decorated while importing plugins/a.ts)"), error.message);
});

test("@Rpc applied twice fails with PLUGIN_INVALID naming the class, its file and both methods (not PLUGIN_IMPORT_FAILED)", async () => {
  const app = await load({
    "plugins/twice.ts": `import { Rpc } from "forkrpc";\n@Rpc("first")\n@Rpc("second")\nexport class Twice {\n  handle() { return 1; }\n}\n`,
  });
  const error = await bootError(app.defs);
  assert.equal(error.code, "PLUGIN_INVALID");
  assert.match(error.message, /Twice in plugins\/twice\.ts: @Rpc is applied 2 times \("second", "first"\)/);
  assert.doesNotMatch(error.message, /redefine/);
});

test("every invalid class of every file is reported in one PLUGIN_INVALID, before any duplicate name", async () => {
  const app = await load({
    "plugins/a.ts": handler("NoHandle", "a", "run() { return 1; }"),
    "plugins/b.ts": `import { Rpc } from "forkrpc";\n@Rpc("b", { out: "error" })\nexport class ErrorOut {\n  handle() { return 1; }\n}\n`,
    "plugins/c.ts": handler("Nameless", "", "other() { return 1; }"),
    "plugins/d.ts": handler("DupOne", "dup"),
    "plugins/e.ts": handler("DupTwo", "dup"),
  });
  const error = await bootError(app.defs);
  assert.equal(error.code, "PLUGIN_INVALID");
  const lines = error.message.split("\n").slice(1).map((line) => line.trim());
  assert.deepEqual(lines, [
    "NoHandle in plugins/a.ts: an @Rpc class needs a handle(params, ctx) method",
    `ErrorOut in plugins/b.ts: "out" cannot be "error": clients read it as the protocol's own message`,
    "Nameless in plugins/c.ts: @Rpc needs a non-empty method name",
    `Nameless in plugins/c.ts: @Rpc option "out" must be a non-empty string`,
    "Nameless in plugins/c.ts: an @Rpc class needs a handle(params, ctx) method",
  ]);
  assert.doesNotMatch(error.message, /dup/i, "duplicates wait until the invalid classes are fixed");
});

test("past a prefetch batch, files still run one at a time in sorted order (top-level await included), and failures name their files", async () => {
  const ORDER = "(globalThis as { __forkrpcBatchOrder?: string[] }).__forkrpcBatchOrder";
  const names = Array.from({ length: 3 * PREFETCH_BATCH + 5 }, (_, i) => `p${String(i).padStart(3, "0")}`);
  const files: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    const pause = i % 7 === 0 ? "await new Promise((resolve) => setTimeout(resolve, 1));\n" : "";
    files[`plugins/${name}.ts`] = `${handler(`H${name}`, name)}(${ORDER} ??= []).push("${name} start");\n${pause}${ORDER}!.push("${name} end");\n`;
  }
  const throwing = names[PREFETCH_BATCH + 3]!;
  const broken = names[2 * PREFETCH_BATCH + 1]!;
  files[`plugins/${throwing}.ts`] = `throw new Error("top level of ${throwing}");\n`;
  files[`plugins/${broken}.ts`] = "export const = ;\n";
  const app = await load(files);
  const error = await bootError(app.defs);
  assert.equal(error.code, "PLUGIN_IMPORT_FAILED");
  const named = [...error.message.matchAll(/^  (plugins\/p\d+\.ts): /gm)].map((match) => match[1]);
  assert.deepEqual(named, [`plugins/${throwing}.ts`, `plugins/${broken}.ts`]);
  assert.ok(error.message.includes(`plugins/${throwing}.ts: Error: top level of ${throwing}\n`), error.message);
  const ran = names.filter((name) => name !== throwing && name !== broken);
  assert.deepEqual((globalThis as { __forkrpcBatchOrder?: string[] }).__forkrpcBatchOrder, ran.flatMap((name) => [`${name} start`, `${name} end`]));
});

test("past a prefetch batch, handlers are registered in sorted file order", async () => {
  const files: Record<string, string> = {};
  for (let i = 2 * PREFETCH_BATCH + 3; i > 0; i--) files[`plugins/q${String(i).padStart(3, "0")}.ts`] = handler(`Q${i}`, `q${i}`);
  const app = await load(files);
  const defs = await app.defs();
  assert.deepEqual(
    defs.map((def) => def.file),
    Object.keys(files).sort().map((name) => join(app.dir, name)),
  );
});

test("@Rpc option offload must be a boolean: PLUGIN_INVALID at boot, not a surprise per request", async () => {
  const app = await load({
    "plugins/a.ts": `import { Rpc } from "forkrpc";\n@Rpc("a", { offload: "yes" as unknown as boolean })\nexport class Offload {\n  handle() { return 1; }\n}\n`,
  });
  const error = await bootError(app.defs);
  assert.equal(error.code, "PLUGIN_INVALID");
  assert.match(error.message, /Offload in plugins\/a\.ts: @Rpc option "offload" must be true or false/);
});
