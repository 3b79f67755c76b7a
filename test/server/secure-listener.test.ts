/**
 * SecureListener on its own (src/server/secure-listener.ts): a real
 * tls.Server on a loopback port in this process, clients from
 * test/helpers/tls-wire.ts or raw sockets, the log read from
 * process.stderr. Certificates come from openssl (test/helpers/certs.ts;
 * without it these tests skip, and fail under FORKRPC_CI=1). Before these,
 * only spawned servers reached this code; each test names the mutants it
 * kills.
 */
import { after, afterEach, before, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import { join } from "node:path";
import { makeCerts, type Pair, type TestCerts } from "../helpers/certs.ts";
import { missingTools } from "../helpers/tools.ts";
import { tlsExchange } from "../helpers/tls-wire.ts";
import { frame, request } from "../helpers/wire.ts";
import { within } from "../helpers/within.ts";
import { SecureListener } from "../../src/server/secure-listener.ts";
import { loadTlsMaterial, type TlsConfig } from "../../src/server/tls.ts";

const skip = missingTools("openssl");
let certs: TestCerts;
let ca: string;
/** Copies of the server's pair that tests overwrite, as a renewal would. */
let live: Pair;

before(() => {
  if (skip) return;
  certs = makeCerts();
  ca = certs.read(certs.ca.cert);
  mkdirSync(join(certs.dir, "live"));
  live = { cert: join(certs.dir, "live", "server.pem"), key: join(certs.dir, "live", "server.key") };
});
after(() => certs?.cleanup());

let logged: string[] = [];
const opened: SecureListener[] = [];
const sockets = new Set<TLSSocket>();
beforeEach(() => {
  logged = [];
  mock.method(process.stderr, "write", (chunk: string) => {
    logged.push(String(chunk));
    return true;
  });
  if (!skip) {
    copyFileSync(certs.server.cert, live.cert);
    copyFileSync(certs.server.key, live.key);
  }
});
afterEach(async () => {
  mock.restoreAll();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(opened.splice(0).map((l) => new Promise((resolve) => (l.server.listening ? l.server.close(resolve) : resolve(undefined)))));
});

const PONG = frame(JSON.stringify({ out: "pong", result: null }));
const config = (pair: Pair = live): TlsConfig => ({ cert: pair.cert, key: pair.key, clientAuth: "none", minVersion: "TLSv1.2" }) as TlsConfig;

/** Answers a pong to each chunk received (each test request is one frame). */
function answering(socket: TLSSocket): void {
  sockets.add(socket);
  socket.on("data", () => socket.write(PONG));
  socket.on("error", () => {});
}

async function listening(handshakeTimeoutMs = 5_000, onConnection = answering, c = config()): Promise<{ listener: SecureListener; port: number }> {
  const listener = new SecureListener(loadTlsMaterial(c), c, handshakeTimeoutMs, onConnection);
  opened.push(listener);
  await new Promise<void>((resolve) => listener.server.listen(0, "127.0.0.1", resolve));
  const address = listener.server.address();
  assert.ok(address !== null && typeof address === "object");
  return { listener, port: address.port };
}

const lines = (pattern: RegExp) => logged.filter((l) => pattern.test(l));

// Kills the createServer options emptied or allowHalfOpen turned `false`
// (secure-listener.ts:31): without allowHalfOpen Node ends the server's
// side when the client ends its own, and the answer written after is lost.
// noDelay is read back from the server (nothing on the wire shows it).
test("a client that has finished sending still gets its answer; Nagle is off", { skip }, async () => {
  const { listener, port } = await listening(5_000, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.resume(); // 'end' comes once what was sent is read
    socket.on("end", () => setImmediate(() => socket.end(PONG)));
  });
  // net.Server keeps the option as a field, which @types/node does not declare.
  assert.equal((listener.server as unknown as { noDelay: boolean }).noDelay, true);
  const client = connect({ host: "127.0.0.1", port, ca, servername: "localhost" });
  let received = Buffer.alloc(0);
  client.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
  client.on("error", () => {});
  client.once("secureConnect", () => client.end(request("ping")));
  await within(new Promise((resolve) => client.on("close", resolve)), 10_000, "the client's close");
  assert.deepEqual(received, PONG);
});

