/**
 * auth(): meta.token against a token table (list or token -> principal),
 * then an optional async verify; scopes; principal in ctx.state.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RpcError } from "../../src/errors.ts";
import { auth, type AuthOptions } from "../../src/middleware/auth.ts";
import type { MiddlewareContext } from "../../src/middleware/types.ts";

function fakeContext(meta: Record<string, unknown>, scopes?: string[]) {
  return {
    request: { method: "m", params: null, id: 1, meta },
    response: { out: "m", result: undefined },
    state: {} as Record<string, unknown>,
    handler: { name: "m", out: "m", ...(scopes === undefined ? {} : { scopes }) },
  } as unknown as MiddlewareContext;
}

/** Runs auth on one request: the code it refused with, or "ok" and the principal. */
async function run(options: AuthOptions, meta: Record<string, unknown>, scopes?: string[]): Promise<{ code: string; principal?: unknown }> {
  const ctx = fakeContext(meta, scopes);
  let reached = false;
  try {
    await auth(options)(ctx, async () => void (reached = true));
  } catch (error) {
    assert.ok(RpcError.is(error), String(error));
    assert.equal(reached, false);
    return { code: error.code };
  }
  assert.equal(reached, true);
  return { code: "ok", principal: ctx.state.principal };
}

const TABLE: AuthOptions = { tokens: { "t-user": { id: "user", scopes: ["read"] }, "t-admin": { id: "admin", scopes: ["admin"] } } };

test("no token, an empty one, or one that is not a string: UNAUTHENTICATED", async () => {
  for (const meta of [{}, { token: "" }, { token: 42 }, { token: null }, { token: ["t-user"] }]) {
    assert.deepEqual(await run(TABLE, meta), { code: "UNAUTHENTICATED" }, JSON.stringify(meta));
  }
});

test("an unknown token: UNAUTHENTICATED; a known one puts its principal in ctx.state", async () => {
  assert.deepEqual(await run(TABLE, { token: "nope" }), { code: "UNAUTHENTICATED" });
  assert.deepEqual(await run(TABLE, { token: "__proto__" }), { code: "UNAUTHENTICATED" });
  assert.deepEqual(await run(TABLE, { token: "t-user" }), { code: "ok", principal: { id: "user", scopes: ["read"] } });
});

test("scopes: every required scope, or PERMISSION_DENIED", async () => {
  assert.deepEqual(await run(TABLE, { token: "t-user" }, ["admin"]), { code: "PERMISSION_DENIED" });
  assert.equal((await run(TABLE, { token: "t-admin" }, ["admin"])).code, "ok");
  assert.deepEqual(await run(TABLE, { token: "t-admin" }, ["admin", "read"]), { code: "PERMISSION_DENIED" });
});

test("a list of plain tokens grants every scope", async () => {
  const r = await run({ tokens: ["a", "b"] }, { token: "b" }, ["admin", "anything"]);
  assert.equal(r.code, "ok");
  assert.deepEqual(r.principal, { scopes: ["*"] });
});

test("verify decides tokens the table does not know, may be async, and sees ctx", async () => {
  const calls: string[] = [];
  const options: AuthOptions = {
    ...TABLE,
    verify: async (token, ctx) => {
      calls.push(`${token}@${ctx.request.method}`);
      await new Promise((resolve) => setImmediate(resolve));
      return token === "v-ok" ? { id: "verified", scopes: ["admin"] } : token === "v-undef" ? undefined : null;
    },
  };
  assert.deepEqual(await run(options, { token: "v-ok" }, ["admin"]), { code: "ok", principal: { id: "verified", scopes: ["admin"] } });
  assert.deepEqual(await run(options, { token: "v-no" }), { code: "UNAUTHENTICATED" });
  assert.deepEqual(await run(options, { token: "v-undef" }), { code: "UNAUTHENTICATED" });
  assert.equal((await run(options, { token: "t-user" })).code, "ok");
  assert.deepEqual(calls, ["v-ok@m", "v-no@m", "v-undef@m"], "not asked about tokens in the table");
});

test("verify alone (no table)", async () => {
  const options: AuthOptions = { verify: (token) => (token === "x" ? { id: "x" } : null) };
  assert.equal((await run(options, { token: "x" })).code, "ok");
  assert.deepEqual(await run(options, { token: "x" }, ["admin"]), { code: "PERMISSION_DENIED" }, "a principal without scopes has none");
  assert.deepEqual(await run(options, { token: "y" }), { code: "UNAUTHENTICATED" });
});

test("a verify that throws rejects with its error (INTERNAL on the wire)", async () => {
  const options: AuthOptions = { verify: async () => { throw new Error("db down"); } };
  await assert.rejects(auth(options)(fakeContext({ token: "x" }), async () => {}) as Promise<void>, /db down/);
});

// Mutant this kills (issue 18, survivor 2): `Array.isArray(principal.scopes) ?
// principal.scopes : []` replaced by `principal.scopes ?? []`. Then a string
// went through String.prototype.includes: "superadmin" granted "admin", and
// any string holding "*" granted every scope.
test("scopes that are not an array (a plain-JS verify) grant nothing", async () => {
  const cases: unknown[] = ["superadmin", "*", "x*y", "admin", { includes: () => true }, { 0: "admin", length: 1 }];
  for (const scopes of cases) {
    const options = { verify: () => ({ id: "js", scopes }) } as unknown as AuthOptions;
    assert.deepEqual(await run(options, { token: "t" }, ["admin"]), { code: "PERMISSION_DENIED" }, JSON.stringify(scopes));
    assert.equal((await run(options, { token: "t" })).code, "ok", "a method needing no scope is still allowed");
  }
});

// Survivors of npm run mutate (middleware): a missing or non-string token
// must be refused before verify() sees it, and the messages must say why.
test("verify never sees a missing, empty or non-string token", async () => {
  const seen: unknown[] = [];
  const options: AuthOptions = { verify: (token) => (seen.push(token), { id: "anyone" }) };
  for (const meta of [{}, { token: "" }, { token: 42 }, { token: { a: 1 } }]) {
    assert.deepEqual(await run(options, meta), { code: "UNAUTHENTICATED" }, JSON.stringify(meta));
  }
  assert.deepEqual(seen, []);
});

test("refusals say why: no token, a token not accepted, the scopes missing", async () => {
  const message = async (meta: Record<string, unknown>, scopes?: string[]) => {
    try {
      await auth(TABLE)(fakeContext(meta, scopes), async () => {});
    } catch (error) {
      return (error as Error).message;
    }
    return "allowed";
  };
  assert.match(await message({}), /meta\.token is required/);
  assert.match(await message({ token: "nope" }), /not valid/);
  assert.equal(await message({ token: "t-user" }, ["admin", "read", "write"]), 'm needs scope "admin", "write"');
});
