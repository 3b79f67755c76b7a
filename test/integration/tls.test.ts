/**
 * config.tls with one process (--workers 0): the tutorial's Python client
 * over ssl, a plaintext client on the TLS port, handshakes that never end,
 * client certificates refused as configured (expired, wrong CA, missing),
 * the server's name checked by the client, the identity in ctx.peer.tls and
 * the scopes auth.mtls gives it, and the boot errors naming the file.
 * Certificates are made by openssl at test time (test/helpers/certs.ts).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { makeCerts, type Pair, type TestCerts } from "../helpers/certs.ts";
import { ROOT, serve, type Served } from "../helpers/server.ts";
import { missingTools } from "../helpers/tools.ts";
import { tlsExchange } from "../helpers/tls-wire.ts";
import { request } from "../helpers/wire.ts";
import { RpcClient } from "../../src/client/index.ts";

const skip = missingTools("openssl");
const FIXTURE = join(ROOT, "test/fixtures/tls");
let certs: TestCerts;
/** clientAuth "request" (certificates checked, not required) and "require". */
let requesting: Served;
let requiring: Served;

const tlsFlags = (mode: string) => ["--tls-cert", certs.server.cert, "--tls-key", certs.server.key, "--tls-ca", certs.ca.cert, "--tls-client-auth", mode];
const withCert = (pair: Pair, ca = certs.ca.cert) => ({ ca: certs.read(ca), cert: certs.read(pair.cert), key: certs.read(pair.key) });

before(async () => {
  if (skip) return;
  certs = makeCerts();
  [requesting, requiring] = await Promise.all([
    serve({ cwd: FIXTURE, args: ["--config", "idle.config.ts", ...tlsFlags("request")], timeoutMs: 60_000 }),
    serve({ cwd: FIXTURE, args: tlsFlags("require"), timeoutMs: 60_000 }),
  ]);
});

after(async () => {
  await Promise.all([requesting?.stop(), requiring?.stop()]);
  certs?.cleanup();
});

test("the tutorial's Python client, its socket wrapped in ssl, gets its 10 pongs", { skip }, async () => {
  const script = join(ROOT, "test/fixtures/tutorial_client_tls.py");
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile("python3", [script, "127.0.0.1", String(requesting.port), certs.ca.cert], { timeout: 15_000, killSignal: "SIGKILL" }, (error, out, err) =>
      error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
    );
  });
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 10, stdout);
  lines.forEach((line, i) => assert.deepEqual(JSON.parse(line), { out: "pong", result: `ireader ${i}` }));
});

test("a plaintext client on the TLS port is closed, gets no answer, and the server keeps serving", { skip }, async () => {
  const socket = connect({ host: "127.0.0.1", port: requesting.port });
  let received = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
  socket.on("error", () => {});
  socket.write(request("ping", "plain"));
  await new Promise((resolve) => socket.on("close", resolve));
  assert.ok(!received.toString("latin1").includes("pong"), "no answer in plaintext");
  // At most a TLS alert record (content type 21), never a frame.
  if (received.length > 0) assert.equal(received[0], 21, received.toString("hex"));
  const after = await tlsExchange(requesting.port, { ca: certs.read(certs.ca.cert) }, "ping");
  assert.equal(after.answer?.out, "pong");
  assert.match(requesting.stderr(), /tls: handshake with 127\.0\.0\.1 failed/);
});

test("a client that connects and never finishes the handshake is dropped after limits.readTimeoutMs", { skip }, async () => {
  const socket = connect({ host: "127.0.0.1", port: requiring.port });
  socket.on("error", () => {});
  const started = performance.now();
  await new Promise((resolve) => socket.on("close", resolve));
  const ms = performance.now() - started;
  // readTimeoutMs is 1 s in the fixture; Node's default would be 120 s.
  assert.ok(ms >= 500 && ms < 10_000, `dropped after ${ms} ms`);
});

