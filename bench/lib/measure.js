// One measurement: a running peer under one load for a window, with the
// server tree's CPU, I/O and RSS sampled from /proc around it. Every bench
// script measures through this, so their figures mean the same thing.
import { runLoadgen } from "./loadgen.js";
import { cpuBetween, cpuSample, ioBetween, ioSample, machineSample, rssSample } from "./proctree.js";

const MB = 1024 * 1024;
const SETTLE_STEP_MS = 200;
const SETTLE_MAX_MS = 10_000;
const SETTLED_CORES = 0.05;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

/**
 * Loads `server` (from startPeer) with `load` (runLoadgen's options minus
 * the port) for `warmup` then `duration` seconds; returns the generator's
 * report plus the server-side figures of the measured window.
 */
export async function measureLoad(binary, server, { warmup, duration, ...load }) {
  const cellLoad = { port: server.port, ...load };
  if (warmup > 0 && server.peer.warmup !== false) {
    await runLoadgen(binary, { ...cellLoad, seconds: warmup });
    await settle(server.pid);
  }
  let rss = { total: 0, largest: 0 };
  const watchRss = () => {
    const now = rssSample(server.pid);
    rss = { total: Math.max(rss.total, now.total), largest: Math.max(rss.largest, now.largest) };
  };
  const rssTimer = setInterval(watchRss, 500);
  const ioBefore = ioSample(server.pid);
  const cpuBefore = cpuSample(server.pid);
  const machineBefore = machineSample();
  const start = performance.now();
  let report;
  try {
    report = await runLoadgen(binary, { ...cellLoad, seconds: duration });
  } finally {
    clearInterval(rssTimer);
  }
  const wallUs = (performance.now() - start) * 1000;
  const serverCpu = cpuBetween(cpuBefore, cpuSample(server.pid));
  const serverUs = serverCpu.total;
  const io = ioBetween(ioBefore, ioSample(server.pid));
  const machineAfter = machineSample();
  const busyUs = machineAfter.busy - machineBefore.busy;
  watchRss();
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
    steal_cores: (machineAfter.steal - machineBefore.steal) / wallUs,
    rss_total_mb: rss.total / MB,
    rss_largest_mb: rss.largest / MB,
  };
}
