// CPU time and memory of a process and all its descendants, read from /proc
// (Linux only). CPU is utime+stime in clock ticks; a window's cost is the
// difference of two samples.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/PID/stat after the command name, which may hold spaces. Null once the process is gone. */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

// Field numbers of proc(5), minus the three before the list statFields returns.
const PPID = 4 - 3;
const UTIME = 14 - 3;
const STIME = 15 - 3;

/** `root` and every live descendant of it. */
export function processTree(root) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(name);
    if (fields === null) continue;
    const ppid = Number(fields[PPID]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const tree = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    if (statFields(pid) === null) continue;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** CPU microseconds (user + system) used so far by each process of the tree: Map pid -> us. */
export function cpuSample(root) {
  const sample = new Map();
  for (const pid of processTree(root)) {
    const fields = statFields(pid);
    if (fields === null) continue;
    const ticks = Number(fields[UTIME]) + Number(fields[STIME]);
    sample.set(pid, (ticks * 1e6) / CLOCK_TICKS);
  }
  return sample;
}

/**
 * CPU microseconds the tree used between two samples (processes born in
 * between count whole; a process that died in between counts only if
 * `after` still has its last value, see measureLoad): the total, and the
 * share of the busiest process (with 2 workers, 0.5 is an even split; near
 * 1, one worker did the work).
 */
export function cpuBetween(before, after) {
  let total = 0;
  let busiest = 0;
  for (const [pid, now] of after) {
    const used = now - (before.get(pid) ?? 0);
    total += used;
    busiest = Math.max(busiest, used);
  }
  return { total, busiestShare: total > 0 ? busiest / total : 0 };
}

/** Read and write system calls made so far by each process of the tree (/proc/PID/io): Map pid -> {reads, writes}. */
export function ioSample(root) {
  const sample = new Map();
  for (const pid of processTree(root)) {
    try {
      const text = readFileSync(`/proc/${pid}/io`, "utf8");
      sample.set(pid, { reads: Number(/^syscr: (\d+)/m.exec(text)?.[1] ?? 0), writes: Number(/^syscw: (\d+)/m.exec(text)?.[1] ?? 0) });
    } catch {
      // gone, or not ours to read
    }
  }
  return sample;
}

/** System calls the tree made between two samples: {reads, writes}. */
export function ioBetween(before, after) {
  let reads = 0;
  let writes = 0;
  for (const [pid, now] of after) {
    reads += now.reads - (before.get(pid)?.reads ?? 0);
    writes += now.writes - (before.get(pid)?.writes ?? 0);
  }
  return { reads, writes };
}

/**
 * Resident memory of the tree, in bytes: the total and the largest single
 * process (VmRSS, each process counted whole), and the proportional total
 * (Pss: a page shared by n processes counts 1/n in each). Forked children
 * share their parent's pages, so only `pss` compares trees of different
 * shapes (11 forked Python processes against 3 exec'd Node ones).
 */
export function rssSample(root) {
  let total = 0;
  let largest = 0;
  let pss = 0;
  for (const pid of processTree(root)) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      const bytes = match === null ? 0 : Number(match[1]) * 1024;
      total += bytes;
      largest = Math.max(largest, bytes);
      const share = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      pss += share === null ? 0 : Number(share[1]) * 1024;
    } catch {
      // gone between the listing and the read
    }
  }
  return { total, largest, pss };
}

/**
 * The whole machine's CPU time so far from /proc/stat, in microseconds:
 * busy (everything but idle and iowait) and steal (taken by the hypervisor
 * for other guests). What the server and the load generator did not use of
 * `busy` was used by someone else: that is the noise of a shared machine.
 */
export function machineSample() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const toUs = (ticks) => (ticks * 1e6) / CLOCK_TICKS;
  return { busy: toUs(user + nice + system + irq + softirq), steal: toUs(steal ?? 0), idle: toUs(idle + iowait) };
}