test("the client's identity reaches ctx.peer.tls, and auth.mtls makes it the principal with its scopes", { skip }, async () => {
  const a = await tlsExchange(requesting.port, withCert(certs.client));
  const tls = a.answer?.result?.tls;
  assert.equal(tls.authorized, true);
  assert.equal(tls.protocol, "TLSv1.3");
  assert.equal(tls.cert.cn, "client-a");
  assert.deepEqual(tls.cert.uris, ["spiffe://forkrpc.test/client-a"]);
  assert.deepEqual(tls.cert.dnsNames, ["client-a.test"]);
  assert.match(tls.cert.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.ok(!Number.isNaN(Date.parse(tls.cert.validTo)), tls.cert.validTo);
  assert.deepEqual(a.answer?.result?.principal, { id: "client-a", scopes: ["pay"] });
  assert.deepEqual((await tlsExchange(requesting.port, withCert(certs.client), "pay")).answer?.result, { by: "client-a" });
  // client-b: no SAN, so its CN names it; authorized, but without the scope.
  const b = await tlsExchange(requesting.port, withCert(certs.plainClient), "pay");
  assert.deepEqual([b.answer?.out, b.answer?.result?.code], ["error", "PERMISSION_DENIED"]);
});

test('clientAuth "request": an expired or foreign certificate is not authorized, so the token decides', { skip }, async () => {
  for (const [pair, why] of [
    [certs.expiredClient, "CERT_HAS_EXPIRED"],
    [certs.otherClient, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
  ] as const) {
    const refused = await tlsExchange(requesting.port, withCert(pair));
    assert.deepEqual([refused.answer?.out, refused.answer?.result?.code], ["error", "UNAUTHENTICATED"], why);
    const withToken = await tlsExchange(requesting.port, withCert(pair), "whoami", { token: "tok" });
    assert.equal(withToken.answer?.result?.tls.authorized, false, why);
    assert.equal(withToken.answer?.result?.tls.authorizationError, why);
    assert.deepEqual(withToken.answer?.result?.principal, { id: "token", scopes: [] });
  }
  const none = await tlsExchange(requesting.port, { ca: certs.read(certs.ca.cert) }, "whoami", { token: "tok" });
  assert.deepEqual({ ...none.answer?.result?.tls, cert: none.answer?.result?.tls.cert ?? null }, { authorized: false, authorizationError: "UNABLE_TO_GET_ISSUER_CERT", protocol: "TLSv1.3", resumed: false, cert: null });
});

test('clientAuth "require": no certificate, an expired one or a foreign one is refused in the handshake', { skip }, async () => {
  for (const options of [{ ca: certs.read(certs.ca.cert) }, withCert(certs.expiredClient), withCert(certs.otherClient)]) {
    const refused = await tlsExchange(requiring.port, options, "ping");
    assert.equal(refused.answer, undefined);
    assert.ok(refused.error !== undefined);
  }
  assert.equal((await tlsExchange(requiring.port, withCert(certs.client), "ping")).answer?.out, "pong");
});

test("the client refuses a server whose certificate is for another name, or from a CA it does not trust", { skip }, async () => {
  const wrongHost = await tlsExchange(requesting.port, { ca: certs.read(certs.ca.cert), servername: "other.example" }, "ping");
  assert.equal(wrongHost.error, "ERR_TLS_CERT_ALTNAME_INVALID");
  const wrongCa = await tlsExchange(requesting.port, { ca: certs.read(certs.otherCa.cert) }, "ping");
  // The client is given the other CA: the server's chain ends in a root it does not know.
  assert.ok(["SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"].includes(wrongCa.error ?? ""), wrongCa.error);
});

test("RpcClient's tls option: a call with a client certificate, and a clear error for the wrong name", { skip }, async () => {
  const client = new RpcClient({ port: requiring.port, tls: { ...withCert(certs.client), servername: "localhost" } });
  try {
    assert.deepEqual(await client.call("pay", null), { by: "client-a" });
  } finally {
    await client.close();
  }
  const wrong = new RpcClient({ port: requiring.port, timeoutMs: 1_000, tls: { ...withCert(certs.client), servername: "other.example" } });
  try {
    await assert.rejects(wrong.call("ping", 1), (error: { code: string; message: string }) => error.code === "DEADLINE_EXCEEDED" && /altnames/.test(error.message));
  } finally {
    await wrong.close();
  }
});

test("RpcClient offers its last session when it reconnects, so the new connection resumes", { skip }, async () => {
  const client = new RpcClient({ port: requesting.port, tls: withCert(certs.client) });
  try {
    const first = (await client.call("whoami", null)) as { tls: { resumed: boolean } };
    assert.equal(first.tls.resumed, false);
    // The server closes the idle connection after limits.idleTimeoutMs (1 s); the client reconnects.
    for (let i = 0; i < 50 && client.stats().opened < 2; i++) await delay(100);
    assert.equal(client.stats().opened, 2, "the idle connection was closed and replaced");
    const second = (await client.call("whoami", null)) as { tls: { resumed: boolean; cert: { cn: string } } };
    assert.equal(second.tls.resumed, true);
    assert.equal(second.tls.cert.cn, "client-a", "a resumed session keeps the client's certificate");
  } finally {
    await client.close();
  }
});

test("a missing file, or a key that is not the certificate's, stops the boot with a code naming the file", { skip }, async () => {
  const missing = join(certs.dir, "nope.pem");
  writeFileSync(join(certs.dir, "garbage.pem"), "not a certificate\n");
  const cases: Array<[string[], RegExp]> = [
    [["--tls-cert", missing, "--tls-key", certs.server.key], new RegExp(`TLS_FILE_UNREADABLE: ${missing} \\(tls\\.cert\\) does not exist`)],
    [["--tls-cert", certs.server.cert, "--tls-key", certs.client.key], new RegExp(`TLS_INVALID: ${certs.client.key} \\(tls\\.key\\) is not the private key of the certificate in ${certs.server.cert}`)],
    [["--tls-cert", join(certs.dir, "garbage.pem"), "--tls-key", certs.server.key], /TLS_INVALID: .*garbage\.pem \(tls\.cert\) is not a PEM certificate/],
    [["--tls-cert", certs.server.cert], /CONFIG_INVALID: tls: give both tls\.cert and tls\.key/],
    // With workers the master checks the files first: one error, not one per worker.
    [["--workers", "2", "--tls-cert", certs.server.cert, "--tls-key", missing], new RegExp(`stderr: forkrpc: TLS_FILE_UNREADABLE: ${missing} \\(tls\\.key\\) does not exist\n$`)],
  ];
  await Promise.all(
    cases.map(async ([args, expected]) => {
      await assert.rejects(serve({ cwd: FIXTURE, args, timeoutMs: 30_000 }), (error: Error) => {
        assert.match(error.message, expected);
        assert.match(error.message, /server exited \(1\) before ready/);
        return true;
      });
    }),
  );
});
