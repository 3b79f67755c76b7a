// Accept balance: how evenly do workers share fresh connections?
// Starts forkrpc with N workers in each accept mode, opens C fresh
// connections (a few at a time), asks each which pid answered, and reports
// the share of the busiest worker. Loopback only; bounded in count and time.
//
//   node bench/accept-balance.js [--workers 4] [--connections 1000] [--concurrency 8]
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { npmStartCommand } from "./peers/index.js";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "4" },
    connections: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "8" },
    modes: { type: "string", default: "shared-multi-accept,shared,round-robin" },
    hold: { type: "boolean", default: false },
  },
});
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const WORKERS = Number(values.workers);
const CONNECTIONS = Number(values.connections);
const CONCURRENCY = Number(values.concurrency);
const DEADLINE_MS = 60_000;

// "shared" is forkrpc's default (competitive accept in libuv's single-accept
// mode); "shared-multi-accept" is plain competitive accept, for comparison.
const MODES = {
  "shared-multi-accept": { accept: "shared", env: { UV_TCP_SINGLE_ACCEPT: "0" } },
  shared: { accept: "shared", env: {} },
  "round-robin": { accept: "round-robin", env: {} },
};

async function startServer(mode) {
  const { accept, env } = MODES[mode];
  const proc = spawn(
    process.execPath,
    [...npmStartCommand(), "--port", "0", "--workers", String(WORKERS), "--accept", accept],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!/ on [\d.]+:(\d+) /.test(out)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, port: Number(out.match(/ on [\d.]+:(\d+) /)[1]) };
}

function frame(obj) {
  const body = Buffer.from(JSON.stringify(obj));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(body.length);
  return Buffer.concat([prefix, body]);
}

/** One fresh connection: ask `stats` which pid serves it. */
async function whoAnswers(port) {
  const socket = connect({ port, host: "127.0.0.1" });
  await once(socket, "connect");
  socket.write(frame({ in: "stats", params: null }));
  let buf = Buffer.alloc(0);
  for await (const chunk of socket) {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) break;
  }
  socket.destroy();
  return JSON.parse(buf.subarray(4, 4 + buf.readUInt32LE(0))).result.pid;
}

/** All connections opened at once and held, as a pipelined load does; then each asks. */
async function heldConnections(port, counts) {
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const s = connect({ port, host: "127.0.0.1" });
      await once(s, "connect");
      return s;
    }),
  );
  await Promise.all(
    sockets.map(async (socket) => {
      socket.write(frame({ in: "stats", params: null }));
      let buf = Buffer.alloc(0);
      for await (const chunk of socket) {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) break;
      }
      const pid = JSON.parse(buf.subarray(4, 4 + buf.readUInt32LE(0))).result.pid;
      counts.set(pid, (counts.get(pid) ?? 0) + 1);
    }),
  );
  for (const s of sockets) s.destroy();
}

async function measure(mode) {
  const { proc, port } = await startServer(mode);
  const counts = new Map();
  const start = Date.now();
  let next = 0;
  try {
    if (values.hold) await heldConnections(port, counts);
    else await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CONNECTIONS && Date.now() - start < DEADLINE_MS) {
          next++;
          const pid = await whoAnswers(port);
          counts.set(pid, (counts.get(pid) ?? 0) + 1);
        }
      }),
    );
  } finally {
    proc.kill("SIGTERM");
    await once(proc, "exit");
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const shares = [...counts.values()].sort((a, b) => b - a);
  return { mode, total, workersSeen: counts.size, busiestShare: shares[0] / total, spread: shares };
}

console.log(
  values.hold
    ? `accept balance: ${WORKERS} workers, ${CONNECTIONS} connections opened at once and held`
    : `accept balance: ${WORKERS} workers, ${CONNECTIONS} fresh connections, ${CONCURRENCY} at a time`,
);
for (const mode of values.modes.split(",")) {
  const r = await measure(mode);
  const fair = 1 / WORKERS;
  console.log(
    `${mode.padEnd(22)} busiest worker ${(r.busiestShare * 100).toFixed(1)}% (fair ${(fair * 100).toFixed(1)}%), per worker: ${r.spread.join(" ")}`,
  );
}
