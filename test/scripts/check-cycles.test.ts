/**
 * scripts/check-cycles.js, run as the tests run it: on tiny fake trees it
 * must fail on a new cycle (type-only and multi-line imports included) and
 * pass an acyclic one; on src/ it must pass.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT } from "../helpers/server.ts";

const SCRIPT = join(ROOT, "scripts/check-cycles.js");
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "forkrpc-cycles-"));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function check(dir: string) {
  const run = spawnSync(process.execPath, [SCRIPT, dir], { encoding: "utf8", timeout: 30_000 });
  return { status: run.status, stderr: run.stderr };
}

test("an acyclic tree passes (packages, strings and comments that look like imports do not count)", () => {
  const dir = tree({
    "a/one.ts": `import { two } from "./two.ts";\nimport { z } from "zod";\nexport const one = two + String(z);\n`,
    "a/two.ts": `// import { one } from "./one.ts";\nexport const two = "import { one } from './one.ts'";\n`,
    "b/three.ts": `export * from "../a/one.ts";\n`,
  });
  assert.deepEqual(check(dir), { status: 0, stderr: "" });
});

test("a cycle through `import type` fails, naming the files in order", () => {
  const dir = tree({
    "a/one.ts": `import type { Two } from "./two.ts";\nexport type One = Two[];\n`,
    "a/two.ts": `import type {\n  One,\n} from "./one.ts";\nexport type Two = One | 2;\n`,
  });
  const run = check(dir);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /file cycle: a\/one\.ts -> a\/two\.ts -> a\/one\.ts/);
});

test("a re-export and a dynamic import close a cycle of three", () => {
  const dir = tree({
    "x.ts": `export { y } from "./y.ts";\n`,
    "y.ts": `export const y = 1;\nexport const load = () => import("./z.ts");\n`,
    "z.ts": `import "./x.ts";\n`,
  });
  const run = check(dir);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /file cycle: x\.ts -> y\.ts -> z\.ts -> x\.ts/);
});

test("two folders importing each other fail, though no file cycle exists", () => {
  const dir = tree({
    "server/conn.ts": `import type { Mw } from "../middleware/types.ts";\nexport type Conn = Mw;\n`,
    "server/peer.ts": `export interface Peer { port: number }\n`,
    "middleware/types.ts": `import type { Peer } from "../server/peer.ts";\nexport type Mw = Peer;\n`,
  });
  const run = check(dir);
  assert.equal(run.status, 1);
  assert.doesNotMatch(run.stderr, /file cycle/);
  assert.match(run.stderr, /folder cycle: middleware\/ -> server\/ -> middleware\//);
});

test("src/ has no import cycle", () => {
  const run = check(join(ROOT, "src"));
  assert.equal(run.stderr, "");
  assert.equal(run.status, 0);
});
