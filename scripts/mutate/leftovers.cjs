// Processes a mutation run left behind. When Stryker ends a test file early
// (forceBail: SIGTERM, which its hook turns into process.exit; a timeout:
// SIGKILL of its worker's tree), the servers that file spawned lose their
// parent and keep running, since the file's after() hooks never ran. Every
// process started under a run inherits its environment, so a marker
// variable finds them all in /proc, orphans included, whatever their
// process group; nothing outside the run carries the marker's value.
/* eslint-disable @typescript-eslint/no-require-imports -- loaded by a -r preload, which is CommonJS */
"use strict";
const fs = require("node:fs");

/** Pids of the live processes whose initial environment holds name=value (this one left out; none where there is no /proc). */
function processesWith(name, value) {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  let entries;
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  const pids = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let environ;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    if (Buffer.concat([Buffer.from([0]), environ]).includes(needle)) pids.push(pid);
  }
  return pids;
}

/**
 * SIGKILLs every process marked name=value, in rounds until none is found
 * (a master may fork a worker between the scan and its own kill); returns
 * how many. Synchronous: it also runs in an exit listener.
 */
function killMarked(name, value, rounds = 5) {
  const killed = new Set();
  for (let round = 0; round < rounds; round++) {
    const pids = processesWith(name, value);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        // gone already
      }
    }
  }
  return killed.size;
}

module.exports = { processesWith, killMarked };
