/**
 * Token auth: `meta.token` checked against the tokens in config, or by a
 * verify function (which may be async and may use DI through ctx.container).
 * No or an unknown token: UNAUTHENTICATED. A principal that lacks a scope the
 * handler requires (`@Rpc(name, { scopes: ["admin"] })`): PERMISSION_DENIED.
 * Handlers marked `public: true` skip it.
 */
import { RpcError } from "../errors.ts";

import type { MiddlewareFn, MiddlewareContext } from "./types.ts";

const NONE: readonly string[] = [];

export interface Principal {
  /** Who it is, for logs. */
  readonly id?: string;
  readonly scopes?: readonly string[];
  readonly [key: string]: unknown;
}

export interface AuthOptions {
  /** Accepted tokens: a list (all scopes), or token -> principal. */
  tokens?: readonly string[] | Readonly<Record<string, Principal>>;
  /** Decides instead of (or after) the token list: a principal, or null to refuse. */
  verify?: (token: string, ctx: MiddlewareContext) => Principal | null | undefined | Promise<Principal | null | undefined>;
}

const ALL_SCOPES: Principal = { scopes: ["*"] };

export function auth(options: AuthOptions): MiddlewareFn {
  const tokens = tokenTable(options.tokens);
  return async (ctx, next) => {
    const token = ctx.request.meta.token;
    if (typeof token !== "string" || token === "") throw new RpcError("UNAUTHENTICATED", "meta.token is required");
    let principal: Principal | null | undefined = tokens.get(token);
    if (principal === undefined && options.verify !== undefined) principal = await options.verify(token, ctx);
    if (principal === undefined || principal === null) throw new RpcError("UNAUTHENTICATED", "the token is not valid");
    const scopes = ctx.handler.scopes;
    const missing = scopes === undefined || scopes.length === 0 ? NONE : scopes.filter((scope) => !hasScope(principal, scope));
    if (missing.length > 0) {
      throw new RpcError("PERMISSION_DENIED", `${ctx.request.method} needs scope ${missing.map((s) => `"${s}"`).join(", ")}`);
    }
    ctx.state.principal = principal;
    await next();
  };
}

function tokenTable(tokens: AuthOptions["tokens"]): Map<string, Principal> {
  if (tokens === undefined) return new Map();
  if (Array.isArray(tokens)) return new Map(tokens.map((t) => [t, ALL_SCOPES]));
  return new Map(Object.entries(tokens as Record<string, Principal>));
}

function hasScope(principal: Principal, scope: string): boolean {
  // A verify() in plain JS may return a string: "superadmin" must not grant "admin".
  const scopes = Array.isArray(principal.scopes) ? principal.scopes : [];
  return scopes.includes("*") || scopes.includes(scope);
}
