/**
 * Watching config.tls's files (src/server/tls-watch.ts). Most tests replace
 * node:fs's watchFile and unwatchFile (syncBuiltinESMExports carries the
 * replacement to tls-watch.ts's named imports) and the global setTimeout,
 * and call the stat listeners by hand: what counts as a change, the settle
 * delay and the stop are then exact. One test watches real files. Before
 * these, only spawned servers reached this code; each test names the
 * mutants it kills.
 */
import { afterEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { mkdtempSync, renameSync, rmSync, writeFileSync, type Stats } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { POLL_MS, watchTlsFiles } from "../../src/server/tls-watch.ts";
import type { TlsConfig } from "../../src/server/tls.ts";

const fs = createRequire(import.meta.url)("node:fs") as typeof import("node:fs");
type Listener = (now: Stats, before: Stats) => void;

afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

/** watchFile and unwatchFile replaced: what was watched, with which options, and what was unwatched. */
function fakeWatch() {
  const watched: Array<{ file: string; options: unknown; listener: Listener }> = [];
  const unwatched: Array<[string, Listener]> = [];
  mock.method(fs, "watchFile", (file: string, options: unknown, listener: Listener) => void watched.push({ file, options, listener }));
  mock.method(fs, "unwatchFile", (file: string, listener: Listener) => void unwatched.push([file, listener]));
  syncBuiltinESMExports();
  return { watched, unwatched };
}

interface FakeTimer {
  readonly ms: number;
  readonly run: () => void;
  unrefed: boolean;
  cleared: boolean;
}

/** The global setTimeout and clearTimeout replaced: the timers made, run by the test. */
function fakeTimers(): FakeTimer[] {
  const timers: FakeTimer[] = [];
  mock.method(globalThis, "setTimeout", (run: () => void, ms: number) => {
    const timer = { ms, run, unrefed: false, cleared: false, unref: () => ((timer.unrefed = true), timer) };
    timers.push(timer);
    return timer;
  });
  // Like the real one, clearTimeout(null) does nothing.
  mock.method(globalThis, "clearTimeout", (timer: FakeTimer | null | undefined) => {
    if (timer) timer.cleared = true;
  });
  return timers;
}

const config = (over: Partial<TlsConfig>): TlsConfig => ({ clientAuth: "none", minVersion: "TLSv1.2", ...over }) as TlsConfig;
const stats = (mtimeMs: number, ino: number, size: number) => ({ mtimeMs, ino, size }) as Stats;

// Kills the filter of absent files turned `true` (watchFile(undefined)
// throws), the options object emptied or `persistent: false` turned `true`
// (the watch would keep a worker alive), and the interval not passed.
test("each file named is polled every pollMs (POLL_MS by default), without keeping the process alive", () => {
  const { watched } = fakeWatch();
  watchTlsFiles(config({ cert: "/c.pem", key: "/k.pem" }), () => {});
  assert.equal(POLL_MS, 1_000);
  assert.deepEqual(
    watched.map((w) => [w.file, w.options]),
    [
      ["/c.pem", { interval: POLL_MS, persistent: false }],
      ["/k.pem", { interval: POLL_MS, persistent: false }],
    ],
  );
  watchTlsFiles(config({ cert: "/c.pem", key: "/k.pem", ca: "/ca.pem" }), () => {}, 50);
  assert.deepEqual(
    watched.slice(2).map((w) => [w.file, w.options]),
    [
      ["/c.pem", { interval: 50, persistent: false }],
      ["/k.pem", { interval: 50, persistent: false }],
      ["/ca.pem", { interval: 50, persistent: false }],
    ],
  );
});

// Kills the early return's mutants (tls-watch.ts:24): the condition turned
// `true` or `false`, each `===` turned `true` or to `!==`, `&&` to `||`;
// and the settle delay's (`pollMs + SETTLE_MS` to `-`), `timer.unref()`
// removed, and onChange not called or called without its file.
test("a poll that sees the same mtime, inode and size is no change; any one of them differing is", () => {
  const { watched } = fakeWatch();
  const timers = fakeTimers();
  const changed: string[] = [];
  watchTlsFiles(config({ cert: "/c.pem", key: "/k.pem" }), (file) => changed.push(file), 100);
  const cert = watched[0].listener;
  cert(stats(10, 1, 500), stats(10, 1, 500)); // only ctime moved (a chmod): fs.watchFile calls, nothing to take
  assert.equal(timers.length, 0);
  const differing = [stats(11, 1, 500), stats(10, 2, 500), stats(10, 1, 501)];
  differing.forEach((now, i) => {
    cert(now, stats(10, 1, 500));
    assert.equal(timers.length, i + 1, `a change seen in ${JSON.stringify(now)}`);
    const timer = timers[i];
    assert.equal(timer.ms, 400, "a poll plus the settle time");
    assert.equal(timer.unrefed, true);
    assert.equal(changed.length, i, "not before the timer");
    timer.run();
  });
  assert.equal(timers.length, 3);
  assert.deepEqual(changed, ["/c.pem", "/c.pem", "/c.pem"]);
});

// Kills `if (timer !== null) clearTimeout(timer)` turned off (29): a
// certificate and its key written one after the other would be checked
// twice, the first time half renewed.
test("changes less than a poll and the settle time apart are one change, reported with the last file", () => {
  const { watched } = fakeWatch();
  const timers = fakeTimers();
  const changed: string[] = [];
  watchTlsFiles(config({ cert: "/c.pem", key: "/k.pem" }), (file) => changed.push(file), 100);
  watched[0].listener(stats(11, 1, 500), stats(10, 1, 500));
  watched[1].listener(stats(11, 2, 200), stats(10, 2, 200));
  assert.equal(timers.length, 2);
  assert.equal(timers[0].cleared, true, "the first change's timer is replaced");
  for (const timer of timers) if (!timer.cleared) timer.run();
  assert.deepEqual(changed, ["/k.pem"]);
});

// Kills the stop's mutants (39-42): the pending timer not cleared (onChange
// would come after the stop), and the files not unwatched, or unwatched
// without their listener (which would remove other watchers of the file).
test("the stop clears a pending change and removes each file's own listener", () => {
  const { watched, unwatched } = fakeWatch();
  const timers = fakeTimers();
  const stop = watchTlsFiles(config({ cert: "/c.pem", key: "/k.pem", ca: "/ca.pem" }), () => assert.fail("no change after the stop"), 100);
  watched[2].listener(stats(11, 1, 500), stats(10, 1, 500));
  stop();
  assert.equal(timers.length, 1);
  assert.equal(timers[0].cleared, true);
  assert.deepEqual(
    unwatched,
    watched.map((w) => [w.file, w.listener]),
  );
});

test("real files: a certificate replaced by a rename is reported, with its path", async () => {
  const dir = mkdtempSync(join(tmpdir(), "forkrpc-tls-watch-"));
  const cert = join(dir, "server.pem");
  const key = join(dir, "server.key");
  writeFileSync(cert, "cert 1\n");
  writeFileSync(key, "key 1\n");
  let reported: string | undefined;
  const stop = watchTlsFiles(config({ cert, key }), (file) => (reported ??= file), 50);
  try {
    // fs.watchFile compares with a first stat taken in the background: a
    // renewal made before it would be the baseline, so renew again (at
    // most 10 times, 2 s apart) until one is reported.
    await delay(200);
    for (let version = 2; reported === undefined && version <= 11; version++) {
      writeFileSync(join(dir, "renewed.pem"), `cert ${version}\n`);
      renameSync(join(dir, "renewed.pem"), cert);
      for (const end = performance.now() + 2_000; reported === undefined && performance.now() < end; ) await delay(50);
    }
    assert.equal(reported, cert);
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
