/**
 * Where the compile cache may live (loader/cache.js): a folder that is not
 * storage turns the cache off with one warning line, and TypeScript loads
 * all the same; a user with no passwd entry gets a cache too.
 */
import { spawnSync } from "node:child_process";
import { accessSync, chmodSync, constants, cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import assert from "node:assert/strict";
import { cacheWarnings, runFull, work } from "./run.ts";

/** A program that loads a second .ts file: two loads, one warning. */
function twoFiles(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "said.ts"), 'export const said: string = "from the second file";\n');
  writeFileSync(join(dir, "main.ts"), 'import { said } from "./said.ts";\nconst first: string = "loaded";\nconsole.log(first, said);\n');
  return join(dir, "main.ts");
}

// Node's recursive mkdir never returns under /proc; the loader used it, and
// every .ts load spun. 20 s is ten times a slow start on a busy machine.
for (const [i, folder] of ["/proc/self", "/proc/self/forkrpc-cache", "/sys/kernel"].entries()) {
  test(`FORKRPC_CACHE_DIR=${folder}: one warning, and the program loads, compiled`, { skip: process.platform !== "linux" && "Linux folders" }, () => {
    const ran = runFull(twoFiles(`kernel-${i}`), folder, 20_000);
    assert.equal(ran.stdout, "loaded from the second file");
    const warnings = cacheWarnings(ran.stderr);
    assert.equal(warnings.length, 1, ran.stderr);
    assert.match(warnings[0] as string, /kernel interface|not a real filesystem/);
  });
}

test("a cache folder that cannot be written is skipped with one warning", { skip: process.getuid?.() === 0 && "root may write anywhere" }, () => {
  const locked = join(work, "locked");
  mkdirSync(locked, { mode: 0o500 });
  const ran = runFull(twoFiles("locked-run"), locked);
  assert.equal(ran.stdout, "loaded from the second file");
  assert.equal(cacheWarnings(ran.stderr).length, 1, ran.stderr);
});

const OTHER_UID = 54321;

/** Whether uid OTHER_UID, in no group, can reach (search) every folder above `path`. */
function reachable(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

test("a user without a passwd entry (containers with arbitrary uids) still runs TypeScript", { skip: process.getuid?.() !== 0 && "needs root to switch to such a uid" }, (t) => {
  // That user cannot read the checkout if it sits in a private folder (a
  // clone in root's home): the loader and the packages it loads are copied
  // where it can.
  const dir = mkdtempSync(join(os.tmpdir(), "forkrpc-cache-nobody-"));
  try {
    chmodSync(dir, 0o755);
    if (!reachable(dir) || !reachable(process.execPath)) {
      t.skip(`uid ${OTHER_UID} cannot reach ${dir} or ${process.execPath}`);
      return;
    }
    const require = createRequire(import.meta.url);
    const loader = fileURLToPath(new URL("../../loader/", import.meta.url));
    cpSync(loader, join(dir, "loader"), { recursive: true });
    // @swc holds @swc/core and the platform build it loads.
    const modules = dirname(dirname(dirname(require.resolve("@swc/core/package.json"))));
    for (const name of ["@swc", "reflect-metadata"]) cpSync(join(modules, name), join(dir, "node_modules", name), { recursive: true, dereference: true });
    const file = join(dir, "j.ts");
    writeFileSync(file, 'const said: string = "no passwd entry";\nconsole.log(said);\n');
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    chmodSync(tmp, 0o1777);
    const result = spawnSync(
      "setpriv",
      ["--reuid", `${OTHER_UID}`, "--regid", `${OTHER_UID}`, "--clear-groups", process.execPath, "--import", join(dir, "loader", "register.js"), file],
      { cwd: dir, env: { ...process.env, TMPDIR: tmp, FORKRPC_CACHE_DIR: "" }, encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), "no passwd entry");
    assert.deepEqual(cacheWarnings(result.stderr), [], "the default folder works for that user");
    accessSync(join(tmp, `forkrpc-swc-cache-${OTHER_UID}`), constants.F_OK);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
