/**
 * systemd's Type=notify (docs/operations.md): with NOTIFY_SOCKET set, the
 * master says READY=1 once the first generation is ready, RELOADING=1 and
 * READY=1 around a SIGHUP reload, and STOPPING=1 on SIGTERM. The socket is
 * the test's own, an AF_UNIX datagram socket that python3 listens on (Node
 * cannot), at a path and in the abstract namespace ("@name").
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, ROOT } from "../helpers/server.ts";
import { ServiceNotifier } from "../../src/cluster/notify.ts";

const LISTENER = join(ROOT, "test/fixtures/notify/listen.py");
const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const missing = !has("python3", ["-c", "import socket; socket.AF_UNIX"])
  ? "python3 is not installed (it stands in for systemd's datagram socket)"
  : !has("systemd-notify", ["--version"])
    ? "systemd-notify is not installed (forkrpc sends the datagram through it; apt-get install systemd)"
    : undefined;
// In CI (.ci/run installs both) a missing tool is a failure, not a skip.
if (missing !== undefined && process.env.FORKRPC_CI === "1") throw new Error(`FORKRPC_CI is set: ${missing}`);

const dir = mkdtempSync(join(tmpdir(), "forkrpc-notify-"));
const listeners: ChildProcess[] = [];
after(() => {
  for (const l of listeners) if (l.exitCode === null) l.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a listener on `address`; `messages()` is what it received, `until(n)` waits for n of them. */
async function listen(address: string) {
  const proc = spawn("python3", [LISTENER, address, "60"], { stdio: ["ignore", "pipe", "inherit"] });
  listeners.push(proc);
  const lines: string[] = [];
  let buffered = "";
  proc.stdout.on("data", (d) => {
    buffered += d;
    const parts = buffered.split("\n");
    buffered = parts.pop() as string;
    for (const p of parts) lines.push(JSON.parse(p));
  });
  const wait = async (what: string, ok: () => boolean, ms = 30_000) => {
    const until = Date.now() + ms;
    while (!ok() && Date.now() < until && proc.exitCode === null) await new Promise((r) => setTimeout(r, 25));
    assert.ok(ok(), `timed out waiting for ${what}; received: ${JSON.stringify(lines)}`);
  };
  await wait("the listener", () => lines[0] === "listening");
  const messages = () => lines.slice(1).map((m) => m.split("\n").filter((f) => f !== "BARRIER=1" && f !== ""));
  return { messages, until: (n: number) => wait(`${n} messages`, () => messages().filter((m) => m.length > 0).length >= n) };
}

const fields = (m: string[][]) => m.filter((x) => x.length > 0);

test("READY=1 once the workers are ready, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM", { skip: missing, timeout: 90_000 }, async () => {
  const socket = join(dir, "notify.sock");
  const l = await listen(socket);
  const served = await serve({ args: ["--workers", "1"], env: { NOTIFY_SOCKET: socket }, timeoutMs: 60_000 });
  try {
    await l.until(1);
    const [ready] = fields(l.messages());
    assert.ok(ready?.includes("READY=1"), JSON.stringify(ready));
    assert.ok(ready?.includes(`MAINPID=${served.pid}`), JSON.stringify(ready));
    assert.ok(ready?.some((f) => /^STATUS=forkrpc ready: 5 methods on 127\.0\.0\.1:\d+ with 1 worker$/.test(f)), JSON.stringify(ready));

    process.kill(served.pid, "SIGHUP");
    await l.until(3);
    const [, reloading, readyAgain] = fields(l.messages());
    assert.ok(reloading?.includes("RELOADING=1"), JSON.stringify(reloading));
    assert.ok(readyAgain?.includes("READY=1"), JSON.stringify(readyAgain));
    assert.ok(readyAgain?.includes("STATUS=serving, generation 2"), JSON.stringify(readyAgain));

    assert.equal(await served.stop("SIGTERM"), 0);
    await l.until(4);
    const stopping = fields(l.messages())[3];
    assert.ok(stopping?.includes("STOPPING=1"), JSON.stringify(stopping));
    assert.equal(fields(l.messages()).length, 4, JSON.stringify(l.messages()));
  } finally {
    await served.stop();
  }
});

test("an abstract-namespace NOTIFY_SOCKET (@name) gets READY=1 too, from one process (--workers 0)", { skip: missing, timeout: 60_000 }, async () => {
  const socket = `@forkrpc-notify-test-${process.pid}`;
  const l = await listen(socket);
  const served = await serve({ args: ["--workers", "0"], env: { NOTIFY_SOCKET: socket }, timeoutMs: 60_000 });
  try {
    await l.until(1);
    assert.ok(fields(l.messages())[0]?.includes("READY=1"), JSON.stringify(l.messages()));
  } finally {
    await served.stop();
  }
});

test("no NOTIFY_SOCKET: nothing is run; a missing systemd-notify is one warning, not a crash", async () => {
  const off = new ServiceNotifier(undefined, "/nonexistent/systemd-notify");
  assert.equal(off.enabled, false);
  const warnings: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (warnings.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    await off.notify("READY=1");
    assert.deepEqual(warnings, []);
    const broken = new ServiceNotifier(join(dir, "nobody.sock"), "/nonexistent/systemd-notify");
    assert.equal(broken.enabled, true);
    await broken.notify("READY=1");
    await broken.notify("STOPPING=1");
  } finally {
    process.stderr.write = write;
  }
  assert.equal(warnings.length, 1, warnings.join(""));
  assert.match(warnings[0] as string, /NOTIFY_SOCKET is set but \/nonexistent\/systemd-notify could not be run \(spawn \/nonexistent\/systemd-notify ENOENT\)/);
});
