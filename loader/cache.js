// The loader's on-disk compile cache: which folder (if any), and entries
// that are verified before they are run. Plain JS, like the hooks.
//
// An entry is one header line, then the compiled module:
//   //forkrpc-cache 2 <sha256 of the source> <its bytes> <sha256 of the module> <its bytes>
// The file name is a hash of everything the output depends on; the header
// makes a cut, padded or bit-flipped entry, or one copied under another
// name, a miss: it is compiled and written again, never run. A cut entry
// can still be valid JavaScript (half a module that runs and does less).
import { createHash } from "node:crypto";
import { accessSync, closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statfsSync, statSync, writeSync } from "node:fs";
import { open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname, join, resolve } from "node:path";

export const sha256 = (data) => createHash("sha256").update(data).digest("hex");

const HEADER = /^\/\/forkrpc-cache 2 ([0-9a-f]{64}) (\d+) ([0-9a-f]{64}) (\d+)$/;

/** The entry's bytes: the header, then `code`. */
function entryBytes(sourceHash, sourceBytes, code) {
  const body = Buffer.from(code);
  const header = `//forkrpc-cache 2 ${sourceHash} ${sourceBytes} ${sha256(body)} ${body.length}\n`;
  return Buffer.concat([Buffer.from(header), body]);
}

/**
 * The compiled module stored at `entry` for the source whose hash and byte
 * length are given, or null: missing, or not exactly what was written for it.
 */
export function readEntry(entry, sourceHash, sourceBytes) {
  let data;
  try {
    data = readFileSync(entry);
  } catch {
    return null;
  }
  const end = data.indexOf(10);
  const header = end < 0 ? null : HEADER.exec(data.toString("latin1", 0, end));
  if (header === null || header[1] !== sourceHash || Number(header[2]) !== sourceBytes) return null;
  const body = data.subarray(end + 1);
  if (body.length !== Number(header[4]) || sha256(body) !== header[3]) return null;
  return body.toString("utf8");
}

