/**
 * Signals as a terminal or an impatient operator sends them: Ctrl-C signals
 * the whole process group (every worker drains on its own SIGINT too), and
 * a second SIGTERM during a drain stops at once instead of waiting for
 * shutdown.graceMs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { CLI, NODE_FLAGS, ROOT } from "../helpers/server.ts";
import { RawPeer, request } from "../helpers/wire.ts";

const CONFIG = join(ROOT, "test/fixtures/cluster/rpc.config.ts");

/** A server in its own process group, as a shell starts one; resolves once ready. */
async function start() {
  const proc = spawn(process.execPath, [...NODE_FLAGS, CLI, "serve", "--config", CONFIG, "--port", "0", "--workers", "2"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (err += d));
  const exited = once(proc, "exit").then(([code, signal]) => ({ code: code as number | null, signal: signal as string | null }));
  const deadline = Date.now() + 40_000;
  while (!/ready: .* on [\d.]+:(\d+) /.test(out)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`not ready\n${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(/ on [\d.]+:(\d+) /.exec(out)![1]);
  const kill = () => {
    try {
      process.kill(-proc.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  return { proc, port, exited, stderr: () => err, kill };
}

test("Ctrl-C (SIGINT to the whole group): a request in flight is answered, every process exits, the master with 0", { timeout: 60_000 }, async () => {
  const s = await start();
  try {
    const peer = await RawPeer.open(s.port);
    peer.write(request("sleep", 600));
    await new Promise((r) => setTimeout(r, 100));
    process.kill(-s.proc.pid!, "SIGINT");
    const answer = await peer.read(5_000);
    assert.equal(answer.out, "sleep");
    assert.equal(answer.result.slept, 600);
    const { code } = await Promise.race([s.exited, new Promise<never>((_, no) => setTimeout(() => no(new Error("no exit")), 15_000))]);
    assert.equal(code, 0, s.stderr());
    peer.close();
  } finally {
    s.kill();
  }
});

test("a second SIGTERM during a drain stops at once, not after graceMs", { timeout: 60_000 }, async () => {
  const s = await start();
  try {
    const peer = await RawPeer.open(s.port);
    peer.write(request("sleep", 8_000)); // would hold the drain for 8 s (graceMs is 10 s)
    await new Promise((r) => setTimeout(r, 100));
    process.kill(s.proc.pid!, "SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    process.kill(s.proc.pid!, "SIGTERM");
    await Promise.race([s.exited, new Promise<never>((_, no) => setTimeout(() => no(new Error("still running 4 s after the second SIGTERM")), 4_000))]);
    assert.ok(Date.now() - t0 < 4_000);
    assert.match(s.stderr(), /SIGTERM again: stopping now/);
    peer.close();
  } finally {
    s.kill();
  }
});
