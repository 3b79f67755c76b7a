/**
 * watchTree, the folder watcher behind `serve --watch` / `forkrpc dev`.
 * Regression: on Node 20 and 22 (Linux), recursive fs.watch stopped
 * reporting a file for good once it had been saved by rename (sed -i,
 * `mv tmp file`, atomic saves). Run on each Node in /work/nodes too.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { watchTree } from "../../src/cluster/watch-tree.ts";

const root = mkdtempSync(join(tmpdir(), "forkrpc-watch-tree-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Collects events; `next(match, action)` runs action and waits (up to 5 s) for an event on a matching path. */
function recorder() {
  const seen: string[] = [];
  const warnings: string[] = [];
  const tree = watchTree(root, (path) => seen.push(path), (m) => warnings.push(m));
  const next = async (path: string, action: () => void): Promise<void> => {
    await sleep(50); // let the previous step's late events arrive before clearing them
    seen.length = 0;
    action();
    const until = Date.now() + 5_000;
    while (!seen.includes(path) && Date.now() < until) await sleep(20);
    assert.ok(seen.includes(path), `no event for ${path} (saw: ${seen.join(", ") || "nothing"})`);
  };
  return { tree, next, warnings };
}

function renameSave(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

test("a file saved by rename is still reported on every later save, by rename or by write", async () => {
  mkdirSync(join(root, "plugins/deep"), { recursive: true });
  const file = join(root, "plugins/deep/hello.ts");
  writeFileSync(file, "1");
  const { tree, next, warnings } = recorder();
  try {
    await next(file, () => writeFileSync(file, "2"));
    await next(file, () => renameSave(file, "3"));
    await next(file, () => writeFileSync(file, "4")); // lost on Node 20/22 with recursive fs.watch
    await next(file, () => renameSave(file, "5"));
    await next(file, () => renameSave(file, "6"));
    await next(file, () => writeFileSync(file, "7"));
    assert.deepEqual(warnings, []);
  } finally {
    tree.close();
  }
});

test("folders made or moved in are watched from then on, removed ones forgotten, node_modules and dot-folders never", async () => {
  mkdirSync(join(root, "app/node_modules/dep"), { recursive: true });
  mkdirSync(join(root, "app/.cache"), { recursive: true });
  const { tree, next } = recorder();
  try {
    assert.ok(tree.folders().includes(join(root, "app")));
    assert.ok(!tree.folders().some((f) => f.includes("node_modules") || f.includes(".cache")), tree.folders().join(", "));

    const made = join(root, "app/made");
    await next(made, () => mkdirSync(made));
    await next(join(made, "a.ts"), () => writeFileSync(join(made, "a.ts"), "x"));

    // A folder built elsewhere and moved in whole, with a folder inside it.
    const outside = mkdtempSync(join(tmpdir(), "forkrpc-watch-moved-"));
    mkdirSync(join(outside, "inner"));
    const moved = join(root, "app/moved");
    await next(moved, () => renameSync(outside, moved));
    assert.ok(tree.folders().includes(join(moved, "inner")), tree.folders().join(", "));
    await next(join(moved, "inner/b.ts"), () => writeFileSync(join(moved, "inner/b.ts"), "y"));

    await next(moved, () => rmSync(moved, { recursive: true }));
    const until = Date.now() + 5_000;
    while (tree.folders().some((f) => f.startsWith(moved)) && Date.now() < until) await sleep(20);
    assert.ok(!tree.folders().some((f) => f.startsWith(moved)), tree.folders().join(", "));
  } finally {
    tree.close();
  }
  assert.deepEqual(tree.folders(), []);
});

test("a root that does not exist is a warning, not a throw", () => {
  const warnings: string[] = [];
  const tree = watchTree(join(root, "missing"), () => {}, (m) => warnings.push(m));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] as string, /cannot watch .*missing: ENOENT/);
  assert.deepEqual(tree.folders(), []);
  tree.close();
});
