// Small file facts the bench scripts share.
import { statSync } from "node:fs";

/** A file's modification time in ms, or -1 when it does not exist. */
export function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}
