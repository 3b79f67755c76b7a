/**
 * The TLS material on its own (src/server/tls.ts): config.tls's files read
 * and checked in this process, with certificates made by openssl
 * (test/helpers/certs.ts; without openssl these tests skip, and fail under
 * FORKRPC_CI=1). Before these, only servers spawned by the TLS integration
 * tests reached this code, so `npm run mutate -- server` left it unmeasured;
 * each test names the mutants it kills.
 */
import { after, before, mock, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCerts, type TestCerts } from "../helpers/certs.ts";
import { missingTools } from "../helpers/tools.ts";
import { loadTlsMaterial, secureContextOptions, tlsEnabled, tlsServerOptions, type TlsConfig } from "../../src/server/tls.ts";

const skip = missingTools("openssl");
let certs: TestCerts;

before(() => {
  if (!skip) certs = makeCerts();
});
after(() => certs?.cleanup());

const config = (over: Partial<TlsConfig> = {}): TlsConfig => ({ clientAuth: "none", minVersion: "TLSv1.2", ...over }) as TlsConfig;
const served = (over: Partial<TlsConfig> = {}) => config({ cert: certs.server.cert, key: certs.server.key, ...over });

/** The BootError loadTlsMaterial throws for `c` (it must throw). */
function bootError(c: TlsConfig): Error & { code: string } {
  try {
    loadTlsMaterial(c);
  } catch (error) {
    return error as Error & { code: string };
  }
  assert.fail("loadTlsMaterial did not throw");
}

/** Writes a file into the certificates' folder; returns its path. */
function file(name: string, text: string): string {
  const path = join(certs.dir, name);
  writeFileSync(path, text);
  return path;
}

// Kills tlsEnabled's `||` to `&&`, either `!==` to `===`, and the whole
// condition turned `true` or `false` (tls.ts:24).
test("TLS is on when the config names a certificate, a key or both", () => {
  assert.equal(tlsEnabled(config()), false);
  assert.equal(tlsEnabled(config({ ca: "/ca.pem" })), false, "a CA alone does not turn TLS on");
  assert.equal(tlsEnabled(config({ cert: "/c.pem" })), true);
  assert.equal(tlsEnabled(config({ key: "/k.pem" })), true);
  assert.equal(tlsEnabled(config({ cert: "/c.pem", key: "/k.pem" })), true);
});

// Kills the mutants of the two CONFIG_INVALID checks (tls.ts:33-38): either
// half of `cert === undefined || key === undefined` turned `false`, `||` to
// `&&`, the ternary naming the file set, the messages emptied, and in the
// clientAuth check `!== "none"` turned `true` or `"none"` emptied, `&&` to
// `||`, `ca === undefined` turned `true`.
test("a certificate without its key, or client certificates without a CA, is CONFIG_INVALID", () => {
  const onlyCert = bootError(config({ cert: "/nowhere/c.pem" }));
  assert.equal(onlyCert.code, "CONFIG_INVALID");
  assert.equal(onlyCert.message, "tls: give both tls.cert and tls.key (--tls-cert, --tls-key); only tls.cert is set");
  assert.match(bootError(config({ key: "/nowhere/k.pem" })).message, /only tls\.key is set$/);
  for (const clientAuth of ["request", "require"] as const) {
    const noCa = bootError(config({ cert: "/nowhere/c.pem", key: "/nowhere/k.pem", clientAuth }));
    assert.equal(noCa.code, "CONFIG_INVALID");
    assert.equal(noCa.message, `tls.clientAuth "${clientAuth}" needs tls.ca (--tls-ca): the CA client certificates are checked against`);
  }
  // Past the combination checks, the files are read: the next error is about the file.
  assert.equal(bootError(config({ cert: "/nowhere/c.pem", key: "/nowhere/k.pem" })).code, "TLS_FILE_UNREADABLE");
  assert.equal(bootError(config({ cert: "/nowhere/c.pem", key: "/nowhere/k.pem", ca: "/nowhere/ca.pem", clientAuth: "require" })).code, "TLS_FILE_UNREADABLE");
});

// Kills the `ca === undefined ? undefined : readPem(...)` ternary turned
// either way (tls.ts:41), and the CA's X509 check skipped (57-63).
test("the material is the files' bytes; the CA is read when named, whatever clientAuth says", { skip }, () => {
  const plain = loadTlsMaterial(served());
  assert.deepEqual(plain, { cert: readFileSync(certs.server.cert), key: readFileSync(certs.server.key), ca: undefined });
  const mutual = loadTlsMaterial(served({ ca: certs.ca.cert, clientAuth: "require" }));
  assert.deepEqual(mutual.ca, readFileSync(certs.ca.cert));
  assert.deepEqual(loadTlsMaterial(served({ ca: certs.ca.cert, clientAuth: "request" })).ca, readFileSync(certs.ca.cert));
  assert.deepEqual(loadTlsMaterial(served({ ca: certs.ca.cert })).ca, readFileSync(certs.ca.cert), 'clientAuth "none" with a CA');
});

