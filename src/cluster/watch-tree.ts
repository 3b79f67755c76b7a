/**
 * Watches a folder and every folder below it, with one non-recursive
 * fs.watch per folder.
 *
 * Not `fs.watch(folder, { recursive: true })`: on Linux, Node 20 and 22
 * implement it in JavaScript with one inotify watch per *file*, and a file
 * saved by rename (sed -i, `mv tmp file`, editors that save atomically) gets
 * a new inode while the watch stays on the old, unlinked one; the folder's
 * own event finds the path already known and adds nothing, so no later
 * change to that file is ever reported (Node 24 watches natively and does
 * not lose it). A watch on a folder reports its entries by name, whatever
 * inode they have, so a rename-save is one more event and the next write is
 * seen too; it also costs one inotify watch per folder, not per file.
 */
import { readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";

/** Folders never worth watching: dependencies and hidden ones (.git, editors' temp folders). */
const SKIPPED = (name: string) => name === "node_modules" || name.startsWith(".");
/** A bound on watchers (each is an inotify watch, 8192 per user by default on older kernels). */
export const MAX_FOLDERS = 1_000;

export interface TreeWatcher {
  /** The folders being watched now. */
  folders(): string[];
  close(): void;
}

/**
 * Calls `onEntry(path, isFolder)` for every event on an entry of `root` or
 * of a folder below it (`isFolder`: the entry is, or was, a watched folder); a folder created or moved in is watched from then on,
 * and one removed stops being watched. `warn` hears what could not be watched.
 */
export function watchTree(root: string, onEntry: (path: string, isFolder: boolean) => void, warn: (message: string) => void): TreeWatcher {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;
  let warnedFull = false;

  const forget = (folder: string) => {
    for (const [path, w] of watchers) {
      if (path === folder || path.startsWith(folder + "/")) {
        w.close();
        watchers.delete(path);
      }
    }
  };

  const add = (folder: string): void => {
    if (closed || watchers.has(folder)) return;
    if (watchers.size >= MAX_FOLDERS) {
      if (!warnedFull) warn(`not watching ${folder} and beyond: already watching ${MAX_FOLDERS} folders`);
      warnedFull = true;
      return;
    }
    let w: FSWatcher;
    try {
      w = watch(folder, (_event, name) => {
        if (name === null) return;
        const path = join(folder, String(name));
        const stat = statSync(path, { throwIfNoEntry: false });
        const wasFolder = watchers.has(path);
        if (stat?.isDirectory() === true) {
          if (SKIPPED(String(name))) return;
          add(path);
        } else if (stat === undefined && wasFolder) {
          forget(path);
        }
        onEntry(path, stat?.isDirectory() === true || wasFolder);
      });
    } catch (error) {
      warn(`cannot watch ${folder}: ${(error as Error).message}`);
      return;
    }
    // The folder itself went away (its watcher reports EPERM or ENOENT on some systems).
    w.on("error", () => forget(folder));
    watchers.set(folder, w);
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return; // removed between the watch and the read: its parent reports it
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !SKIPPED(entry.name)) add(join(folder, entry.name));
    }
  };

  add(root);
  return {
    folders: () => [...watchers.keys()].sort(),
    close() {
      closed = true;
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
