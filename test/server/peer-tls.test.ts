import { test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { certificateOf, peerOf, splitAltNames } from "../../src/server/peer-tls.ts";

test("subjectAltName splits on commas outside Node's JSON quotes", () => {
  assert.deepEqual(splitAltNames(undefined), []);
  assert.deepEqual(splitAltNames("DNS:a.test, URI:spiffe://td/x, IP Address:127.0.0.1"), ["DNS:a.test", "URI:spiffe://td/x", "IP Address:127.0.0.1"]);
  assert.deepEqual(splitAltNames('URI:"spiffe://td/a,b", DNS:c'), ["URI:spiffe://td/a,b", "DNS:c"]);
  assert.deepEqual(splitAltNames('DNS:"q\\"uote", DNS:d'), ['DNS:q"uote', "DNS:d"]);
});

// Kills, in peer-tls.ts: `text === ""` turned `false` or its string changed
// (line 47: an empty subjectAltName gave one empty name), and unquote's
// `!value.startsWith('"')` turned `false` or `startsWith("")` (line 72: a
// name that is valid JSON but not quoted, 1e3, was parsed into 1000).
test("an empty subjectAltName has no names; only a quoted value is unquoted", () => {
  assert.deepEqual(splitAltNames(""), []);
  assert.deepEqual(splitAltNames("DNS:1e3, DNS:12.50"), ["DNS:1e3", "DNS:12.50"]);
});

test("a certificate's CN, URIs and DNS names", () => {
  const cert = certificateOf({ subject: "C=FR\nCN=client-a", subjectAltName: "URI:spiffe://td/a, DNS:a.test, DNS:b.test", fingerprint256: "AB", validTo: "x" });
  assert.deepEqual(cert, { cn: "client-a", subject: "C=FR\nCN=client-a", uris: ["spiffe://td/a"], dnsNames: ["a.test", "b.test"], fingerprint256: "AB", validTo: "x" });
  assert.equal(certificateOf({ subject: "O=x", subjectAltName: undefined, fingerprint256: "", validTo: "" }).cn, undefined);
});

// Kills the mutants of peerOf and peerTls (peer-tls.ts:11-25, no coverage
// by unit tests before: only TLS integration tests reached them), and of
// splitAltNames' escape at the end of the text (54) and unquote's catch (75).
test("peerOf: address and port of a plain socket; a TLS socket's handshake facts", () => {
  assert.deepEqual(peerOf({ remoteAddress: "127.0.0.1", remotePort: 4000 } as Socket), { address: "127.0.0.1", port: 4000 });
  assert.deepEqual(peerOf({} as Socket), { address: "", port: 0 }, "a socket already closed has neither");
  const tlsSocket = (over: Record<string, unknown>) =>
    ({
      remoteAddress: "127.0.0.2",
      remotePort: 4001,
      encrypted: true,
      authorized: true,
      authorizationError: null,
      getPeerX509Certificate: () => undefined,
      getProtocol: () => "TLSv1.3",
      isSessionReused: () => false,
      ...over,
    }) as unknown as Socket;
  assert.deepEqual(peerOf(tlsSocket({})), {
    address: "127.0.0.2",
    port: 4001,
    tls: { authorized: true, authorizationError: undefined, protocol: "TLSv1.3", resumed: false, cert: undefined },
  });
  const refused = peerOf(tlsSocket({ authorized: false, authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE", isSessionReused: () => true }));
  assert.equal(refused.tls?.authorized, false);
  assert.equal(refused.tls?.authorizationError, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  assert.equal(refused.tls?.resumed, true);
  const coded = Object.assign(new Error("expired"), { code: "CERT_HAS_EXPIRED" });
  assert.equal(peerOf(tlsSocket({ authorized: false, authorizationError: coded })).tls?.authorizationError, "CERT_HAS_EXPIRED");
  assert.equal(peerOf(tlsSocket({ authorized: false, authorizationError: new Error("no code") })).tls?.authorizationError, "no code");
  assert.equal(peerOf(tlsSocket({ authorizationError: undefined })).tls?.authorizationError, undefined);
  const x509 = { subject: "CN=client-b", subjectAltName: "DNS:b.test", fingerprint256: "CD", validTo: "y" };
  assert.deepEqual(peerOf(tlsSocket({ getPeerX509Certificate: () => x509 })).tls?.cert, {
    cn: "client-b",
    subject: "CN=client-b",
    uris: [],
    dnsNames: ["b.test"],
    fingerprint256: "CD",
    validTo: "y",
  });
  assert.equal(peerOf(tlsSocket({ encrypted: undefined })).tls, undefined, "not encrypted: no tls");
  assert.deepEqual(splitAltNames('DNS:"a\\'), ['DNS:"a\\'], "an escape at the very end");
  assert.deepEqual(splitAltNames('DNS:"a'), ['DNS:"a'], "a quote never closed is kept as it came");
});