// Whole files only (another process may be reading or writing the same
// entry): written beside it, on disk (fsync) before the rename makes it
// visible, so a crash leaves the old entry, none, or a .tmp the sweep removes.
const partialName = (entry) => `${entry}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;

/** Stores `code` at `entry`; best effort (a full or read-only disk costs a compile next time). */
export async function writeEntry(entry, sourceHash, sourceBytes, code) {
  const partial = partialName(entry);
  let handle = null;
  try {
    handle = await open(partial, "wx", 0o600);
    await handle.writeFile(entryBytes(sourceHash, sourceBytes, code));
    await handle.sync();
    await handle.close();
    handle = null;
    await rename(partial, entry);
  } catch {
    await handle?.close().catch(() => {});
    await rm(partial, { force: true }).catch(() => {});
  }
}

/** writeEntry, for hooks that must answer synchronously. */
export function writeEntrySync(entry, sourceHash, sourceBytes, code) {
  const partial = partialName(entry);
  let fd = null;
  try {
    fd = openSync(partial, "wx", 0o600);
    const bytes = entryBytes(sourceHash, sourceBytes, code);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(partial, entry);
  } catch {
    try {
      if (fd !== null) closeSync(fd);
      rmSync(partial, { force: true });
    } catch {
      // the sweep removes what is left
    }
  }
}

// statfs f_type of Linux filesystems whose files are kernel interfaces, not
// storage. /dev's devtmpfs reports tmpfs's number, hence the paths as well.
const PSEUDO_FILESYSTEMS = new Map([
  [0x9fa0, "proc"], [0x62656572, "sysfs"], [0x1cd1, "devpts"], [0x27e0eb, "cgroup"],
  [0x63677270, "cgroup2"], [0x64626720, "debugfs"], [0x74726163, "tracefs"],
  [0x73636673, "securityfs"], [0xcafe4a11, "bpf"], [0x62656570, "configfs"],
  [0xde5e81e4, "efivarfs"], [0x6165676c, "pstore"], [0xf97cff8c, "selinuxfs"],
  [0x42494e4d, "binfmt_misc"], [0x19800202, "mqueue"], [0x65735543, "fusectl"],
]);
// /dev/shm is a tmpfs made for files, unlike the rest of /dev.
const KERNEL_PATHS = /^\/(proc|sys|dev(?!\/shm(\/|$)))(\/|$)/;

/** Why the existing folder `path` is no place for files, or null. */
function pseudo(path) {
  const real = realpathSync(path);
  if (process.platform !== "linux") return null;
  if (KERNEL_PATHS.test(real)) return `${real} is a kernel interface, not a folder on a real filesystem`;
  const type = PSEUDO_FILESYSTEMS.get(Number(statfsSync(real).type));
  return type === undefined ? null : `${real} is on ${type}, not a real filesystem`;
}

/** mkdir, where a sibling process may be making the same folder at the same time. */
function makeFolder(path) {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    if (error.code !== "EEXIST") throw error;
  }
}

/**
 * Makes `dir` (mode 0700) and checks that the cache may live there; returns
 * why not, or null. Node's own recursive mkdir never returns under /proc
 * (it spins on ENOENT), and a mkdir under /sys/fs/cgroup makes a cgroup: so
 * the deepest folder that exists is checked first, and the rest made one
 * level at a time.
 */
function unusable(dir, uid) {
  const missing = [];
  let existing = dir;
  for (;;) {
    try {
      statSync(existing);
      break;
    } catch (error) {
      if (error.code !== "ENOENT" || dirname(existing) === existing) return `${dir} cannot be made (${error.code})`;
      missing.unshift(existing);
      existing = dirname(existing);
    }
  }
  try {
    const why = pseudo(existing);
    if (why !== null) return why;
    for (const folder of missing) makeFolder(folder);
    // Its entries are code we run: only a real folder of this user's that no one else may write to.
    const info = lstatSync(dir);
    if (info.isSymbolicLink()) return `${dir} is a symlink`;
    if (!info.isDirectory()) return `${dir} is not a folder`;
    if (uid !== undefined && info.uid !== uid) return `${dir} belongs to uid ${info.uid}, not ${uid}`;
    if (uid !== undefined && (info.mode & 0o022) !== 0) return `others may write to ${dir}`;
  } catch (error) {
    return `${dir} cannot be used (${error.code ?? error.message})`;
  }
  try {
    accessSync(dir, constants.W_OK);
    return null;
  } catch (error) {
    return `${dir} cannot be written (${error.code})`;
  }
}

/**
 * The cache folder, or null when FORKRPC_CACHE_DIR=off or the folder cannot
 * be used; then one line on stderr says why. The default is one per user in
 * the OS temp folder. Call once per process.
 */
export function cacheFolder() {
  const setting = process.env.FORKRPC_CACHE_DIR;
  if (setting === "off") return null;
  const uid = process.getuid?.();
  const dir = resolve(setting || join(os.tmpdir(), `forkrpc-swc-cache-${uid ?? "user"}`));
  const why = unusable(dir, uid);
  if (why === null) {
    prune(dir);
    return dir;
  }
  // Straight to fd 2: from the hooks thread, stream writes may not be flushed before the process exits.
  writeSync(2, `forkrpc: TypeScript compile cache off, every .ts file is compiled: ${why} (FORKRPC_CACHE_DIR)\n`);
  return null;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNE_AFTER_DAYS = 7;

/**
 * At most once a day (a marker file's age tells), removes entries written
 * more than PRUNE_AFTER_DAYS ago, in the background: an entry still in use
 * costs one compile a week, and the folder does not grow without bound.
 */
function prune(dir) {
  const marker = join(dir, ".pruned");
  (async () => {
    const last = await stat(marker).then((info) => info.mtimeMs, () => 0);
    if (Date.now() - last < DAY_MS) return;
    for (const name of await readdir(dir)) {
      if (!name.endsWith(".js") && !name.endsWith(".tmp")) continue;
      const file = join(dir, name);
      const info = await stat(file).catch(() => null);
      if (info !== null && Date.now() - info.mtimeMs > PRUNE_AFTER_DAYS * DAY_MS) await rm(file, { force: true });
    }
    // Last: a process that ends before the sweep does leaves it to the next.
    await writeFile(marker, "");
  })().catch(() => {});
}
