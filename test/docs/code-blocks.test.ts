/**
 * Every TypeScript block in docs/ and README.md that is a complete file
 * (it starts with an import, or with a `// path/to/file.ts` line naming
 * it) compiles, with the app tsconfig getting-started documents. The blocks
 * of one page are one app: a block named `// plugins/audit.ts` is that file,
 * so a later block can import it, and this repository's plugins/ are there
 * too (client.md imports them). The one block left out says why below.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { ROOT } from "../helpers/server.ts";

/** Blocks that are not files of an app, by page and first line, with the reason. */
const NOT_FILES: Record<string, string> = {
  "operations.md: import { singleton, type OnWorkerStart, type OnWorkerStop } from \"forkrpc\";":
    "its Pool and createPool stand for any database driver's, which this repository does not install",
};

// Inside the repository, so that "forkrpc" resolves to it by its own name (package.json "exports").
const work = join(ROOT, ".tmp", `doc-blocks-${process.pid}`);
after(() => rmSync(work, { recursive: true, force: true }));

interface Block {
  page: string;
  line: number;
  file: string;
}

function extract(): Block[] {
  const pages = [...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`), "README.md"];
  const blocks: Block[] = [];
  for (const page of pages) {
    const text = readFileSync(join(ROOT, page), "utf8");
    const folder = join(work, page.replace(/[/.]/g, "-"));
    cpSync(join(ROOT, "plugins"), join(folder, "plugins"), { recursive: true });
    const taken = new Set<string>();
    for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
      const body = m[1] as string;
      const first = body.split("\n")[0] as string;
      const named = /^\/\/ ([\w./-]+\.ts)$/.exec(first)?.[1];
      if (named === undefined && !body.trimStart().startsWith("import ")) continue;
      if (`${page.replace("docs/", "")}: ${first}` in NOT_FILES) continue;
      const line = text.slice(0, m.index).split("\n").length;
      let name = named ?? `block-${line}.ts`;
      // Two blocks naming one file (two rpc.config.ts): the second gets a folder of its own.
      if (taken.has(name)) name = join(`also-${line}`, name);
      taken.add(name);
      const file = join(folder, name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
      blocks.push({ page, line, file });
    }
  }
  return blocks;
}

test("the docs' complete TypeScript files compile", { timeout: 120_000 }, async (t) => {
  const blocks = extract();
  t.diagnostic(`${blocks.length} blocks`);
  assert.ok(blocks.length >= 25, `only ${blocks.length} blocks found: did the extraction break?`);
  // The app tsconfig of docs/getting-started.md (examples/app/tsconfig.json), checking only.
  const appConfig = JSON.parse(readFileSync(join(ROOT, "examples/app/tsconfig.json"), "utf8"));
  const options = { ...appConfig.compilerOptions, noEmit: true, rootDir: ROOT, customConditions: ["forkrpc-source"] };
  delete options.outDir;
  writeFileSync(join(work, "tsconfig.json"), JSON.stringify({ compilerOptions: options, include: ["."] }));
  assert.ok(existsSync(join(work, "tsconfig.json")));
  const output = await new Promise<string>((resolve) => {
    execFile(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", work], { cwd: ROOT, timeout: 110_000 }, (_e, stdout, stderr) =>
      resolve(stdout + stderr),
    );
  });
  // Errors in the blocks only, each named by its page and line there.
  const errors = output
    .split("\n")
    .filter((l) => /error TS\d+/.test(l))
    .map((l) => {
      const path = join(ROOT, l.replace(/\(\d+,\d+\).*$/, ""));
      const block = blocks.find((b) => b.file === path);
      return block === undefined ? l : `${block.page}:${block.line} (${relative(work, block.file)}): ${l.replace(/^[^(]*/, "")}`;
    });
  assert.deepEqual(errors, [], errors.join("\n"));
});

test("getting-started's tsconfig.json and tsconfig.build.json are the example app's", () => {
  const text = readFileSync(join(ROOT, "docs/getting-started.md"), "utf8");
  const json = [...text.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => JSON.parse(m[1] as string));
  const app = (name: string) => JSON.parse(readFileSync(join(ROOT, "examples/app", name), "utf8"));
  assert.deepEqual(json.find((j) => j.compilerOptions?.experimentalDecorators === true), app("tsconfig.json"));
  assert.deepEqual(json.find((j) => j.extends === "./tsconfig.json"), app("tsconfig.build.json"));
});
