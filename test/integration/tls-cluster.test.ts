/**
 * config.tls with 2 workers: a session one worker issued resumes on the
 * other (the master's ticket keys), also after the certificate files change
 * (setSecureContext must keep those keys); new handshakes take the new
 * certificate while a connection opened before keeps working; a bad new
 * certificate is refused with one log line, by the file watch and by SIGHUP.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { setTimeout as delay } from "node:timers/promises";
import { makeCerts, type TestCerts } from "../helpers/certs.ts";
import { ROOT, serve, type Served } from "../helpers/server.ts";
import { missingTools } from "../helpers/tools.ts";
import { tlsExchange, type TlsExchange } from "../helpers/tls-wire.ts";
import { request } from "../helpers/wire.ts";

const skip = missingTools("openssl");
let certs: TestCerts;
let served: Served;
/** The files the server reads: copies, so the test can replace them. */
let live: { cert: string; key: string };
let ca: string;
const TOKEN = { token: "tok" };

before(async () => {
  if (skip) return;
  certs = makeCerts();
  ca = certs.read(certs.ca.cert);
  mkdirSync(join(certs.dir, "live"));
  live = { cert: join(certs.dir, "live/server.pem"), key: join(certs.dir, "live/server.key") };
  copyFileSync(certs.server.cert, live.cert);
  copyFileSync(certs.server.key, live.key);
  served = await serve({ cwd: join(ROOT, "test/fixtures/tls"), args: ["--workers", "2", "--tls-cert", live.cert, "--tls-key", live.key], timeoutMs: 60_000 });
});

after(async () => {
  await served?.stop();
  certs?.cleanup();
});

/** Connections offering `session` until both workers have answered (at most 60). */
async function overBothWorkers(session: Buffer | undefined): Promise<TlsExchange[]> {
  const seen: TlsExchange[] = [];
  const pids = new Set<number>();
  for (let i = 0; i < 60 && pids.size < 2; i++) {
    const x = await tlsExchange(served.port, { ca, ...(session === undefined ? {} : { session }) }, "whoami", TOKEN);
    assert.ok(x.answer !== undefined, x.error);
    pids.add(x.answer.result.pid);
    seen.push(x);
  }
  assert.equal(pids.size, 2, "both workers answered");
  return seen;
}

test("a session issued by one worker resumes on the other", { skip }, async () => {
  const first = await tlsExchange(served.port, { ca }, "whoami", TOKEN);
  assert.equal(first.reused, false);
  const seen = await overBothWorkers(first.session);
  assert.ok(seen.every((x) => x.answer?.result.tls.resumed === true), "ctx.peer.tls.resumed says so too");
  assert.deepEqual(
    seen.map((x) => x.reused),
    seen.map(() => true),
    `resumed on pids ${seen.map((x) => `${x.answer?.result.pid}:${x.reused}`).join(" ")}`,
  );
});

test("changed files: new handshakes get the new certificate, open connections keep going, sessions still resume", { skip }, async () => {
  const before = await tlsExchange(served.port, { ca }, "whoami", TOKEN);
  const old = before.fingerprint;
  // A connection opened before the change, used after it.
  const open = connect({ host: "127.0.0.1", port: served.port, ca, servername: "localhost" });
  await new Promise((resolve, reject) => open.once("secureConnect", resolve).once("error", reject));
  const fresh = certs.newServer("server-2");
  // New connections throughout the swap (bounded: 30 s at most): every one is answered.
  let swapping = true;
  const until = performance.now() + 30_000;
  const load = (async () => {
    const failed: string[] = [];
    let calls = 0;
    while (swapping && performance.now() < until) {
      const x = await tlsExchange(served.port, { ca }, "ping");
      calls++;
      if (x.answer?.out !== "pong") failed.push(x.error ?? JSON.stringify(x.answer));
    }
    return { calls, failed };
  })();
  let now = before;
  try {
    copyFileSync(fresh.key, live.key);
    copyFileSync(fresh.cert, live.cert);
    for (let i = 0; i < 50 && now.fingerprint === old; i++) {
      await delay(200);
      now = await tlsExchange(served.port, { ca }, "ping");
    }
    assert.notEqual(now.fingerprint, old, `a new handshake shows the new certificate\n${served.stderr()}`);
    await delay(1_000); // both workers have taken it
  } finally {
    swapping = false;
  }
  const { calls, failed } = await load;
  assert.deepEqual(failed, [], `${failed.length} of ${calls} connections during the swap failed`);
  assert.ok(calls > 5, `${calls} connections during the swap`);
  const seen = await overBothWorkers(before.session);
  assert.ok(seen.every((x) => x.reused), "a session from before the change resumes on both workers");
  const fresh2 = await overBothWorkers(undefined);
  assert.ok(fresh2.every((x) => x.fingerprint === now.fingerprint), "both workers present the new certificate");
  open.write(request("ping", "still here"));
  const answer = await new Promise<string>((resolve) => {
    open.once("data", (d: Buffer) => resolve(d.subarray(4).toString()));
    open.once("close", () => resolve("(closed without an answer)"));
  });
  assert.equal(answer, JSON.stringify({ out: "pong", result: "still here" }));
  open.destroy();
  assert.match(served.stderr(), /tls: .*server\.(pem|key) changed: workers take the new certificate/);
});

test("a bad new certificate is refused with one log line, and the current one stays (file watch and SIGHUP)", { skip }, async () => {
  const current = (await tlsExchange(served.port, { ca }, "ping")).fingerprint;
  writeFileSync(live.cert, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
  const refused = /tls: .*server\.pem changed: new certificate refused, the workers keep the current one: TLS_INVALID/g;
  for (let i = 0; i < 50 && !refused.test(served.stderr()); i++) await delay(200);
  assert.equal(served.stderr().match(refused)?.length, 1, served.stderr());
  assert.equal((await tlsExchange(served.port, { ca }, "ping")).fingerprint, current);
  // SIGHUP: the new generation cannot boot on this file; the old one keeps serving.
  process.kill(served.pid, "SIGHUP");
  for (let i = 0; i < 100 && !/abandon/i.test(served.stderr()); i++) await delay(200);
  assert.match(served.stderr(), /TLS_INVALID/);
  const stillThere = await tlsExchange(served.port, { ca }, "ping");
  assert.equal(stillThere.answer?.out, "pong");
  assert.equal(stillThere.fingerprint, current);
});

test("a certificate OpenSSL refuses though it parses (a 512-bit RSA key) is refused by the master, and no worker crashes", { skip }, async () => {
  const before = served.stderr().length;
  const current = (await tlsExchange(served.port, { ca }, "ping")).fingerprint;
  const weak = { cert: join(certs.dir, "weak.pem"), key: join(certs.dir, "weak.key") };
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:512", "-nodes", "-keyout", weak.key, "-out", weak.cert, "-subj", "/CN=localhost", "-days", "1"], { stdio: "ignore" });
  copyFileSync(weak.key, live.key);
  copyFileSync(weak.cert, live.cert);
  const refused = /new certificate refused, the workers keep the current one: TLS_INVALID: .*too small/;
  for (let i = 0; i < 50 && !refused.test(served.stderr().slice(before)); i++) await delay(200);
  const log = served.stderr().slice(before);
  assert.match(log, refused);
  assert.doesNotMatch(log, /uncaught|exited|restart/i);
  const still = await tlsExchange(served.port, { ca }, "ping");
  assert.equal(still.answer?.out, "pong", still.error);
  assert.equal(still.fingerprint, current);
});
