// One measurement: a running peer under one load for a window, with the
// server tree's CPU, I/O and memory sampled from /proc over it. Every bench
// script measures through this, so their figures mean the same thing.
import { setTimeout as sleep } from "node:timers/promises";
import { runLoadgen } from "./loadgen.js";
import { cpuBetween, cpuSample, ioBetween, ioSample, machineSample, rssSample } from "./proctree.js";

const MB = 1024 * 1024;
const SETTLE_STEP_MS = 200;
const SETTLE_MAX_MS = 10_000;
const SETTLED_CORES = 0.05;


/**
 * Waits (at most SETTLE_MAX_MS) until the server tree is idle: the warm-up
 * ends with requests still in flight, and a server that keeps working
 * through them (answering connections already closed) would start the
 * measured window with a backlog that is not part of the load.
 */
async function settle(root) {
  for (let waited = 0; waited < SETTLE_MAX_MS; waited += SETTLE_STEP_MS) {
    const before = cpuSample(root);
    await sleep(SETTLE_STEP_MS);
    if (cpuBetween(before, cpuSample(root)).total / (SETTLE_STEP_MS * 1000) < SETTLED_CORES) return;
  }
}

/** The window's samples of the server tree and the machine, taken at one instant. */
function snapshot(root) {
  return { at: performance.now(), cpu: cpuSample(root), io: ioSample(root), machine: machineSample() };
}

/**
 * Loads `server` (from startPeer) with `load` (runLoadgen's options minus
 * the port) for `warmup` then `duration` seconds; returns the generator's
 * report plus the server-side figures of the measured window. The server is
 * sampled when the generator announces the window's start and end, so the
 * connect phase and the teardown are outside it; a process that dies during
 * the window still counts with the last CPU time seen of it (sampled every
 * 0.5 s with the memory).
 */
export async function measureLoad(binary, server, { warmup, duration, ...load }) {
  // A peer reached at more than its port (moleculer: its nodes) says so with target().
  const cellLoad = { port: server.port, ...server.peer.target?.(server), ...load };
  if (warmup > 0 && server.peer.warmup !== false) {
    await runLoadgen(binary, { ...cellLoad, seconds: warmup, warmingUp: true });
    await settle(server.pid);
  }
  let memory = { total: 0, largest: 0, pss: 0 };
  const lastCpu = new Map();
  const watch = () => {
    const now = rssSample(server.pid);
    memory = { total: Math.max(memory.total, now.total), largest: Math.max(memory.largest, now.largest), pss: Math.max(memory.pss, now.pss) };
    for (const [pid, us] of cpuSample(server.pid)) lastCpu.set(pid, us);
  };
  let before = null;
  let after = null;
  const onPhase = (phase) => {
    if (phase === "start") {
      before = snapshot(server.pid);
      for (const [pid, us] of before.cpu) lastCpu.set(pid, us);
    } else if (phase === "end" && before !== null) {
      after = snapshot(server.pid);
    }
  };
  const timer = setInterval(watch, 500);
  let report;
  try {
    report = await runLoadgen(binary, { ...cellLoad, seconds: duration, onPhase });
  } finally {
    clearInterval(timer);
  }
  watch();
  if (before === null || after === null) throw new Error("the load generator did not announce its measured window");
  const wallUs = (after.at - before.at) * 1000;
  const serverCpu = cpuBetween(before.cpu, new Map([...lastCpu, ...after.cpu]));
  const serverUs = serverCpu.total;
  const io = ioBetween(before.io, after.io);
  const busyUs = after.machine.busy - before.machine.busy;
  const requests = Math.max(report.requests, 1);
  return {
    ...report,
    server_cpu_us_per_req: serverUs / requests,
    server_cores: serverUs / wallUs,
    busiest_process_share: serverCpu.busiestShare,
    requests_per_read: report.requests / Math.max(io.reads, 1),
    requests_per_write: report.requests / Math.max(io.writes, 1),
    loadgen_cpu_us_per_req: report.cpu_us / requests,
    loadgen_cores: report.cpu_us / wallUs,
    other_cores: Math.max(0, busyUs - serverUs - report.cpu_us) / wallUs,
    steal_cores: (after.machine.steal - before.machine.steal) / wallUs,
    rss_total_mb: memory.total / MB,
    rss_largest_mb: memory.largest / MB,
    pss_total_mb: memory.pss / MB,
    in_flight_share: (report.connections_served * report.pipeline) / requests,
  };
}
