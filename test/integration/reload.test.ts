/**
 * Rolling reload (SIGHUP, `forkrpc reload`): a new generation boots from the
 * plugin files as they are now, and only then is the old one retired; a
 * generation that cannot boot is abandoned and the old one keeps serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, type Served } from "../helpers/server.ts";
import {
  FreshLoop,
  KeepAliveLoop,
  call,
  childPids,
  findPid,
  isAlive,
  sleep,
  supervised,
  tempFixture,
  waitFor,
  type TempFixture,
} from "../helpers/supervision.ts";

const FRESH_PLUGIN = `import { Rpc } from "forkrpc";

@Rpc("fresh")
export class Fresh {
  handle() {
    return { fresh: true, pid: process.pid };
  }
}
`;

const BROKEN_PLUGIN = `import { Rpc } from "forkrpc";

@Rpc("broken")
export class Broken {
  handle() {
    return = 1;
  }
}
`;

interface Setup {
  fx: TempFixture;
  served: Served;
  before: number[];
  defer(fn: () => unknown): void;
}

/** Runs `body` against a server on a fresh copy of the reload fixture, 2 workers up. */
function reloading(body: (s: Setup) => Promise<void>, extra: (fx: TempFixture) => string[] = () => []): Promise<void> {
  const fx = tempFixture("reload");
  const options = { args: ["--config", fx.config, "--workers", "2", ...extra(fx)], timeoutMs: 40_000 };
  return supervised(
    options,
    async ({ served, defer }) => {
      const before = await waitFor("2 workers", () => (childPids(served.pid).length === 2 ? childPids(served.pid) : undefined), 5_000);
      await body({ fx, served, before, defer });
    },
    { cleanup: fx.remove },
  );
}

/** Waits until `method` answers something other than METHOD_NOT_FOUND. */
function answers(port: number, method: string, timeoutMs: number) {
  return waitFor(
    `"${method}" to answer`,
    async () => {
      const r = await call(port, method);
      return r.out === "error" && r.result?.code === "METHOD_NOT_FOUND" ? undefined : r;
    },
    timeoutMs,
    200,
  );
}

/** The old workers are all gone and `count` new ones run. */
function replaced(master: number, before: number[], count: number, timeoutMs: number) {
  return waitFor(
    "the old workers to be replaced",
    () => {
      const now = childPids(master);
      return before.every((p) => !isAlive(p)) && now.length === count && now.every((p) => !before.includes(p)) ? now : undefined;
    },
    timeoutMs,
    50,
  );
}

test("SIGHUP: a new plugin answers, old workers go, and neither kind of client loses a request", { timeout: 85_000 }, async (t) => {
  await reloading(async ({ served, fx, before, defer }) => {
    const fresh = new FreshLoop(served.port, { maxCalls: 4_000, maxMs: 45_000, paceMs: 5 });
    const keep = new KeepAliveLoop(served.port, { maxCalls: 20_000, maxMs: 45_000, depth: 3, paceMs: 2 });
    defer(() => keep.stop());
    defer(() => fresh.stop());
    await waitFor("the loops to get going", () => fresh.ok >= 10 && keep.ok >= 10, 10_000, 20);

    writeFileSync(join(fx.plugins, "fresh.ts"), FRESH_PLUGIN);
    const hupAt = Date.now();
    process.kill(served.pid, "SIGHUP");
    const r = await answers(served.port, "fresh", 15_000);
    const answerMs = Date.now() - hupAt;
    assert.equal(r.out, "fresh");
    assert.equal(r.result.fresh, true);
    const after = await replaced(served.pid, before, 2, 15_000);
    const replacedMs = Date.now() - hupAt;
    // A little more traffic against the new generation only.
    const okNow = fresh.ok + keep.ok;
    await waitFor("more pings after the reload", () => fresh.ok + keep.ok >= okNow + 20, 10_000, 20);
    await fresh.stop();
    await keep.stop();
    t.diagnostic(`reload: "fresh" answered ${answerMs} ms after SIGHUP; old workers gone after ${replacedMs} ms`);
    t.diagnostic(`fresh-connection loop: ${fresh.ok} ok, ${fresh.failures.length} failures`);
    t.diagnostic(`keep-alive loop: ${keep.summary()}`);

    assert.deepEqual(fresh.failures, [], "fresh-connection pings failed");
    assert.deepEqual(keep.failures, [], "keep-alive pings failed");
    assert.ok(keep.goaways >= 1, "the keep-alive client was told goaway by its old worker");
    assert.equal(keep.closedWithoutGoaway, 0, "connections that used ids were closed without a goaway");
    assert.match(served.stderr(), /reload complete: generation 2 ready/);
    const pid = await findPid(served.port, () => true, 5_000);
    assert.ok(after.includes(pid), `answered by a new worker (${pid} in ${after})`);
    assert.ok(!before.includes(pid));
    assert.deepEqual(await call(served.port, "ping", 1), { out: "pong", result: 1 });
  });
});

