import { test } from "node:test";
import assert from "node:assert/strict";
import { certificateOf, splitAltNames } from "../../src/server/peer-tls.ts";

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
