/**
 * auth({ mtls }): a principal from the client's certificate (table keyed by
 * the first URI SAN, else the CN, or a function), only when the handshake
 * authorized it; otherwise the token decides, as without mtls.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RpcError } from "../../src/errors.ts";
import { auth, certificateIdentity, type AuthOptions } from "../../src/middleware/auth.ts";
import type { MiddlewareContext } from "../../src/middleware/types.ts";
import type { PeerCertificate, PeerTls } from "../../src/request/context.ts";
import { validateConfig } from "../../src/config.ts";

const SPIFFE = "spiffe://forkrpc.test/billing";
const cert = (over: Partial<PeerCertificate> = {}): PeerCertificate => ({
  cn: "billing",
  subject: "CN=billing",
  uris: [SPIFFE],
  dnsNames: [],
  fingerprint256: "AA:BB",
  validTo: "Jan  1 00:00:00 2030 GMT",
  ...over,
});
const tlsOf = (authorized: boolean, c: PeerCertificate | null = cert()): PeerTls => ({
  authorized,
  authorizationError: authorized ? undefined : "CERT_HAS_EXPIRED",
  protocol: "TLSv1.3",
  resumed: false,
  cert: c ?? undefined,
});

async function run(options: AuthOptions, tls: PeerTls | undefined, meta: Record<string, unknown> = {}, scopes?: string[]) {
  const ctx = {
    request: { method: "m", params: null, id: 1, meta },
    state: {} as Record<string, unknown>,
    peer: { address: "127.0.0.1", port: 1, ...(tls === undefined ? {} : { tls }) },
    handler: { name: "m", out: "m", ...(scopes === undefined ? {} : { scopes }) },
  } as unknown as MiddlewareContext;
  try {
    await auth(options)(ctx, async () => {});
  } catch (error) {
    assert.ok(RpcError.is(error), String(error));
    return { code: error.code, message: error.message };
  }
  return { code: "ok", principal: ctx.state.principal };
}

const TABLE: AuthOptions = { mtls: { [SPIFFE]: { id: "billing", scopes: ["pay"] }, ops: { id: "ops", scopes: ["*"] } }, tokens: { tok: { id: "t", scopes: [] } } };

test("the identity is the first URI SAN, else the CN", () => {
  assert.equal(certificateIdentity(cert()), SPIFFE);
  assert.equal(certificateIdentity(cert({ uris: [] })), "billing");
  assert.equal(certificateIdentity(cert({ uris: [], cn: undefined })), undefined);
});

test("an authorized certificate in the table is the principal, and its scopes apply", async () => {
  assert.deepEqual(await run(TABLE, tlsOf(true), {}, ["pay"]), { code: "ok", principal: { id: "billing", scopes: ["pay"] } });
  assert.equal((await run(TABLE, tlsOf(true), {}, ["admin"])).code, "PERMISSION_DENIED");
  assert.deepEqual(await run(TABLE, tlsOf(true, cert({ uris: [], cn: "ops" })), {}, ["admin"]), { code: "ok", principal: { id: "ops", scopes: ["*"] } });
});

test("an unauthorized certificate, none, or one not in the table: the token decides", async () => {
  for (const tls of [tlsOf(false), undefined, tlsOf(true, null), tlsOf(true, cert({ uris: ["spiffe://x/y"] }))]) {
    const refused = await run(TABLE, tls);
    assert.equal(refused.code, "UNAUTHENTICATED");
    assert.match(refused.message ?? "", /client certificate or meta.token/);
    assert.deepEqual(await run(TABLE, tls, { token: "tok" }), { code: "ok", principal: { id: "t", scopes: [] } });
  }
});

test("a function decides from the certificate; null refuses", async () => {
  const fn: AuthOptions = { mtls: (c) => (c.cn === "billing" ? { id: c.fingerprint256 } : null) };
  assert.deepEqual(await run(fn, tlsOf(true)), { code: "ok", principal: { id: "AA:BB" } });
  assert.equal((await run(fn, tlsOf(true, cert({ cn: "other" })))).code, "UNAUTHENTICATED");
});

test("config: auth.mtls alone is enough; a table of non-objects is refused", () => {
  assert.doesNotThrow(() => validateConfig({ auth: { mtls: { a: { scopes: [] } } } }, "test"));
  assert.doesNotThrow(() => validateConfig({ auth: { mtls: () => null } }, "test"));
  assert.throws(() => validateConfig({ auth: { mtls: { a: "admin" } } }, "test"), /bad "mtls"/);
  assert.throws(() => validateConfig({ auth: {} }, "test"), /give tokens, verify or mtls/);
});

// Kills certificatePrincipal's `identity !== undefined && Object.hasOwn(...)`
// turned `true` or `||` (auth.ts:76): a certificate whose CN names a property
// every object inherits ("constructor", "toString") is in no table, and one
// without a CN or URI is no one.
test("a certificate named after an inherited property, or after nothing, is not in the table", async () => {
  for (const cn of ["constructor", "toString", "__proto__"]) {
    const r = await run(TABLE, tlsOf(true, cert({ uris: [], cn })), {}, []);
    assert.equal(r.code, "UNAUTHENTICATED", cn);
  }
  const withUndefinedKey: AuthOptions = { mtls: { undefined: { id: "nobody", scopes: ["*"] } } };
  assert.equal((await run(withUndefinedKey, tlsOf(true, cert({ uris: [], cn: undefined })), {}, [])).code, "UNAUTHENTICATED");
});

// Kills the missing-token message's choice turned `false` (auth.ts:55): without
// mtls configured, the client is not told a certificate would do.
test("no token: the message names what would be accepted", async () => {
  assert.deepEqual(await run({ tokens: ["t"] }, undefined), { code: "UNAUTHENTICATED", message: "meta.token is required" });
  assert.deepEqual(await run(TABLE, undefined), { code: "UNAUTHENTICATED", message: "an accepted client certificate or meta.token is required" });
});
