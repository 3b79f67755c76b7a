// Offloaded handlers (docs/threads.md), measured in one run, A B A B:
//
//   mixed     pings on 32 connections (loadgen.c, no pipelining) while 4
//             connections call a 50 ms CPU-bound method back to back, on the
//             worker's thread (heavy) against offloaded (heavy.offloaded):
//             ping p99 and rps, heavy calls per second. One worker, one
//             handler thread (bench/fixtures/threads/rpc.config.ts).
//   overhead  ping offloaded (bench/fixtures/threads/offloaded-ping.config.ts)
//             against plain ping (bench/fixtures/middleware-0/), 1x1 and
//             32x1: rps, p50, p99, server CPU per request.
//
//   npm run bench:threads [-- --rounds 2 --duration 4 --warmup 1 --results bench/RESULTS-threads.md]
//
// --results - writes nothing. About 1.5 minutes with the defaults; each
// load runs --duration seconds (<= 10).
import { writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { hostFacts, hostLines, invocation } from "./lib/host.js";
import { buildLoadgen, runLoadgen } from "./lib/loadgen.js";
import { measureLoad } from "./lib/measure.js";
import { benchArgs } from "./lib/options.js";
import { mean, table } from "./lib/report.js";
import { freePort, startPeer, stopPeer } from "./lib/server.js";
import { npmStartCommand } from "./peers/index.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const HEAVY_CONNECTIONS = 4;
const PING_CONNECTIONS = 32;

const { values, int } = benchArgs({
  duration: { type: "string", default: "4" },
  warmup: { type: "string", default: "1" },
  results: { type: "string", default: "bench/RESULTS-threads.md" },
});
const rounds = int("rounds");
const duration = Math.min(int("duration"), 10);
const warmup = int("warmup");

function peer(name, config) {
  return {
    name,
    command: ({ port, workers }) => ({
      file: process.execPath,
      args: [...npmStartCommand(), "--config", config, "--port", String(port), "--workers", String(workers)],
      cwd: ROOT,
    }),
    ready: /forkrpc ready:/,
  };
}

/** Calls `method` back to back on `connections` connections until stop(); counts answers inside the loadgen's window. */
function heavyLoad(port, method, connections) {
  const frame = (() => {
    const body = Buffer.from(JSON.stringify({ in: method, params: 50 }));
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(body.length);
    return Buffer.concat([prefix, body]);
  })();
  const state = { counting: false, done: 0, errors: 0, stopped: false };
  const sockets = [];
  for (let i = 0; i < connections; i++) {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    let buf = Buffer.alloc(0);
    socket.on("connect", () => socket.write(frame));
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        const n = buf.readUInt32LE(0);
        const answer = JSON.parse(buf.subarray(4, 4 + n).toString());
        buf = buf.subarray(4 + n);
        if (answer.out === "error") state.errors++;
        else if (state.counting) state.done++;
        if (!state.stopped) socket.write(frame);
      }
    });
    socket.on("error", () => state.errors++);
    sockets.push(socket);
  }
  return {
    state,
    stop() {
      state.stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

async function mixedRun(binary, server, method) {
  const heavy = heavyLoad(server.port, method, HEAVY_CONNECTIONS);
  let started = 0;
  let seconds = 0;
  try {
    const report = await runLoadgen(binary, {
      port: server.port,
      connections: PING_CONNECTIONS,
      pipeline: 1,
      seconds: duration,
      payload: 16,
      onPhase: (phase) => {
        if (phase === "start") {
          heavy.state.counting = true;
          started = performance.now();
        } else {
          heavy.state.counting = false;
          seconds = (performance.now() - started) / 1000;
        }
      },
    });
    return { method, rps: report.rps, p50_us: report.p50_us, p99_us: report.p99_us, heavy_per_s: heavy.state.done / seconds, heavy_errors: heavy.state.errors };
  } finally {
    heavy.stop();
  }
}

async function main() {
  const binary = buildLoadgen();
  const lines = [];
  const facts = hostFacts();
  const loadBefore = os.loadavg()[0];
  const mixedPeer = peer("mixed", "bench/fixtures/threads/rpc.config.ts");
  const server = await startPeer(mixedPeer, { port: await freePort(), workers: 1 });
  const mixed = [];
  try {
    // Warm-up: both methods once, untimed.
    for (const method of ["heavy", "heavy.offloaded"]) await runWarm(binary, server, method);
    for (let round = 1; round <= rounds; round++) {
      for (const method of ["heavy", "heavy.offloaded"]) {
        const run = { round, ...(await mixedRun(binary, server, method)) };
        mixed.push(run);
        console.log(JSON.stringify(run));
      }
    }
  } finally {
    await stopPeer(server);
  }

  const plain = peer("plain ping", "bench/fixtures/middleware-0/rpc.config.ts");
  const offloaded = peer("offloaded ping", "bench/fixtures/threads/offloaded-ping.config.ts");
  const overhead = [];
  for (let round = 1; round <= rounds; round++) {
    for (const p of [plain, offloaded]) {
      const s = await startPeer(p, { port: await freePort(), workers: 1 });
      try {
        for (const connections of [1, 32]) {
          const r = await measureLoad(binary, s, { warmup, duration, connections, pipeline: 1, payload: 16 });
          const run = { round, peer: p.name, connections, rps: r.rps, p50_us: r.p50_us, p99_us: r.p99_us, cpu_us: r.server_cpu_us_per_req, other_cores: r.other_cores };
          overhead.push(run);
          console.log(JSON.stringify(run));
        }
      } finally {
        await stopPeer(s);
      }
    }
  }

  lines.push("# Offloaded handlers: bench/threads.js", "", hostLines({ date: new Date().toISOString(), host: facts, loadBefore, loadAfter: os.loadavg()[0] }), "");
  lines.push(`Run as ${invocation("bench/threads.js")}; ${rounds} rounds, ${duration} s per load, one worker, one handler thread.`, "");
  lines.push("## Mixed load", "", `Pings on ${PING_CONNECTIONS} connections (no pipelining) while ${HEAVY_CONNECTIONS} connections call a 50 ms CPU-bound method back to back.`, "");
  const avg = (runs, key) => mean(runs.map((r) => r[key]));
  const rows = [];
  for (const method of ["heavy", "heavy.offloaded"]) {
    const runs = mixed.filter((r) => r.method === method);
    rows.push([method, avg(runs, "rps").toFixed(0), (avg(runs, "p50_us") / 1000).toFixed(2), (avg(runs, "p99_us") / 1000).toFixed(1), avg(runs, "heavy_per_s").toFixed(1), String(runs.reduce((a, r) => a + r.heavy_errors, 0))]);
  }
  lines.push(table(["heavy method", "ping rps", "ping p50 ms", "ping p99 ms", "heavy calls/s", "heavy errors"], rows), "");
  const [on, off] = ["heavy", "heavy.offloaded"].map((m) => mixed.filter((r) => r.method === m));
  lines.push(`Offloaded / on the worker's thread: ping p99 ${(avg(off, "p99_us") / avg(on, "p99_us")).toFixed(3)}x, ping rps ${(avg(off, "rps") / avg(on, "rps")).toFixed(2)}x, heavy calls/s ${(avg(off, "heavy_per_s") / avg(on, "heavy_per_s")).toFixed(2)}x.`, "");
  lines.push("## Overhead of offloading a trivial handler", "");
  const orows = [];
  for (const connections of [1, 32]) {
    for (const name of [plain.name, offloaded.name]) {
      const runs = overhead.filter((r) => r.peer === name && r.connections === connections);
      orows.push([`${connections}x1`, name, avg(runs, "rps").toFixed(0), avg(runs, "p50_us").toFixed(0), avg(runs, "p99_us").toFixed(0), avg(runs, "cpu_us").toFixed(1), avg(runs, "other_cores").toFixed(2)]);
    }
  }
  lines.push(table(["cell", "server", "rps", "p50 us", "p99 us", "server CPU us/req", "other load cores"], orows), "");
  for (const connections of [1, 32]) {
    const a = overhead.filter((r) => r.peer === plain.name && r.connections === connections);
    const b = overhead.filter((r) => r.peer === offloaded.name && r.connections === connections);
    lines.push(`- ${connections}x1: offloaded ping p50 +${(avg(b, "p50_us") - avg(a, "p50_us")).toFixed(0)} us, rps ${(avg(b, "rps") / avg(a, "rps")).toFixed(2)}x, CPU per request ${(avg(b, "cpu_us") / avg(a, "cpu_us")).toFixed(2)}x (+${(avg(b, "cpu_us") - avg(a, "cpu_us")).toFixed(1)} us).`);
  }
  lines.push("", "## Every run", "", "```", ...mixed.map((r) => JSON.stringify(r)), ...overhead.map((r) => JSON.stringify(r)), "```", "");
  const text = lines.join("\n");
  if (values.results === "-") console.log(text);
  else writeFileSync(values.results, text);
}

/** A short untimed load, so the first measured run does not pay for JIT warm-up. */
async function runWarm(binary, server, method) {
  if (warmup === 0) return;
  const heavy = heavyLoad(server.port, method, HEAVY_CONNECTIONS);
  try {
    await runLoadgen(binary, { port: server.port, connections: PING_CONNECTIONS, pipeline: 1, seconds: warmup, payload: 16 });
  } finally {
    heavy.stop();
  }
}

await main();
