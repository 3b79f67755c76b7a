// What the loader's hooks cost a process, in-thread (module.registerHooks,
// Node 22.15+) against the hooks thread (module.register, forced with
// FORKRPC_TS_LOADER=thread): spawn to "forkrpc ready:" and the RSS of the
// worker and of the master at that moment, for `forkrpc serve --workers 1`.
// The two modes alternate (A B, then B A), in one run of one Node: the
// machine is shared and noisy, so only medians and ratios travel.
//
//   node bench/loader.js [--rounds 8] [--entry bin|src] [--files 1,100]
//
// bin: bin/forkrpc.js, the installed command (needs `npm run build`): only
// the app's .ts files go through the loader. src: as `npm start`, every
// framework module too. --files: apps of 1 (plugins/ping.ts) and 100
// plugin files (bench/lib/apps.js). The compile cache is warm (a private
// folder, filled by one uncounted start per mode), as on most starts.
// Needs Linux (/proc) and Node 22.15+ (on Node 20 both modes are the thread).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import module from "node:module";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateApp } from "./lib/apps.js";
import { processTree } from "./lib/proctree.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "8" },
    entry: { type: "string", default: "bin" },
    files: { type: "string", default: "1,100" },
  },
});
const ENTRY = {
  bin: [join(ROOT, "bin/forkrpc.js")],
  src: ["--import", join(ROOT, "loader/register.js"), "--conditions=forkrpc-source", join(ROOT, "src/cli/main.ts")],
}[values.entry];
if (ENTRY === undefined) throw new Error(`--entry bin or src, not ${values.entry}`);
if (typeof module.registerHooks !== "function") throw new Error(`Node ${process.version} has no module.registerHooks: nothing to compare`);

const MODES = [
  { name: "registerHooks", setting: "" },
  { name: "register (thread)", setting: "thread" },
];
const cache = mkdtempSync(join(os.tmpdir(), "forkrpc-bench-loader-"));
process.on("exit", () => rmSync(cache, { recursive: true, force: true }));

const rssOf = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;

/** One start: ms from spawn to the ready line, and the master's and the worker's RSS (MB) then. */
async function start(config, setting) {
  const begin = performance.now();
  const proc = spawn(process.execPath, [...ENTRY, "serve", "--config", config, "--port", "0", "--workers", "1"], {
    cwd: ROOT,
    env: { ...process.env, FORKRPC_TS_LOADER: setting, FORKRPC_CACHE_DIR: cache },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr.on("data", (chunk) => (err += chunk));
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  let out = "";
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 60_000);
    proc.stdout.on("data", (chunk) => {
      out += chunk;
      if (!out.includes("forkrpc ready:")) return;
      clearTimeout(timer);
      resolve(true);
    });
    exited.then(() => resolve(false));
  });
  const ms = performance.now() - begin;
  const [master, worker] = processTree(proc.pid);
  const sample = ready && worker !== undefined ? { ms, master: rssOf(master), worker: rssOf(worker) } : null;
  proc.kill("SIGTERM");
  const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(killer);
  if (sample === null) throw new Error(`no ready line from ${config} with FORKRPC_TS_LOADER=${setting}:\n${out}${err}`);
  return sample;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

console.log(`Node ${process.version}, entry ${values.entry}, ${values.rounds} rounds per mode, A/B alternated, ${os.cpus().length} CPUs`);
console.log("| app | mode | ready ms (median, min-max) | worker RSS MB | master RSS MB |");
console.log("|---|---|---|---|---|");
for (const files of values.files.split(",").map(Number)) {
  const app = generateApp(`loader-${files}`, { extraFiles: files - 1 });
  const runs = new Map(MODES.map((mode) => [mode.name, []]));
  for (const mode of MODES) await start(app.config, mode.setting); // warms the cache
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) runs.get(mode.name).push(await start(app.config, mode.setting));
  }
  for (const [name, samples] of runs) {
    const ms = samples.map((s) => s.ms);
    const row = [`${files} plugin file${files === 1 ? "" : "s"}`, name, `${fmt(median(ms))} (${fmt(Math.min(...ms))}-${fmt(Math.max(...ms))})`];
    row.push(fmt(median(samples.map((s) => s.worker))), fmt(median(samples.map((s) => s.master))));
    console.log(`| ${row.join(" | ")} |`);
  }
  const [a, b] = MODES.map((mode) => runs.get(mode.name));
  const ratios = (key) => fmt(median(a.map((s, i) => s[key] / b[i][key])) * 100);
  console.log(`| | registerHooks / thread, per round (%) | ${ratios("ms")} | ${ratios("worker")} | ${ratios("master")} |`);
}
