// TLS against plaintext, in one run: the same forkrpc (1 worker each, from
// source) started twice, once with --tls-cert/--tls-key, loaded in turns
// (plain, tls, plain, tls) by `forkrpc bench` (the same Node load generator
// for both: loadgen.c speaks no TLS), at 32x32 and 32x1 with 16-character
// params; then handshakes per second against the TLS server, full and
// resumed, with plain TCP connects as their baseline. Server CPU is read
// from /proc for the server's process tree. Certificates (EC P-256) are made
// by openssl in a temp folder, removed at the end.
//
//   node bench/tls.js [--duration S] [--rounds N]      (defaults 3 s, 2 rounds; prints Markdown)
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { npmStartCommand } from "./peers/index.js";
import { cpuBetween, cpuSample } from "./lib/proctree.js";
import { freePort, startPeer, stopPeer } from "./lib/server.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const { values } = parseArgs({ options: { duration: { type: "string", default: "3" }, rounds: { type: "string", default: "2" } } });
const SECONDS = Math.min(Number(values.duration), 10);
const ROUNDS = Number(values.rounds);
const PARAMS = JSON.stringify("x".repeat(16));
const HANDSHAKE_LOOPS = 8;

function makeCerts(dir) {
  const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=bench-ca");
  ssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "1", "-days", "1", "-extfile", "server.ext", "-out", "server.pem");
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

const peer = (name, extra) => ({
  name,
  ready: /forkrpc ready/,
  command: ({ port, workers }) => ({ file: process.execPath, args: [...npmStartCommand(), "--port", String(port), "--workers", String(workers), ...extra], cwd: ROOT }),
});

/** `forkrpc bench --json`, and the server's CPU over the same time. */
function load(server, pipeline, tlsArgs) {
  const args = [...npmStartCommand().slice(0, -1), "bench", "--port", String(server.port), "--connections", "32", "--pipeline", String(pipeline)];
  args.push("--duration", String(SECONDS), "--params", PARAMS, "--json", ...tlsArgs);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    // The connections open and the preflight call runs in the first moments: sample around the whole run.
    const before = cpuSample(server.pid);
    const timer = setTimeout(() => child.kill("SIGKILL"), (SECONDS + 15) * 1000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const cpu = cpuBetween(before, cpuSample(server.pid)).total;
      if (code !== 0) return reject(new Error(`bench exited ${code}: ${err}`));
      const summary = JSON.parse(out);
      resolve({ rps: summary.rps, errors: summary.errors, cpuUsPerRequest: cpu / summary.requests });
    });
  });
}

/** New connections per second for SECONDS, HANDSHAKE_LOOPS at a time; each closes once open. */
async function connects(server, mode, ca) {
  let session;
  let count = 0;
  let resumed = 0;
  const end = performance.now() + SECONDS * 1000;
  const one = () =>
    new Promise((resolve, reject) => {
      const socket =
        mode === "plain"
          ? net.connect({ host: "127.0.0.1", port: server.port })
          : tls.connect({ host: "127.0.0.1", port: server.port, ca, servername: "localhost", ...(mode === "resumed" && session ? { session } : {}) });
      if (mode !== "plain") socket.on("session", (s) => (session ??= s));
      socket.once(mode === "plain" ? "connect" : "secureConnect", () => {
        count++;
        if (mode !== "plain" && socket.isSessionReused()) resumed++;
        // Let a TLS 1.3 ticket arrive before closing, for the resumed mode's first session.
        setTimeout(() => socket.destroy(), session === undefined && mode === "resumed" ? 20 : 0);
        resolve();
      });
      socket.once("error", reject);
    });
  const before = cpuSample(server.pid);
  const started = performance.now();
  await Promise.all(Array.from({ length: HANDSHAKE_LOOPS }, async () => { while (performance.now() < end) await one(); }));
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuBetween(before, cpuSample(server.pid)).total;
  return { perSecond: count / seconds, cpuUsEach: cpu / count, resumedShare: mode === "plain" ? null : resumed / count };
}

const dir = mkdtempSync(join(tmpdir(), "forkrpc-bench-tls-"));
const servers = [];
try {
  const files = makeCerts(dir);
  const ca = readFileSync(files.ca);
  const plain = await startPeer(peer("plain", []), { port: await freePort(), workers: 1 });
  servers.push(plain);
  const secure = await startPeer(peer("tls", ["--tls-cert", files.cert, "--tls-key", files.key]), { port: await freePort(), workers: 1 });
  servers.push(secure);
  const rows = [];
  for (const pipeline of [32, 1]) {
    const runs = { plain: [], tls: [] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.plain.push(await load(plain, pipeline, []));
      runs.tls.push(await load(secure, pipeline, ["--tls-ca", files.ca]));
    }
    const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
    const [p, t] = [runs.plain, runs.tls];
    rows.push(
      `| 32x${pipeline} 16 B | ${Math.round(mean(p, "rps"))} | ${Math.round(mean(t, "rps"))} | ${(mean(t, "rps") / mean(p, "rps")).toFixed(2)} | ` +
        `${mean(p, "cpuUsPerRequest").toFixed(2)} | ${mean(t, "cpuUsPerRequest").toFixed(2)} | +${(mean(t, "cpuUsPerRequest") - mean(p, "cpuUsPerRequest")).toFixed(2)} | ${[...p, ...t].reduce((a, r) => a + r.errors, 0)} |`,
    );
  }
  const tcp = await connects(plain, "plain", ca);
  const full = await connects(secure, "full", ca);
  const resumed = await connects(secure, "resumed", ca);
  process.stdout.write(`TLS against plaintext, 1 worker each, \`forkrpc bench\` as the load for both, ${SECONDS} s per run, ${ROUNDS} rounds alternated (${new Date().toISOString()})\n\n`);
  process.stdout.write("| cell | plain req/s | TLS req/s | TLS/plain | plain server CPU us/req | TLS server CPU us/req | TLS extra us/req | errors |\n|---|---|---|---|---|---|---|---|\n");
  process.stdout.write(`${rows.join("\n")}\n\n`);
  process.stdout.write(`New connections, ${HANDSHAKE_LOOPS} at a time, closed once open (1 worker):\n\n| kind | per second | server CPU us each | resumed |\n|---|---|---|---|\n`);
  for (const [name, r] of [["plain TCP connect", tcp], ["TLS full handshake", full], ["TLS resumed", resumed]]) {
    process.stdout.write(`| ${name} | ${Math.round(r.perSecond)} | ${r.cpuUsEach.toFixed(0)} | ${r.resumedShare === null ? "-" : `${(r.resumedShare * 100).toFixed(0)}%`} |\n`);
  }
} finally {
  for (const s of servers) await stopPeer(s);
  rmSync(dir, { recursive: true, force: true });
}
