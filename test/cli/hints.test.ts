/**
 * Errors that say what to do next: LISTEN_FAILED names how to find the
 * process that holds the port and how to pick another, with --workers 0
 * and from the master alike; dev with no workers talks about what was typed.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { runCli } from "../helpers/server.ts";
import { bootHint } from "../../src/cli/hints.ts";

let holder: Server;
let port: number;
before(async () => {
  holder = createServer().listen(0, "127.0.0.1");
  await once(holder, "listening");
  port = (holder.address() as { port: number }).port;
});
after(() => holder.close());

test("bootHint: by errno, naming the port; nothing for codes whose message is enough", () => {
  const inUse = bootHint("LISTEN_FAILED", "cannot listen on 127.0.0.1:8080: listen EADDRINUSE: address already in use 127.0.0.1:8080");
  assert.match(inUse!, /ss -ltnp 'sport = :8080'/);
  assert.match(inUse!, /--port 0 for a free one/);
  assert.match(bootHint("LISTEN_FAILED", "cannot listen on 10.9.9.9:80: listen EADDRNOTAVAIL: address not available")!, /^10\.9\.9\.9 is not an address of this machine/);
  assert.match(bootHint("LISTEN_FAILED", "cannot listen on 0.0.0.0:80: listen EACCES: permission denied")!, /below 1024 need privileges/);
  assert.equal(bootHint("DUPLICATE_METHOD", "x"), undefined);
});

test("a port in use, --workers 0: LISTEN_FAILED and a hint to find the holder or take another port", async () => {
  const r = await runCli(["serve", "--port", String(port), "--workers", "0"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^forkrpc: LISTEN_FAILED: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\n  hint: another process holds port ${port}: see which with \`ss -ltnp 'sport = :${port}'\``, "m"));
  assert.match(r.stderr, /--port N, or --port 0 for a free one\n$/);
});

test("a port in use, with workers: the master logs the hint once", { timeout: 60_000 }, async () => {
  const r = await runCli(["serve", "--port", String(port), "--workers", "2"], { timeoutMs: 50_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /failed to boot: LISTEN_FAILED: /);
  const hints = r.stderr.match(/error: hint: another process holds port \d+: see which with `ss -ltnp/g) ?? [];
  assert.equal(hints.length, 1, r.stderr);
});

test("dev with --workers 0 talks about dev and --workers 0, not a --watch nobody typed", async () => {
  const r = await runCli(["dev", "--port", "0", "--workers", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^forkrpc: forkrpc dev reloads workers when files change, and --workers 0 serves in one process with none: give --workers 1 or more, or run forkrpc serve --workers 0 \(no reloading\)/);
  assert.doesNotMatch(r.stderr.split("\n")[0]!, /--watch/);
  const watch = await runCli(["serve", "--watch", "--port", "0", "--workers", "0"]);
  assert.equal(watch.code, 2);
  assert.match(watch.stderr, /^forkrpc: --watch reloads workers when files change, and --workers 0 serves .*or drop --watch/);
});
