/**
 * The pid file, against real `forkrpc serve`: reload/stop never signal a
 * process that is not a forkrpc master (a stale file's pid reused by
 * anything), a symlink at the path is not followed, a second server never
 * takes the running one's file with it, and --workers 0 writes one too.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, serve } from "../helpers/server.ts";
import { isMasterCommand } from "../../src/cluster/pid-file.ts";

const DIR = mkdtempSync(join(tmpdir(), "forkrpc-pid-"));
after(() => rmSync(DIR, { recursive: true, force: true }));

/** A live process that is no forkrpc master, killed by its pid at the end of the test. */
async function bystander(t: { after(fn: () => void): void }) {
  const proc = spawn("sleep", ["30"], { stdio: "ignore" });
  await once(proc, "spawn");
  let exited = false;
  proc.on("exit", () => (exited = true));
  t.after(() => {
    if (!exited) process.kill(proc.pid!, "SIGKILL");
  });
  return { pid: proc.pid!, exited: () => exited };
}

test("a master is recognised by its command line: the CLI with serve or dev", () => {
  assert.ok(isMasterCommand(["node", "/srv/app/node_modules/.bin/forkrpc", "serve"]));
  assert.ok(isMasterCommand(["node", "--import", "file:///x/loader/register.js", "/x/src/cli/main.ts", "dev", "--port", "0"]));
  assert.ok(isMasterCommand(["/usr/bin/node", "/x/node_modules/forkrpc/dist/cli/main.js", "serve"]));
  assert.ok(!isMasterCommand(["sleep", "30"]));
  assert.ok(!isMasterCommand(["node", "/x/bin/forkrpc.js", "stop"]), "stop is not a master");
  assert.ok(!isMasterCommand(["node", "/x/myforkrpc-clone/app.js", "serve"]));
  assert.ok(!isMasterCommand(["forkrpc", "serve"]), "argv[0] alone is not the script");
});

test("a stale pid file naming an unrelated live process: reload and stop refuse it and signal nothing", async (t) => {
  const other = await bystander(t);
  const pidFile = join(DIR, "stale.pid");
  writeFileSync(pidFile, `${other.pid}\n`);
  for (const command of ["reload", "stop"]) {
    const r = await runCli([command, "--pid-file", pidFile]);
    assert.equal(r.code, 1, `${command}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`PID_NOT_A_MASTER: pid ${other.pid} from .*stale\\.pid is not a forkrpc master, so it was not signalled \\(its command line: sleep 30\\)`));
    assert.equal(r.stdout, "");
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(!other.exited(), "the unrelated process is still running");
  process.kill(other.pid, 0);

  // A server started with that file replaces it, says so, and can then be stopped through it.
  const served = await serve({ args: ["--workers", "1", "--pid-file", pidFile], timeoutMs: 60_000 });
  try {
    assert.equal(readFileSync(pidFile, "utf8"), `${served.pid}\n`);
    assert.match(served.stderr(), new RegExp(`replacing a stale one \\(pid ${other.pid} is not a forkrpc master: sleep 30\\)`));
    const stop = await runCli(["stop", "--pid-file", pidFile]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await served.exited(), 0);
    assert.ok(!existsSync(pidFile), "the master removed its pid file");
    assert.ok(!other.exited());
  } finally {
    await served.stop("SIGKILL");
  }
});

test("a pid file naming a process that has exited: stop says no server runs, exit 1", async () => {
  const gone = spawn("true");
  await once(gone, "exit");
  const pidFile = join(DIR, "dead.pid");
  writeFileSync(pidFile, `${gone.pid}\n`);
  const r = await runCli(["stop", "--pid-file", pidFile]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`SERVER_NOT_RUNNING: no server is running: pid ${gone.pid} from .* has exited`));
  writeFileSync(pidFile, "\x1b]0;pwned\x07");
  const junk = await runCli(["stop", "--pid-file", pidFile]);
  assert.equal(junk.code, 1);
  assert.match(junk.stderr, /PID_FILE_INVALID: .*does not hold a pid: no pid in it \("\\x1b\]0;pwned\\x07"\)/);
});

test("a symlink at the pid path is not followed: its target is untouched, the link is replaced", async () => {
  const target = join(DIR, "precious.txt");
  writeFileSync(target, "do not overwrite\n");
  const pidFile = join(DIR, "link.pid");
  symlinkSync(target, pidFile);
  const served = await serve({ args: ["--workers", "1", "--pid-file", pidFile], timeoutMs: 60_000 });
  try {
    assert.equal(readFileSync(target, "utf8"), "do not overwrite\n");
    assert.ok(lstatSync(pidFile).isFile(), "the pid file is a regular file now, not the link");
    assert.equal(readFileSync(pidFile, "utf8"), `${served.pid}\n`);
    assert.equal(await served.stop(), 0);
    assert.ok(!existsSync(pidFile));
    assert.equal(readFileSync(target, "utf8"), "do not overwrite\n");
  } finally {
    await served.stop("SIGKILL");
  }
});

test("a second server on the same port leaves the first one's pid file, and forkrpc stop still stops the first", { timeout: 120_000 }, async () => {
  const pidFile = join(DIR, "first.pid");
  const first = await serve({ args: ["--workers", "1", "--pid-file", pidFile], timeoutMs: 60_000 });
  try {
    const port = String(first.port);
    // The same pid file: refused before it listens.
    const same = await runCli(["serve", "--port", port, "--workers", "1", "--pid-file", pidFile], { timeoutMs: 60_000 });
    assert.equal(same.code, 1, same.stderr);
    assert.match(same.stderr, new RegExp(`PID_FILE_IN_USE: pid file .*first\\.pid: pid ${first.pid} is a running forkrpc master`));
    assert.equal(readFileSync(pidFile, "utf8"), `${first.pid}\n`);

    // Its own pid file: it fails to listen, and removes only its own file.
    const ownFile = join(DIR, "second.pid");
    const second = await runCli(["serve", "--port", port, "--workers", "1", "--pid-file", ownFile], { timeoutMs: 60_000 });
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /LISTEN_FAILED/);
    assert.ok(!existsSync(ownFile), "the second server removed its own pid file");
    assert.equal(readFileSync(pidFile, "utf8"), `${first.pid}\n`, "the first server's pid file is intact");

    const stop = await runCli(["stop", "--pid-file", pidFile]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `stopping pid ${first.pid} (SIGTERM)\n`);
    assert.equal(await first.exited(), 0);
    assert.ok(!existsSync(pidFile));
  } finally {
    await first.stop("SIGKILL");
  }
});

test("--workers 0 writes its pid file and removes it when it stops", async () => {
  const pidFile = join(DIR, "standalone.pid");
  const served = await serve({ args: ["--workers", "0", "--pid-file", pidFile] });
  try {
    assert.equal(readFileSync(pidFile, "utf8"), `${served.pid}\n`);
    const stop = await runCli(["stop", "--pid-file", pidFile]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await served.exited(), 0);
    assert.ok(!existsSync(pidFile));
  } finally {
    await served.stop("SIGKILL");
  }
});

test("a pid file that cannot be written is a coded error naming the file", async () => {
  const pidFile = join(DIR, "no-such-folder", "x.pid");
  const r = await runCli(["serve", "--port", "0", "--workers", "0", "--pid-file", pidFile]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^forkrpc: PID_FILE_UNWRITABLE: pid file .*no-such-folder\/x\.pid cannot be written \(ENOENT\)/m);
});