test("SIGHUP with a broken plugin: reload abandoned, the old workers keep serving", { timeout: 85_000 }, async (t) => {
  await reloading(async ({ served, fx, before }) => {
    writeFileSync(join(fx.plugins, "broken.ts"), BROKEN_PLUGIN);
    const hupAt = Date.now();
    process.kill(served.pid, "SIGHUP");
    await waitFor("reload abandoned", () => /reload abandoned/.test(served.stderr()), 30_000, 100);
    t.diagnostic(`reload abandoned ${Date.now() - hupAt} ms after SIGHUP`);
    const err = served.stderr();
    assert.match(err, /broken\.ts/, "the broken file is named");
    assert.match(err, /PLUGIN_IMPORT_FAILED/);
    // The master is up, the old code answers, from the old workers.
    assert.ok(isAlive(served.pid), "the master is up");
    assert.deepEqual(await call(served.port, "ping", "old"), { out: "pong", result: "old" });
    const broken = await call(served.port, "broken");
    assert.equal(broken.result?.code, "METHOD_NOT_FOUND");
    await waitFor("only the old workers", () => {
      const now = childPids(served.pid);
      return now.length === 2 && now.every((p) => before.includes(p));
    }, 10_000);
    const pid = await findPid(served.port, () => true, 5_000);
    assert.ok(before.includes(pid), `answered by an old worker (${pid} in ${before})`);
    assert.doesNotMatch(served.stderr(), /reload complete/);

    // Fixed, the next reload goes through.
    rmSync(join(fx.plugins, "broken.ts"));
    writeFileSync(join(fx.plugins, "fresh.ts"), FRESH_PLUGIN);
    process.kill(served.pid, "SIGHUP");
    const r = await answers(served.port, "fresh", 20_000);
    assert.equal(r.out, "fresh");
    await replaced(served.pid, before, 2, 15_000);
  });
});

test("regression: a SIGHUP sent the instant a reload is abandoned is not abandoned by the old attempt's killed workers", { timeout: 85_000 }, async (t) => {
  await reloading(async ({ served, fx, before }) => {
    const broken = join(fx.plugins, "broken.ts");
    writeFileSync(broken, BROKEN_PLUGIN);
    writeFileSync(join(fx.plugins, "fresh.ts"), FRESH_PLUGIN);
    // No polling gap: the file is fixed and SIGHUP sent from the very chunk
    // that carries the abandon, before the workers it SIGKILLed have exited.
    let seen = "";
    let sentAt = 0;
    const onChunk = (chunk: Buffer) => {
      seen += chunk.toString();
      if (sentAt !== 0 || !/reload abandoned/.test(seen)) return;
      rmSync(broken);
      process.kill(served.pid, "SIGHUP");
      sentAt = Date.now();
    };
    served.proc.stderr?.on("data", onChunk);
    try {
      process.kill(served.pid, "SIGHUP");
      await waitFor("the broken reload to be abandoned", () => sentAt !== 0, 30_000, 20);
      const r = await answers(served.port, "fresh", 25_000);
      assert.equal(r.out, "fresh");
      await replaced(served.pid, before, 2, 25_000);
      t.diagnostic(`the second reload served "fresh" ${Date.now() - sentAt} ms after its SIGHUP`);
    } finally {
      served.proc.stderr?.off("data", onChunk);
    }
    const err = served.stderr();
    assert.equal(err.match(/reload abandoned, old workers keep serving/g)?.length, 1, "only the broken reload is abandoned");
    // The abandoned attempt used generation 2; the next one has a number of its own.
    assert.match(err, /reload \(SIGHUP\): booting generation 2 /);
    assert.match(err, /reload \(SIGHUP\): booting generation 3 /);
    assert.match(err, /reload complete: generation 3 ready/);
    // Workers killed by the abandon were stopped on purpose: not crashes, which would count toward a crash loop.
    assert.doesNotMatch(err, /exited unexpectedly/);
  });
});

