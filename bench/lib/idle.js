// The idle-connections figure: what N open, idle connections cost a running
// peer in resident memory, and whether every one of them is still served.
// The connections come from bench/lib/idle-client.js, a process of its own.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { processTree, rssSample } from "./proctree.js";
import { freePort, startPeer, stopPeer } from "./server.js";

const CLIENT = fileURLToPath(new URL("./idle-client.js", import.meta.url));
// Lets the server's first allocations after its ready line settle before the baseline sample.
const SETTLE_MS = 2000;
const OPEN_TIMEOUT_S = 60;
const ANSWER_TIMEOUT_S = 40;
const CLOSE_TIMEOUT_MS = 10_000;

/** Open file descriptors of each process of the tree: Map pid -> count. */
function fdCounts(pids) {
  const counts = new Map();
  for (const pid of pids) {
    try {
      counts.set(pid, readdirSync(`/proc/${pid}/fd`).length);
    } catch {
      // gone
    }
  }
  return counts;
}

const sum = (map) => [...map.values()].reduce((a, b) => a + b, 0);

/** Polls until the server tree holds `target` descriptors or more (or less, with `below`); the ms it took, or null on timeout. */
async function waitForFds(pids, target, timeoutMs, below = false) {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    const total = sum(fdCounts(pids));
    if (below ? total <= target : total >= target) return performance.now() - start;
    await sleep(100);
  }
  return null;
}

/** The client process, driven one command at a time; every wait is bounded. */
function startClient({ port, connections, batch, hold }) {
  const maxSeconds = OPEN_TIMEOUT_S + hold + ANSWER_TIMEOUT_S + 20;
  const child = spawn(process.execPath, [CLIENT, port, connections, batch, maxSeconds].map(String), {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const events = [];
  let waiting = null;
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  let exit;
  const exited = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      exit = signal ?? code;
      resolve(exit);
      waiting?.();
    }),
  );
  createInterface({ input: child.stdout }).on("line", (line) => {
    events.push(JSON.parse(line));
    waiting?.();
  });
  /** The client's report `event`; rejects on its timeout report, its exit, or after timeoutMs. */
  const next = (event, timeoutMs) =>
    new Promise((resolve, reject) => {
      const fail = (why) => {
        clearTimeout(timer);
        waiting = null;
        reject(new Error(`idle-client: ${why}${stderr ? `\n${stderr}` : ""}`));
      };
      const timer = setTimeout(() => fail(`no "${event}" report after ${timeoutMs} ms`), timeoutMs);
      waiting = () => {
        const found = events.find((e) => e.event === event || e.event === "timeout");
        if (found?.event === "timeout") fail(found.error);
        else if (found !== undefined) {
          clearTimeout(timer);
          waiting = null;
          resolve(found);
        } else if (exit !== undefined) fail(`exited (${exit}) before its "${event}" report`);
      };
      waiting();
    });
  child.stdin.on("error", () => {}); // a client that already left: its exit says so
  const send = (command) => child.stdin.write(`${command}\n`);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      send("close");
      const done = await Promise.race([exited, sleep(CLOSE_TIMEOUT_MS, null, { ref: false })]);
      if (done === null) {
        process.kill(child.pid, "SIGKILL");
        await exited;
      }
    }
  };
  return { next, send, stop };
}

/**
 * Starts `peer`, opens `connections` idle connections to it (`batch` at a
 * time), holds them `hold` seconds, pings each once, closes them, stops the
 * peer. Resident memory of the server tree before, after the hold and after
 * the pings; open descriptors per server process; whether any worker died.
 */
export async function measureIdle(peer, { workers, connections, batch, hold }) {
  const port = await freePort();
  const server = await startPeer(peer, { port, workers });
  let client = null;
  try {
    await sleep(SETTLE_MS);
    const pids = processTree(server.pid);
    const fdsBefore = fdCounts(pids);
    const rssBefore = rssSample(server.pid).total;
    client = startClient({ port, connections, batch, hold });
    const opened = await client.next("opened", OPEN_TIMEOUT_S * 1000);
    const acceptLagMs = await waitForFds(pids, sum(fdsBefore) + opened.opened, 30_000);
    await sleep(hold * 1000);
    const rssIdle = rssSample(server.pid).total;
    const fdsIdle = fdCounts(pids);
    client.send("ping");
    const answered = await client.next("answered", (ANSWER_TIMEOUT_S + 10) * 1000);
    const rssPinged = rssSample(server.pid).total;
    await client.stop();
    client = null;
    const releaseMs = await waitForFds(pids, sum(fdsBefore), 10_000, true);
    const after = processTree(server.pid);
    return {
      peer: peer.name,
      connections,
      opened: opened.opened,
      open_failed: opened.failed,
      open_errors: opened.errors,
      open_ms: opened.ms,
      accept_lag_ms: acceptLagMs,
      held_per_process: pids.map((pid) => (fdsIdle.get(pid) ?? 0) - (fdsBefore.get(pid) ?? 0)),
      answered: answered.answered,
      wrong: answered.wrong,
      unanswered: answered.unanswered,
      lost_before_ping: answered.lostBeforePing,
      closed_by_server: answered.closedByPeer,
      answer_errors: answered.errors,
      answer_ms: answered.ms,
      rss_before_mb: rssBefore / 2 ** 20,
      rss_idle_mb: rssIdle / 2 ** 20,
      rss_pinged_mb: rssPinged / 2 ** 20,
      idle_kb_per_connection: (rssIdle - rssBefore) / 1024 / Math.max(opened.opened, 1),
      pinged_kb_per_connection: (rssPinged - rssBefore) / 1024 / Math.max(opened.opened, 1),
      release_ms: releaseMs,
      processes_lost: pids.filter((pid) => !after.includes(pid)).length,
      processes_new: after.filter((pid) => !pids.includes(pid)).length,
    };
  } finally {
    await client?.stop();
    await stopPeer(server);
  }
}
