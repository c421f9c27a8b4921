/**
 * Who is calling. `authenticate` resolves the principal from, in order: `X-API-Key`, the `api_key`
 * query parameter, `Authorization: Bearer` (an API key or a session token) and the dashboard's
 * session cookie. Presented-but-wrong credentials answer 401 at once; none at all leaves the
 * principal unset for the route's guard (`access.ts`) to judge. A stale session cookie counts as
 * none (and is cleared), so a browser holding one can still reach sign-in.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { matchedRoutes } from "hono/route";
import type { Principal } from "../../../src/auth/index.js";
import { nodeClaimOf } from "../../../src/auth/index.js";
import type { AppEnv } from "../env.js";
import { problem } from "../http/problem.js";
import { clearSessionCookie, SESSION_COOKIE } from "../http/session-cookie.js";

interface Credential {
  kind: "api-key" | "token" | "node-token";
  value: string;
  /** Sent by the browser on its own (the session cookie), not chosen by the caller's code. */
  isAmbient?: boolean;
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The 401 detail for a credential that is presented but not valid. */
export const INVALID_CREDENTIAL = "the API key or token is not valid (unknown, revoked or expired)";

/** Route guards whose route checks a node token itself (see `checksNodeTokenItself`). */
const checkingNodeTokens = new WeakSet<MiddlewareHandler<AppEnv>>();

/**
 * Marks a route's guard as one whose route checks a presented node token itself, in the statement
 * that reads or writes the node (`WHERE id = … AND token_hash = …`): `authenticate` then leaves the
 * token unresolved (`c.var.nodeClaim`), saving the lookup's round trip, and the guard settles what
 * the route did not verify (`settleNodeClaim` in access.ts).
 */
export function checksNodeTokenItself(guard: MiddlewareHandler<AppEnv>): void {
  checkingNodeTokens.add(guard);
}

const routeChecksNodeToken = (c: Context<AppEnv>): boolean =>
  matchedRoutes(c).some((route) => checkingNodeTokens.has(route.handler as MiddlewareHandler<AppEnv>));

/**
 * Bearer values by family: `wsk_` API keys, `wsn_` node tokens, `wse_` enrollment keys, else a JWT or
 * the bootstrap `API_KEY` in a form of the operator's choosing (tried in that order).
 */
function bearerKind(value: string): Credential["kind"] | "enrollment-key" {
  if (value.startsWith("wsk_")) return "api-key";
  if (value.startsWith("wsn_")) return "node-token";
  if (value.startsWith("wse_")) return "enrollment-key";
  return "token";
}

function presentedCredential(c: Context<AppEnv>): Credential | undefined {
  const header = c.req.header("x-api-key");
  if (header) return { kind: "api-key", value: header.trim() };
  const query = c.req.query("api_key");
  if (query) return { kind: "api-key", value: query.trim() };
  const nodeToken = c.req.header("x-node-token");
  if (nodeToken) return { kind: "node-token", value: nodeToken.trim() };
  const authorization = c.req.header("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return { kind: "token", value: "" };
    const value = match[1]!;
    const kind = bearerKind(value);
    // Enrollment keys are read by the one route that takes them, not here.
    return kind === "enrollment-key" ? undefined : { kind, value };
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie) return { kind: "token", value: cookie, isAmbient: true };
  return undefined;
}

/**
 * Resolves the caller; 401 for credentials that are presented but not valid, unless `isOptional`
 * (a public route that only shows an admin more, such as readiness): then they count as none.
 */
export function authenticate(options: { isOptional?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const credential = presentedCredential(c);
    if (credential?.kind === "node-token" && !options.isOptional && routeChecksNodeToken(c)) {
      const claim = nodeClaimOf(credential.value);
      if (claim) {
        c.set("nodeClaim", claim);
        return next();
      }
    }
    if (credential) {
      const { auth, nodeAuth } = c.var.services;
      const resolve = async () =>
        credential.value === ""
          ? undefined
          : credential.kind === "api-key"
            ? await auth.authenticateApiKey(credential.value)
            : credential.kind === "node-token"
              ? await nodeAuth.authenticateNodeToken(credential.value)
              : ((await auth.authenticateToken(credential.value)) ??
                // A configured API_KEY may have any form, and `Bearer <API_KEY>` must work as documented.
                (credential.isAmbient ? undefined : await auth.authenticateApiKey(credential.value)));
      // An optional caller the database cannot identify right now is anonymous (readiness says why).
      const principal = options.isOptional ? await resolve().catch(() => undefined) : await resolve();
      if (!principal && (credential.isAmbient || options.isOptional)) {
        if (!credential.isAmbient) return next();
        clearSessionCookie(c);
        return next();
      }
      if (!principal) {
        return problem(c, 401, "UNAUTHENTICATED", INVALID_CREDENTIAL);
      }
      // IMPORTANT: SameSite=Strict keeps other sites' requests from carrying the cookie, but not
      // sibling subdomains' (same-site); browsers label both, so changes through the cookie must
      // come from this origin's own pages.
      if (credential.isAmbient && !READ_METHODS.has(c.req.method) && isFromAnotherOrigin(c)) {
        return problem(c, 403, "FORBIDDEN", "a session cookie may make changes only from this site's pages");
      }
      c.set("principal", principal);
    }
    await next();
  };
}

function isFromAnotherOrigin(c: Context<AppEnv>): boolean {
  const site = c.req.header("sec-fetch-site");
  return site === "cross-site" || site === "same-site";
}

export type Access =
  /** Reads need `read` or `admin`; anything else needs `admin`. */
  | "by-method"
  /** Everything needs `admin`. */
  | "admin"
  /** Any authenticated caller. */
  | "any";

/** Whether `principal` may make a request with `method` under `access`. */
export function isAllowed(principal: Principal, method: string, access: Access): boolean {
  if (principal.kind === "node") return false;
  if (principal.scopes.includes("admin")) return true;
  if (access === "admin") return false;
  if (access === "any") return true;
  return READ_METHODS.has(method) && principal.scopes.includes("read");
}

/**
 * Guards a mount that is no OpenAPI route (Bull Board): 401 without credentials, 403 without the
 * needed scope. API routes declare theirs with `...access.<level>` (see `access.ts`).
 */
export function requireAccess(access: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (!principal) {
      return problem(
        c,
        401,
        "UNAUTHENTICATED",
        "send an API key in X-API-Key (or ?api_key=) or a Bearer token",
      );
    }
    if (!isAllowed(principal, c.req.method, access)) {
      return problem(
        c,
        403,
        "FORBIDDEN",
        access === "admin" ? "this needs an admin" : "this key may only read",
      );
    }
    await next();
  };
}
