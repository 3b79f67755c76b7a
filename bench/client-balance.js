// The client's cost of balancing: one forkrpc server called by a direct
// client ({ port }) and by a balancing one ({ endpoints: [that server] },
// health probe on), taking turns (A B B A ...) in one run of one Node, the
// same bounded load each turn: CONCURRENCY calls of `ping` kept in flight
// for --seconds. Two figures per turn: calls/s, and the client process's
// CPU time per call (what balancing costs the caller, and much less
// sensitive than calls/s to a shared machine's other loads). Only medians
// and their ratios travel.
//
//   node --import ./loader/register.js --conditions=forkrpc-source bench/client-balance.js [--rounds 4] [--seconds 1] [--concurrency 64] [--workers 1] [--netns]
//
// Loopback only; the server is stopped by its pid. --netns (root, iproute2):
// three servers, each in a network namespace of its own, and the client in a
// fourth (test/helpers/netns.ts); the turns are then direct to one, endpoints
// [that one], and endpoints [all three]. Everything is torn down at the end.
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
    netns: { type: "boolean", default: false },
    inside: { type: "string" },
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

/** Runs the turns against `servers` ("host:port"): direct to the first, endpoints [first], endpoints [all] when several. */
async function turns(servers) {
  const [host, port] = servers[0].split(":");
  const kinds = {
    direct: () => new RpcClient({ host, port: Number(port) }),
    balanced: () => new RpcClient({ endpoints: [servers[0]] }),
  };
  if (servers.length > 1) kinds[`balanced x${servers.length}`] = () => new RpcClient({ endpoints: servers });
  const names = Object.keys(kinds);
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  const cpus = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const kind of order) {
      const client = kinds[kind]();
      const { rate, cpuUs } = await load(client);
      rates[kind].push(rate);
      cpus[kind].push(cpuUs);
      await client.close();
    }
  }
  const d = median(rates.direct);
  const cd = median(cpus.direct);
  for (const kind of names) {
    const r = median(rates[kind]);
    const c = median(cpus[kind]);
    console.log(
      `${kind.padEnd(12)} median ${Math.round(r)} calls/s (${rates[kind].map(Math.round).join(", ")}), client CPU ${c.toFixed(2)} µs/call; ` +
        `vs direct: calls/s ${(r / d).toFixed(3)}, CPU/call ${(c / cd).toFixed(3)}`,
    );
  }
  console.log(`(${ROUNDS} rounds of ${MS} ms each, ${CONCURRENCY} calls in flight)`);
}

if (values.inside !== undefined) {
  await turns(JSON.parse(values.inside));
} else if (values.netns) {
  await inNamespaces();
} else {
  const server = await startServer();
  try {
    await turns([`127.0.0.1:${server.port}`]);
  } finally {
    server.proc.kill("SIGKILL");
  }
}

/** Three servers in namespaces h1..h3, this script again in namespace cl with --inside. */
async function inNamespaces() {
  const { createLab } = await import("../test/helpers/netns.ts");
  const lab = createLab();
  try {
    const hosts = ["h1", "h2", "h3"];
    for (const [i, h] of hosts.entries()) await lab.addHost(h, `10.89.0.${11 + i}`);
    await lab.addHost("cl", "10.89.0.2");
    const addresses = await Promise.all(
      hosts.map(async (h, i) => {
        const ip = `10.89.0.${11 + i}`;
        const proc = lab.spawn(h, process.execPath, [...npmStartCommand(), "--host", ip, "--port", "8080", "--workers", values.workers], { cwd: ROOT });
        let out = "";
        proc.stdout.on("data", (d) => (out += d));
        const deadline = Date.now() + 60_000;
        while (!/forkrpc ready:/.test(out)) {
          if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`${h} did not start: ${out}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        return `${ip}:8080`;
      }),
    );
    const args = [...process.execArgv, fileURLToPath(import.meta.url), "--rounds", values.rounds, "--seconds", values.seconds, "--concurrency", values.concurrency];
    const inner = lab.spawn("cl", process.execPath, [...args, "--inside", JSON.stringify(addresses)], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    await new Promise((resolve) => inner.once("exit", resolve));
  } finally {
    await lab.close();
  }
}
