/**
 * The pid file `forkrpc reload` and `forkrpc stop` find the master by.
 *
 * - Written whole or not at all: a temp file beside it, created with O_EXCL
 *   (so a symlink planted at the temp name is not followed), then linked
 *   into place (link() fails on an existing name instead of following it)
 *   or renamed over a stale file (rename() replaces a symlink, never its
 *   target).
 * - Refused while it names a live forkrpc master other than this process.
 * - Removed only by the process whose pid it holds.
 *
 * A forkrpc master is a process whose command line runs the forkrpc CLI
 * (bin/forkrpc[.js], or src/cli/main.ts / dist/cli/main.js) with the
 * command `serve` or `dev`, and is not a cluster worker (workers run the
 * same command line, with NODE_UNIQUE_ID in their environment). Linux tells
 * through /proc; where there is no /proc, a live pid is taken as a master.
 */
import { closeSync, constants, fstatSync, linkSync, lstatSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { BootError } from "../errors.ts";
import { log } from "../log.ts";

/** What a pid file's pid is, as far as this machine can tell. */
export type PidState =
  | { kind: "dead" }
  | { kind: "master"; command: string }
  | { kind: "other"; command: string };

const CLI_SCRIPT = /(^|\/)(forkrpc(\.js)?|(src|dist)\/cli\/main\.[cm]?[jt]s)$/;

/** Is this command line (argv, as /proc/PID/cmdline splits it) a forkrpc master's? */
export function isMasterCommand(argv: readonly string[]): boolean {
  const script = argv.findIndex((arg, i) => i > 0 && CLI_SCRIPT.test(arg));
  return script > 0 && (argv[script + 1] === "serve" || argv[script + 1] === "dev");
}

/** Whether `pid` is alive, and whether it is a forkrpc master. */
export function pidState(pid: number): PidState {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, another user's; ESRCH: gone.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return { kind: "dead" };
  }
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !hasProc()) return { kind: "master", command: "(no /proc to check)" };
    if (code === "ENOENT") return { kind: "dead" }; // exited since kill(0)
    return { kind: "other", command: `(command line unreadable: ${code})` };
  }
  if (argv.at(-1) === "") argv.pop();
  const command = argv.join(" ");
  if (argv.length === 0) return { kind: "other", command: "(a kernel thread or a zombie)" };
  if (!isMasterCommand(argv) || isClusterWorker(pid)) return { kind: "other", command };
  return { kind: "master", command };
}

function hasProc(): boolean {
  try {
    return lstatSync("/proc/self/cmdline").isFile();
  } catch {
    return false;
  }
}

function isClusterWorker(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").some((kv) => kv.startsWith("NODE_UNIQUE_ID="));
  } catch {
    return false; // another user's process: its environment is not ours to read
  }
}

/** What is at the pid file's path, read without following a symlink. */
type Existing = { kind: "none" } | { kind: "pid"; pid: number } | { kind: "junk"; what: string };

export function readPidFile(path: string): Existing {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "none" };
    if (code === "ELOOP") return { kind: "junk", what: "a symlink" };
    throw new BootError("PID_FILE_UNWRITABLE", `pid file ${path} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  try {
    if (!fstatSync(fd).isFile()) return { kind: "junk", what: "not a regular file" };
    const text = readFileSync(fd, "utf8").slice(0, 64).trim();
    const pid = Number(text);
    return /^\d+$/.test(text) && pid > 1 ? { kind: "pid", pid } : { kind: "junk", what: `no pid in it ("${text.slice(0, 20)}")` };
  } finally {
    closeSync(fd);
  }
}

export interface PidFile {
  readonly path: string;
  /** Removes the file if it still holds this process's pid. Safe to call twice. */
  release(): void;
}

/** Writes this process's pid to `path`; a BootError if a live master holds it or it cannot be written. */
export function claimPidFile(path: string): PidFile {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeTemp(path, temp);
  try {
    for (let attempt = 0; ; attempt++) {
      const existing = readPidFile(path);
      const stale = staleReason(path, existing);
      if (stale === null) {
        try {
          linkSync(temp, path);
          break;
        } catch (error) {
          // Another server claimed it between our read and our link: look again, once.
          if ((error as NodeJS.ErrnoException).code === "EEXIST" && attempt === 0) continue;
          if ((error as NodeJS.ErrnoException).code === "EEXIST") throw inUse(path, "another server is claiming it at the same moment");
          // A filesystem without hard links: rename is atomic as well.
        }
      } else {
        log.warn(`pid file ${path}: replacing a stale one (${stale})`);
      }
      renameSync(temp, path);
      break;
    }
  } catch (error) {
    if (error instanceof BootError) throw error;
    throw unwritable(path, error);
  } finally {
    rmSync(temp, { force: true });
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        const now = readPidFile(path);
        if (now.kind === "pid" && now.pid === process.pid) unlinkSync(path);
      } catch {
        // gone already, or unreadable: either way not ours to remove
      }
    },
  };
}

/** null when there is nothing at the path; why it may be replaced; or a BootError when a live master holds it. */
function staleReason(path: string, existing: Existing): string | null {
  if (existing.kind === "none") return null;
  if (existing.kind === "junk") return existing.what;
  if (existing.pid === process.pid) return "it holds this process's pid already";
  const state = pidState(existing.pid);
  if (state.kind === "dead") return `pid ${existing.pid} is not running`;
  if (state.kind === "other") return `pid ${existing.pid} is not a forkrpc master: ${state.command.slice(0, 120)}`;
  throw inUse(path, `pid ${existing.pid} is a running forkrpc master (${state.command.slice(0, 120)})`);
}

function writeTemp(path: string, temp: string): void {
  let fd: number;
  try {
    rmSync(temp, { force: true }); // left by a crashed process that had our pid
    fd = openSync(temp, "wx", 0o644);
  } catch (error) {
    throw unwritable(path, error);
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } catch (error) {
    rmSync(temp, { force: true });
    throw unwritable(path, error);
  } finally {
    closeSync(fd);
  }
}

function inUse(path: string, why: string): BootError {
  return new BootError(
    "PID_FILE_IN_USE",
    `pid file ${path}: ${why}. Stop that server first (forkrpc stop --pid-file ${path}), or give this one another --pid-file`,
  );
}

function unwritable(path: string, error: unknown): BootError {
  const e = error as NodeJS.ErrnoException;
  return new BootError("PID_FILE_UNWRITABLE", `pid file ${path} cannot be written (${e.code ?? e.message}): check that its folder exists and this user may write there`, { cause: error });
}
