/**
 * Watching config.tls's files: a certificate renewed on disk (certbot,
 * cert-manager, a copy) is taken by new handshakes without a restart.
 * Polled (fs.watchFile), not fs.watch: renewals usually replace the file
 * by a rename or a symlink swap, which an inode watch loses after the first
 * time. Changes less than a poll apart (plus SETTLE_MS) are one change: a
 * certificate and its key are written one after the other, and each file
 * is polled on its own timer, so the second may be seen up to a poll later;
 * checking the pair in between would refuse a renewal half seen.
 */
import { unwatchFile, watchFile, type Stats } from "node:fs";
import type { TlsConfig } from "./tls.ts";

/** How often each file is looked at. */
export const POLL_MS = 1_000;
const SETTLE_MS = 300;

/** Calls onChange(file) after any of the files changes; returns the stop. */
export function watchTlsFiles(config: TlsConfig, onChange: (file: string) => void, pollMs = POLL_MS): () => void {
  const files = [config.cert, config.key, config.ca].filter((f): f is string => f !== undefined);
  let timer: NodeJS.Timeout | null = null;
  const listeners = files.map((file) => {
    const listener = (now: Stats, before: Stats) => {
      if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        onChange(file);
      }, pollMs + SETTLE_MS);
      timer.unref();
    };
    watchFile(file, { interval: pollMs, persistent: false }, listener);
    return [file, listener] as const;
  });
  return () => {
    if (timer !== null) clearTimeout(timer);
    for (const [file, listener] of listeners) unwatchFile(file, listener);
  };
}