test("`forkrpc reload --pid-file F` reloads as SIGHUP does; a removed plugin's method is then METHOD_NOT_FOUND", { timeout: 85_000 }, async (t) => {
  await reloading(async ({ served, fx, before }) => {
    const pidFile = join(fx.dir, "master.pid");
    assert.equal(readFileSync(pidFile, "utf8").trim(), String(served.pid), "the pid file holds the master's pid");
    assert.deepEqual(await call(served.port, "gone"), { out: "gone", result: "here" });

    writeFileSync(join(fx.plugins, "fresh.ts"), FRESH_PLUGIN);
    rmSync(join(fx.plugins, "gone.ts"));
    const at = Date.now();
    const cli = await runCli(["reload", "--pid-file", pidFile], { timeoutMs: 30_000 });
    assert.equal(cli.code, 0, `reload exit code; stderr:\n${cli.stderr}`);
    assert.match(cli.stdout, new RegExp(`reloading pid ${served.pid} \\(SIGHUP\\)`));
    const r = await answers(served.port, "fresh", 25_000);
    assert.equal(r.out, "fresh");
    await replaced(served.pid, before, 2, 25_000);
    t.diagnostic(`reload via the CLI: old workers replaced ${Date.now() - at} ms after the command started`);
    assert.match(served.stderr(), /reload \(SIGHUP\): booting generation 2/);

    // Only the new generation serves now, and it has no "gone".
    const gone = await call(served.port, "gone");
    assert.equal(gone.out, "error");
    assert.equal(gone.result.code, "METHOD_NOT_FOUND");
    assert.deepEqual(await call(served.port, "ping", 2), { out: "pong", result: 2 });

    assert.equal(await served.stop(), 0);
    assert.ok(!existsSync(pidFile), "the master removes its pid file when it stops");
  }, (fx) => ["--pid-file", join(fx.dir, "master.pid")]);
});

/** A plugin whose workers take `ms` to run their start hook: the new generation boots slowly. */
const slowPlugin = (ms: number) => `import { Rpc } from "forkrpc";

@Rpc("slow")
export class Slow {
  async onWorkerStart() {
    await new Promise((resolve) => setTimeout(resolve, ${ms}));
  }
  handle() {
    return process.pid;
  }
}
`;

test("an old worker killed during a reload: afterwards there are as many workers as configured", { timeout: 85_000 }, async (t) => {
  await reloading(async ({ served, fx, before }) => {
    writeFileSync(join(fx.plugins, "slow.ts"), slowPlugin(3_000));
    process.kill(served.pid, "SIGHUP");
    // The new generation is booting (4 workers in all): kill an old one.
    await waitFor("the new generation to be forked", () => childPids(served.pid).length === 4, 10_000, 20);
    const victim = before[0] as number;
    process.kill(victim, "SIGKILL");
    await waitFor("reload complete", () => /reload complete/.test(served.stderr()), 30_000, 100);
    await waitFor("the old workers to go", () => before.every((p) => !isAlive(p)), 15_000, 50);
    await sleep(1_500);
    const now = childPids(served.pid);
    t.diagnostic(`workers after the reload: ${now.length} (${now.join(", ")})`);
    assert.equal(now.length, 2, `--workers 2, so 2 workers after the reload; got ${now.length}`);
  });
});