// Kills the handler's `socket.destroy()` removed (Node emits the handshake
// timeout and leaves the socket open), `failed++` to `--`, and the handshake
// timeout not passed on (tls.ts:115, Node's default is 120 s). Found by this
// test: the line said "handshake with ?", the address being read after
// destroy(), when a closed socket no longer knows it.
test("a client that never finishes the handshake is dropped after the timeout, counted and logged with its address", { skip }, async () => {
  const { listener, port } = await listening(200);
  const socket = connectTcp({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  const started = performance.now();
  await within(new Promise((resolve) => socket.on("close", resolve)), 10_000, "the server closing a silent client");
  assert.ok(performance.now() - started >= 150, `closed after ${performance.now() - started} ms, before the 200 ms timeout`);
  assert.equal(listener.failed, 1);
  assert.equal(lines(/tls: handshake with 127\.0\.0\.1 failed \(ERR_TLS_HANDSHAKE_TIMEOUT\); 1 so far\n$/).length, 1, logged.join(""));
});

test("a plaintext client is closed without an answer, and the next TLS client is served", { skip }, async () => {
  const { listener, port } = await listening();
  const socket = connectTcp({ host: "127.0.0.1", port });
  let received = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
  socket.on("error", () => {});
  socket.write(request("ping"));
  await within(new Promise((resolve) => socket.on("close", resolve)), 10_000, "the server closing a plaintext client");
  assert.ok(received.length === 0 || received[0] === 21, `at most a TLS alert, not ${received.toString("hex")}`);
  assert.equal(listener.failed, 1);
  const next = await tlsExchange(port, { ca }, "ping");
  assert.deepEqual(next.answer, { out: "pong", result: null });
});

// Kills the rate limit's mutants (36-40): `<` to `<=` or `>=`, `-` to
// `+`, the early return removed or the condition turned `false`, `#loggedAt
// = now` removed, and the `?? "?"` and `error.code ?? error.message`
// fallbacks. The failures are emitted by hand, on a clock the test sets.
test("failed handshakes are all counted, and logged at most once a second", { skip }, async () => {
  const { listener } = await listening();
  let now = 5_000;
  mock.method(performance, "now", () => now);
  const destroyed: string[] = [];
  const fail = (at: number, error: Error, address?: string) => {
    now = at;
    // Like Node's sockets, a destroyed one has lost its peer's address.
    const socket: { remoteAddress?: string; destroy(): void } = { remoteAddress: address, destroy: () => (destroyed.push(String(address)), delete socket.remoteAddress) };
    listener.server.emit("tlsClientError", error, socket);
  };
  const coded = (code: string) => Object.assign(new Error(code.toLowerCase()), { code });
  fail(5_000, coded("ECONNRESET"), "10.0.0.1");
  fail(5_999, coded("ECONNRESET"), "10.0.0.2");
  fail(6_000, new Error("wrong version number"));
  fail(6_500, coded("ECONNRESET"), "10.0.0.3");
  assert.equal(listener.failed, 4);
  assert.deepEqual(destroyed, ["10.0.0.1", "10.0.0.2", "undefined", "10.0.0.3"], "each failed socket is destroyed");
  const warned = lines(/tls: handshake/);
  assert.equal(warned.length, 2, warned.join(""));
  assert.match(warned[0], / warn: tls: handshake with 10\.0\.0\.1 failed \(ECONNRESET\); 1 so far\n$/);
  assert.match(warned[1], / warn: tls: handshake with \? failed \(wrong version number\); 3 so far\n$/);
});

/** Writes `pair` over the live files, as a renewal does. */
function renew(pair: Pair): void {
  copyFileSync(pair.key, live.key);
  copyFileSync(pair.cert, live.cert);
}

// Kills reload's mutants when it takes the new files (55-76): the default
// `why` emptied, `this.#config = config` removed (the next reload() would
// read the old files), the log line's text, and `return true` to `false`.
test("reload: new handshakes get the new certificate, and reload() rereads the files it was last given", { skip }, async () => {
  const { listener, port } = await listening();
  const before = (await tlsExchange(port, { ca }, "ping")).fingerprint;
  assert.notEqual(before, "");
  renew(certs.newServer("renewed"));
  assert.equal(listener.reload(), true);
  assert.deepEqual(lines(/tls: reload/), [`forkrpc master[${process.pid}] info: tls: reload: new handshakes use the certificate in ${live.cert}\n`]);
  const renewed = (await tlsExchange(port, { ca }, "ping")).fingerprint;
  assert.notEqual(renewed, before);
  const other = certs.newServer("other");
  assert.equal(listener.reload(config(other), "other.pem changed"), true);
  assert.equal(lines(/tls: other\.pem changed: new handshakes use the certificate in /).length, 1, logged.join(""));
  const third = (await tlsExchange(port, { ca }, "ping")).fingerprint;
  assert.ok(third !== renewed && third !== before);
  renew(certs.server);
  logged = [];
  assert.equal(listener.reload(), true);
  assert.match(logged.join(""), new RegExp(`new handshakes use the certificate in ${other.cert}\n`), "the files of the last reload, not the first ones");
  assert.equal((await tlsExchange(port, { ca }, "ping")).fingerprint, third);
});

// Kills the refusals' mutants (57-71): the catch's `return false`
// removed (the refused config would become the current one), the coded and
// uncoded texts (`code === undefined` turned either way), and the context's
// own refusal, made here by a setSecureContext that throws.
test("reload: a bad file, an uncoded throw or a context Node refuses keeps the current certificate, with one error line", { skip }, async () => {
  const { listener, port } = await listening();
  const current = (await tlsExchange(port, { ca }, "ping")).fingerprint;
  writeFileSync(live.cert, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
  assert.equal(listener.reload(), false);
  const stays = "error: tls: reload: new certificate refused, the current one stays: ";
  assert.equal(logged.length, 1, logged.join(""));
  assert.ok(logged[0].includes(`${stays}TLS_INVALID: ${live.cert} (tls.cert) is not a PEM certificate: `), logged[0]);
  assert.equal((await tlsExchange(port, { ca }, "ping")).fingerprint, current);
  // An uncoded throw (a config that is not one) is described, not assumed coded.
  assert.equal(listener.reload(null as unknown as TlsConfig, "odd"), false);
  assert.match(logged[1], /error: tls: odd: new certificate refused, the current one stays: TypeError: /);
  const setContext = mock.method(listener.server, "setSecureContext", () => {
    throw new Error("context refused");
  });
  assert.equal(listener.reload(config(certs.newServer("never")), "refused"), false);
  assert.equal(setContext.mock.callCount(), 1);
  assert.ok(logged[2].includes("error: tls: refused: new certificate refused, the current one stays: Error: context refused\n"), logged[2]);
  assert.equal(logged.length, 3, logged.join(""));
  setContext.mock.restore();
  renew(certs.server);
  assert.equal(listener.reload(), true, "the current config is still the first one");
  assert.ok(logged[3].includes(`new handshakes use the certificate in ${live.cert}\n`), logged[3]);
  assert.equal((await tlsExchange(port, { ca }, "ping")).fingerprint, current);
});

// Kills setTicketKeys' mutants (45-48: the keys not given to the server,
// or not kept) and reload's ticket keys (the `#ticketKeys === undefined`
// turned `true` drops them at a reload): a session issued by one listener
// resumes on another that has the same keys, also after that one reloaded.
test("listeners given the same ticket keys resume each other's sessions, across a certificate reload", { skip }, async () => {
  const keys = randomBytes(48);
  const a = await listening();
  const b = await listening();
  const stranger = await listening();
  a.listener.setTicketKeys(keys);
  b.listener.setTicketKeys(keys);
  const first = await tlsExchange(a.port, { ca }, "ping");
  assert.equal(first.answer?.out, "pong", first.error);
  assert.ok(first.session !== undefined, "a session ticket came");
  const on = async (port: number) => (await tlsExchange(port, { ca, session: first.session }, "ping")).reused;
  assert.equal(await on(b.port), true, "resumed on the other listener");
  assert.equal(await on(stranger.port), false, "a listener with keys of its own does not resume it");
  renew(certs.newServer("renewed-b"));
  assert.equal(b.listener.reload(), true);
  assert.equal(await on(b.port), true, "still resumed after the reload");
  assert.equal(stranger.listener.reload(), true);
  assert.equal(await on(stranger.port), false);
});
