/**
 * A server's process tree, read from /proc: which workers a master has, how
 * much memory they hold, whether they live.
 */
import { readdirSync, readFileSync } from "node:fs";

/** The children of `pid`, sorted. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text !== "") out.push(...text.split(/\s+/).map(Number));
    } catch {
      // the thread ended meanwhile
    }
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** `pid` and every process below it. */
export function treePids(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length && i < 64; i++) all.push(...childrenOf(all[i] as number));
  return all;
}

/** Resident memory of `pid` in bytes (0 once it is gone). */
export function rssOf(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
