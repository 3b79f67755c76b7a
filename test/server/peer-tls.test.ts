import { test } from "node:test";
import assert from "node:assert/strict";
import { certificateOf, splitAltNames } from "../../src/server/peer-tls.ts";

test("subjectAltName splits on commas outside Node's JSON quotes", () => {
  assert.deepEqual(splitAltNames(undefined), []);
  assert.deepEqual(splitAltNames("DNS:a.test, URI:spiffe://td/x, IP Address:127.0.0.1"), ["DNS:a.test", "URI:spiffe://td/x", "IP Address:127.0.0.1"]);
  assert.deepEqual(splitAltNames('URI:"spiffe://td/a,b", DNS:c'), ["URI:spiffe://td/a,b", "DNS:c"]);
  assert.deepEqual(splitAltNames('DNS:"q\\"uote", DNS:d'), ['DNS:q"uote', "DNS:d"]);
});

test("a certificate's CN, URIs and DNS names", () => {
  const cert = certificateOf({ subject: "C=FR\nCN=client-a", subjectAltName: "URI:spiffe://td/a, DNS:a.test, DNS:b.test", fingerprint256: "AB", validTo: "x" });
  assert.deepEqual(cert, { cn: "client-a", subject: "C=FR\nCN=client-a", uris: ["spiffe://td/a"], dnsNames: ["a.test", "b.test"], fingerprint256: "AB", validTo: "x" });
  assert.equal(certificateOf({ subject: "O=x", subjectAltName: undefined, fingerprint256: "", validTo: "" }).cn, undefined);
});