test("a new-generation worker that dies after it is ready, while another still boots: the reload still ends", { timeout: 85_000 }, async (t) => {
  await reloading(async ({ served, fx, before }) => {
    // The first worker to import this dies 1.5 s later (after it is ready);
    // any other takes 4 s to start.
    writeFileSync(
      join(fx.plugins, "flaky.ts"),
      `import { Rpc } from "forkrpc";
import { openSync, closeSync } from "node:fs";

let first = false;
try {
  closeSync(openSync(new URL("./died.marker", import.meta.url), "wx"));
  first = true;
} catch {
  // someone else was first
}
if (first) setTimeout(() => { throw new Error("flaky-gen2"); }, 1_500);

@Rpc("flaky")
export class Flaky {
  async onWorkerStart() {
    if (!first) await new Promise((resolve) => setTimeout(resolve, 4_000));
  }
  handle() {
    return { first, pid: process.pid };
  }
}
`,
    );
    const hupAt = Date.now();
    process.kill(served.pid, "SIGHUP");
    await waitFor("the first new worker to die", () => /flaky-gen2/.test(served.stderr()), 15_000, 50);
    // Either outcome is a decision: the reload completes (the dead worker
    // replaced) or it is abandoned. Staying "booting" forever is neither.
    const outcome = await waitFor(
      "the reload to complete or be abandoned",
      () => /reload complete/.exec(served.stderr())?.[0] ?? /reload abandoned/.exec(served.stderr())?.[0],
      12_000,
      100,
    ).catch(() => undefined);
    const workers = childPids(served.pid);
    t.diagnostic(`${outcome ?? "no outcome"} ${Date.now() - hupAt} ms after SIGHUP; workers now: ${workers.join(", ")}`);
    // Whatever happened, the master must take the next reload.
    const mark = served.stderr().length;
    process.kill(served.pid, "SIGHUP");
    const next = await waitFor(
      "the next SIGHUP to be acted on or refused",
      () => /reload \(SIGHUP\)[^\n]*/.exec(served.stderr().slice(mark))?.[0],
      10_000,
    );
    t.diagnostic(`next SIGHUP: ${next}`);
    assert.ok(outcome !== undefined, `the reload neither completed nor was abandoned within 12 s of the death; workers: ${workers.join(", ")}; next SIGHUP: ${next}`);
    assert.doesNotMatch(next, /ignored/);
    await waitFor("the next reload to complete", () => /reload complete/.test(served.stderr().slice(mark)), 20_000);
    await waitFor("2 workers", () => childPids(served.pid).length === 2, 15_000, 50);
    assert.ok(before.every((p) => !isAlive(p)), "the first generation is gone");
  });
});

test("stress: tutorial-style clients (a new connection per request, no id) lose no request across 3 reloads", { timeout: 85_000 }, async (t) => {
  await reloading(async ({ served, fx, defer }) => {
    const loops: FreshLoop[] = [];
    defer(async () => {
      for (const l of loops) await l.stop();
    });
    // Six clients back to back, no pause: many connections are being opened
    // at the moment each old worker is told to drain.
    for (let i = 0; i < 6; i++) loops.push(new FreshLoop(served.port, { maxCalls: 30_000, maxMs: 50_000 }));
    await waitFor("the loops to get going", () => loops.every((l) => l.ok >= 10), 10_000, 20);
    for (let r = 1; r <= 3; r++) {
      const before = childPids(served.pid);
      writeFileSync(join(fx.plugins, `extra${r}.ts`), `import { Rpc } from "forkrpc";\n\n@Rpc("extra${r}")\nexport class Extra${r} {\n  handle() {\n    return ${r};\n  }\n}\n`);
      const at = Date.now();
      process.kill(served.pid, "SIGHUP");
      await replaced(served.pid, before, 2, 25_000);
      t.diagnostic(`reload ${r}: ${Date.now() - at} ms; failures so far ${loops.reduce((a, l) => a + l.failures.length, 0)}`);
    }
    for (const l of loops) await l.stop();
    const failures = loops.flatMap((l) => l.failures);
    t.diagnostic(`${loops.reduce((a, l) => a + l.ok, 0)} ok, ${failures.length} failed`);
    assert.deepEqual(failures, [], "requests on fresh connections were lost to a reload");
  });
});
