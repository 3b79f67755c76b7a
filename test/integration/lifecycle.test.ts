/**
 * onWorkerStart / onWorkerStop: awaited in every worker, dependencies first
 * on start and last on stop; a start hook that throws fails the boot.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { call, childPids, fixtureConfig, launched, supervised, waitFor, within } from "../helpers/supervision.ts";

interface Entry {
  pid: number;
  who: string;
  event: string;
}

function entries(file: string): Entry[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Entry);
}

function byPid(list: Entry[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const e of list) {
    const seq = out.get(e.pid) ?? [];
    seq.push(`${e.who} ${e.event}`);
    out.set(e.pid, seq);
  }
  return out;
}

test("start hooks run in each worker before it serves, dependency first; stop hooks in reverse, on reload and on SIGTERM", { timeout: 85_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "forkrpc-sup-lifecycle-"));
  const file = join(dir, "hooks.jsonl");
  const options = {
    args: ["--config", fixtureConfig("lifecycle"), "--workers", "2"],
    env: { FORKRPC_TEST_LIFECYCLE_FILE: file },
    timeoutMs: 40_000,
  };
  await supervised(
    options,
    async ({ served }) => {
      const workers = await waitFor("2 workers", () => (childPids(served.pid).length === 2 ? childPids(served.pid) : undefined), 5_000);

      // Ready means every start hook has finished, in both workers.
      const started = byPid(entries(file));
      assert.deepEqual([...started.keys()].sort((a, b) => a - b), workers, "both workers ran their start hooks");
      for (const pid of workers) assert.deepEqual(started.get(pid), ["Db started", "Users started"], `worker ${pid}`);

      // The handler got the started service injected.
      const r = await call(served.port, "users");
      assert.equal(r.out, "users");
      assert.equal(r.result.dbOpen, true);

      // A reload: the retired workers run their stop hooks, the new ones their start hooks.
      process.kill(served.pid, "SIGHUP");
      const fresh = await waitFor(
        "the new generation",
        () => {
          const now = childPids(served.pid);
          return now.length === 2 && now.every((p) => !workers.includes(p)) ? now : undefined;
        },
        25_000,
        50,
      );
      await waitFor("the old workers' stop hooks", () => workers.every((p) => byPid(entries(file)).get(p)?.length === 4), 10_000);
      let all = byPid(entries(file));
      for (const pid of workers) {
        assert.deepEqual(all.get(pid), ["Db started", "Users started", "Users stopped", "Db stopped"], `retired worker ${pid}`);
      }
      for (const pid of fresh) assert.deepEqual(all.get(pid), ["Db started", "Users started"], `new worker ${pid}`);

      const code = await served.stop("SIGTERM");
      assert.equal(code, 0, `master exit code; stderr:\n${served.stderr()}`);
      all = byPid(entries(file));
      for (const pid of fresh) {
        assert.deepEqual(all.get(pid), ["Db started", "Users started", "Users stopped", "Db stopped"], `worker ${pid}`);
      }
      assert.equal(entries(file).length, 16, "no other hook calls");
    },
    { cleanup: () => rmSync(dir, { recursive: true, force: true }) },
  );
});

test("an onWorkerStart that throws: the server does not boot, HOOK_FAILED names the class", { timeout: 60_000 }, async () => {
  await launched(["serve", "--config", fixtureConfig("lifecycle-fail"), "--workers", "2", "--port", "0"], async (cli) => {
    const code = await within(cli.exited, 45_000, "the master to exit");
    const err = cli.stderr();
    assert.equal(code, 1, `exit code; stderr:\n${err}`);
    assert.doesNotMatch(cli.stdout(), /forkrpc ready/);
    assert.match(err, /HOOK_FAILED/);
    assert.match(err, /BadStart\.onWorkerStart\(\)/, "names the class and the hook");
    assert.match(err, /database unreachable-789/, "and the error");
  });
});

test("an onWorkerStart that never finishes: HOOK_FAILED after hookTimeoutMs", { timeout: 60_000 }, async () => {
  await launched(["serve", "--config", fixtureConfig("lifecycle-hang"), "--workers", "1", "--port", "0"], async (cli) => {
    const code = await within(cli.exited, 45_000, "the master to exit");
    const err = cli.stderr();
    assert.equal(code, 1, `exit code; stderr:\n${err}`);
    assert.doesNotMatch(cli.stdout(), /forkrpc ready/);
    assert.match(err, /HOOK_FAILED/);
    assert.match(err, /NeverStarts\.onWorkerStart\(\) did not finish within 500 ms/);
  });
});
