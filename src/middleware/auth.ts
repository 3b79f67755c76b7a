/**
 * Token auth: `meta.token` checked against the tokens in config, or by a
 * verify function (which may be async and may use DI through ctx.container).
 * No or an unknown token: UNAUTHENTICATED. A principal that lacks a scope the
 * handler requires (`@Rpc(name, { scopes: ["admin"] })`): PERMISSION_DENIED.
 * Handlers marked `public: true` skip it.
 *
 * With `mtls`, a connection whose client certificate was authorized
 * (config.tls.clientAuth "request" or "require") is its own credential: the
 * certificate's identity (its first URI SAN, a SPIFFE id, else its CN) is
 * looked up in the table, or the function decides; no principal found, the
 * token is checked as before.
 */
import { RpcError } from "../errors.ts";
import type { PeerCertificate } from "../request/context.ts";

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
  /**
   * Principals from authorized client certificates: identity -> principal
   * (identity: the first URI SAN, else the CN), or a function of the certificate.
   */
  mtls?: Readonly<Record<string, Principal>> | ((cert: PeerCertificate, ctx: MiddlewareContext) => Principal | null | undefined | Promise<Principal | null | undefined>);
}

/** A certificate's identity for `mtls` tables: its first URI SAN (a SPIFFE id), else its CN. */
export function certificateIdentity(cert: PeerCertificate): string | undefined {
  return cert.uris[0] ?? cert.cn;
}

const ALL_SCOPES: Principal = { scopes: ["*"] };

export function auth(options: AuthOptions): MiddlewareFn {
  const tokens = tokenTable(options.tokens);
  const fromCert = options.mtls;
  return async (ctx, next) => {
    let principal: Principal | null | undefined = fromCert === undefined ? undefined : await certificatePrincipal(fromCert, ctx);
    if (principal === undefined || principal === null) {
      const token = ctx.request.meta.token;
      if (typeof token !== "string" || token === "") {
        throw new RpcError("UNAUTHENTICATED", fromCert === undefined ? "meta.token is required" : "an accepted client certificate or meta.token is required");
      }
      principal = tokens.get(token);
      if (principal === undefined && options.verify !== undefined) principal = await options.verify(token, ctx);
      if (principal === undefined || principal === null) throw new RpcError("UNAUTHENTICATED", "the token is not valid");
    }
    const scopes = ctx.handler.scopes;
    const missing = scopes === undefined || scopes.length === 0 ? NONE : scopes.filter((scope) => !hasScope(principal, scope));
    if (missing.length > 0) {
      throw new RpcError("PERMISSION_DENIED", `${ctx.request.method} needs scope ${missing.map((s) => `"${s}"`).join(", ")}`);
    }
    ctx.state.principal = principal;
    await next();
  };
}

async function certificatePrincipal(mtls: NonNullable<AuthOptions["mtls"]>, ctx: MiddlewareContext): Promise<Principal | null | undefined> {
  const tls = ctx.peer.tls;
  if (tls === undefined || !tls.authorized || tls.cert === undefined) return undefined;
  if (typeof mtls === "function") return mtls(tls.cert, ctx);
  const identity = certificateIdentity(tls.cert);
  return identity !== undefined && Object.hasOwn(mtls, identity) ? mtls[identity] : undefined;
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