// Kills readPem's mutants (tls.ts:73-81): the names "tls.cert", "tls.key",
// "tls.ca" emptied, the ENOENT and EACCES tests and their texts, the
// `?? "error"` fallback, and `{ cause }` emptied.
test("a file that is missing or cannot be read is TLS_FILE_UNREADABLE, naming the file and its key", { skip }, () => {
  const missing = join(certs.dir, "missing.pem");
  const cases: Array<[TlsConfig, string]> = [
    [served({ cert: missing }), `${missing} (tls.cert) does not exist`],
    [served({ key: missing }), `${missing} (tls.key) does not exist`],
    [served({ ca: missing }), `${missing} (tls.ca) does not exist`],
  ];
  for (const [c, message] of cases) {
    const error = bootError(c);
    assert.equal(error.code, "TLS_FILE_UNREADABLE");
    assert.equal(error.message, message);
    assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOENT");
  }
  const folder = join(certs.dir, "a-folder.pem");
  mkdirSync(folder, { recursive: true });
  assert.equal(bootError(served({ key: folder })).message, `${folder} (tls.key) cannot be read (EISDIR)`);
});

test("a file this user may not read says so; an error without a code still names the file", { skip }, () => {
  // The tests run as root here, which reads any file: EACCES, and an error
  // with no code, are made by node:fs's readFileSync replaced for one call
  // (syncBuiltinESMExports carries the replacement to tls.ts's named import).
  const fs = createRequire(import.meta.url)("node:fs") as typeof import("node:fs");
  const refuse = (thrown: Error) => {
    const real = fs.readFileSync;
    mock.method(fs, "readFileSync", (path: string, ...rest: unknown[]) => {
      if (path === certs.server.key) throw thrown;
      return (real as (...a: unknown[]) => unknown)(path, ...rest);
    });
    syncBuiltinESMExports();
    try {
      return bootError(served());
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
  };
  const denied = refuse(Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }));
  assert.equal(denied.message, `${certs.server.key} (tls.key) cannot be read by this user`);
  assert.equal(refuse(new Error("odd")).message, `${certs.server.key} (tls.key) cannot be read (error)`);
});

// Kills the three parse checks' mutants (tls.ts:43-63) and invalid()'s
// (83-86): the texts, `cause instanceof Error` turned `false` (no detail),
// `{ cause }` emptied, and the key check `!leaf.checkPrivateKey(...)`
// turned `false`.
test("a file that is not PEM, an encrypted key or a key of another certificate is TLS_INVALID, naming the file", { skip }, () => {
  const junk = file("junk.pem", "not a certificate\n");
  const check = (c: TlsConfig, start: string) => {
    const error = bootError(c);
    assert.equal(error.code, "TLS_INVALID");
    assert.ok(error.cause instanceof Error, "the parser's error is the cause");
    assert.equal(error.message, `${start}: ${error.cause.message}`);
    assert.ok(error.cause.message.length > 0);
  };
  check(served({ cert: junk }), `${junk} (tls.cert) is not a PEM certificate`);
  check(served({ key: junk }), `${junk} (tls.key) is not a PEM private key (or it is encrypted)`);
  check(served({ ca: junk, clientAuth: "request" }), `${junk} (tls.ca) is not a PEM certificate bundle`);
  const pem = createPrivateKey(readFileSync(certs.server.key)).export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "secret" });
  const encrypted = file("encrypted.key", String(pem));
  check(served({ key: encrypted }), `${encrypted} (tls.key) is not a PEM private key (or it is encrypted)`);
  const mismatch = bootError(served({ key: certs.client.key }));
  assert.equal(mismatch.code, "TLS_INVALID");
  assert.equal(mismatch.message, `${certs.client.key} (tls.key) is not the private key of the certificate in ${certs.server.cert} (tls.cert)`);
});

// Kills the createSecureContext check turned off (tls.ts:65-69) and its text:
// a 512-bit RSA key parses, and its certificate matches, but OpenSSL refuses it.
test("a key OpenSSL refuses though it parses is TLS_INVALID at load, not at the first handshake", { skip }, () => {
  const weak = { cert: join(certs.dir, "weak.pem"), key: join(certs.dir, "weak.key") };
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:512", "-nodes", "-keyout", weak.key, "-out", weak.cert, "-subj", "/CN=localhost", "-days", "1"], {
    stdio: "ignore",
    timeout: 20_000,
  });
  const error = bootError(served(weak));
  assert.equal(error.code, "TLS_INVALID");
  assert.match(error.message, new RegExp(`^${weak.cert} \\(tls\\.cert\\) is refused by OpenSSL with its key: .*too small`));
});

// Kills secureContextOptions' and tlsServerOptions' mutants (tls.ts:92-117):
// the ca left in as undefined, "forkrpc" emptied, minVersion, requestCert's
// and rejectUnauthorized's comparisons and strings, and the handshake
// timeout. These are the options the listener and every reload use.
test("the secure context's options, and the server's: client certificates, handshake timeout, session id context", () => {
  const material = { cert: Buffer.from("C"), key: Buffer.from("K"), ca: undefined };
  const base = { cert: material.cert, key: material.key, minVersion: "TLSv1.3", sessionIdContext: "forkrpc" };
  assert.deepEqual(secureContextOptions(material, config({ minVersion: "TLSv1.3" })), base);
  const ca = Buffer.from("A");
  assert.deepEqual(secureContextOptions({ ...material, ca }, config()), { ...base, ca, minVersion: "TLSv1.2" });
  const server = (clientAuth: TlsConfig["clientAuth"]) => tlsServerOptions(material, config({ clientAuth, minVersion: "TLSv1.3" }), 1_500);
  assert.deepEqual(server("none"), { ...base, requestCert: false, rejectUnauthorized: false, handshakeTimeout: 1_500 });
  assert.deepEqual(server("request"), { ...base, requestCert: true, rejectUnauthorized: false, handshakeTimeout: 1_500 });
  assert.deepEqual(server("require"), { ...base, requestCert: true, rejectUnauthorized: true, handshakeTimeout: 1_500 });
});
