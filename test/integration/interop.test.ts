/**
 * The tutorial's own client (test/fixtures/tutorial_client.py, ported to
 * Python 3 as little as possible) keeps working against forkrpc: length
 * prefix by struct.pack("I"), sendall, recv(4), recv(length), json.loads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { ROOT, serve } from "../helpers/server.ts";

const CLIENT = join(ROOT, "test/fixtures/tutorial_client.py");

function runTutorialClient(host: string, port: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile("python3", [CLIENT, host, String(port)], { timeout: 15_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`tutorial client failed: ${error.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

for (const workers of ["0", "2"]) {
  test(`the tutorial's Python client gets 10 pongs on one connection (--workers ${workers})`, async () => {
    // The repo's own rpc.config.ts and plugins/: ping answers pong with its params.
    const served = await serve({ args: ["--workers", workers], timeoutMs: 60_000 });
    try {
      assert.equal(served.host, "127.0.0.1");
      const { stdout } = await runTutorialClient(served.host, served.port);
      const lines = stdout.trim().split("\n");
      assert.equal(lines.length, 10, stdout);
      lines.forEach((line, i) => assert.deepEqual(JSON.parse(line), { out: "pong", result: `ireader ${i}` }));
      assert.equal(await served.stop(), 0, "exits 0 on SIGTERM");
    } finally {
      await served.stop();
    }
  });
}
