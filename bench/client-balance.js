// The client's cost of balancing: one forkrpc server called by a direct
// client ({ port }) and by a balancing one ({ endpoints: [that server] },
// health probe on), taking turns (A B B A ...) in one run of one Node, the
// same bounded load each turn: CONCURRENCY calls of `ping` kept in flight
// for --seconds. Two figures per turn: calls/s, and the client process's
// CPU time per call (what balancing costs the caller, and much less
// sensitive than calls/s to a shared machine's other loads). Only medians
// and their ratios travel.
//
//   node --import ./loader/register.js --conditions=forkrpc-source bench/client-balance.js [--rounds 4] [--seconds 1] [--concurrency 64] [--workers 1]
//
// Loopback only; the server is stopped by its pid.
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { RpcClient } from "forkrpc/client";
import { npmStartCommand } from "./peers/index.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "4" },
    seconds: { type: "string", default: "1" },
    concurrency: { type: "string", default: "64" },
    workers: { type: "string", default: "1" },
  },
});
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const ROUNDS = Number(values.rounds);
const MS = Number(values.seconds) * 1000;
const CONCURRENCY = Number(values.concurrency);

async function startServer() {
  const proc = spawn(process.execPath, [...npmStartCommand(), "--port", "0", "--workers", values.workers], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  const deadline = Date.now() + 60_000;
  let m;
  while (!(m = / on [\d.]+:(\d+) /.exec(out))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, port: Number(m[1]) };
}

/** Calls per second through `client` for MS ms, CONCURRENCY calls in flight, and the client's CPU µs per call. */
async function load(client) {
  for (let i = 0; i < 200; i++) await client.call("ping", "warm");
  let calls = 0;
  const end = performance.now() + MS;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await client.call("ping", "hello");
        calls++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { rate: calls / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / calls };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await startServer();
try {
  const kinds = {
    direct: () => new RpcClient({ port: server.port }),
    balanced: () => new RpcClient({ endpoints: [`127.0.0.1:${server.port}`] }),
  };
  const rates = { direct: [], balanced: [] };
  const cpus = { direct: [], balanced: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ["direct", "balanced"] : ["balanced", "direct"];
    for (const kind of order) {
      const client = kinds[kind]();
      const { rate, cpuUs } = await load(client);
      rates[kind].push(rate);
      cpus[kind].push(cpuUs);
      await client.close();
    }
  }
  const d = median(rates.direct);
  const b = median(rates.balanced);
  console.log(`direct   { port }:        median ${Math.round(d)} calls/s (${rates.direct.map(Math.round).join(", ")})`);
  console.log(`balanced { endpoints }:   median ${Math.round(b)} calls/s (${rates.balanced.map(Math.round).join(", ")})`);
  const cd = median(cpus.direct);
  const cb = median(cpus.balanced);
  const us = (xs) => xs.map((x) => x.toFixed(2)).join(", ");
  console.log(`client CPU per call: direct ${cd.toFixed(2)} µs (${us(cpus.direct)}), balanced ${cb.toFixed(2)} µs (${us(cpus.balanced)})`);
  console.log(`balanced / direct: calls/s ${(b / d).toFixed(3)}, client CPU per call ${(cb / cd).toFixed(3)} (${ROUNDS} rounds of ${MS} ms each, ${CONCURRENCY} calls in flight)`);
} finally {
  server.proc.kill("SIGKILL");
}
