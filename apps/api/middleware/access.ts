/**
 * Who may call a route, declared in the route's own `createRoute({...})` by spreading one access level:
 * `...access.admin`. Each level gives the guard that enforces it (`middleware`), the OpenAPI
 * `security` that documents it, and `x-access` naming it, so enforcement and docs come from one
 * declaration and a test can hold every route to exactly one level (test/apps/api/access.security.test.ts).
 *
 * `authenticate()` (who is calling) stays global; these guards judge only whether that caller may.
 * Node tokens reach only the node levels: `admin`, `read` and `any` refuse them.
 */
import type { Context, MiddlewareHandler, Next } from "hono";
import type { NodeClaim } from "../../../src/auth/index.js";
import { safeEqual, sha256Hex } from "../../../src/crypto/index.js";
import type { AppEnv } from "../env.js";
import { authenticated } from "../http/envelope.js";
import { problem } from "../http/problem.js";
import { checksNodeTokenItself, INVALID_CREDENTIAL, isAllowed } from "./auth.js";

export type AccessLevel =
  /** Anyone, with or without credentials (health, sign-in, sign-out). */
  | "public"
  /** Any authenticated user or API key, whatever its scopes (not a node token). */
  | "any"
  /** The `read` or `admin` scope for reads; a route that changes things still needs `admin`. */
  | "read"
  /** The `admin` scope. */
  | "admin"
  /** The token of the node named by the path's `{id}`, and nobody else. */
  | "node-self"
  /** Any node's own token (the route acts on the calling node only), and nobody else. */
  | "node"
  /** The token of the node named by the path's `{id}`, or the `admin` scope. */
  | "node-self-or-admin"
  /**
   * Any node's token (the route itself limits a node to its own matters, e.g. `clientId`), or the
   * `admin` scope. Users and read keys: 403.
   */
  | "node-or-admin"
  /**
   * An enrollment key, which the route itself verifies (it is no principal); a node re-registering
   * adds its own token, and any other caller needs the `admin` scope.
   */
  | "enrollment"
  /** `Authorization: Bearer <METRICS_TOKEN>` when one is configured, anyone otherwise. */
  | "metrics"
  /**
   * The live event stream: any authenticated caller, node tokens included (each reaches only the
   * rooms it may read), or a stream token in `?token=`, which the route itself verifies.
   */
  | "stream";

type SecurityRequirement = { [scheme: string]: string[] };

/** What a route spreads into `createRoute`: its guard, its OpenAPI security and its level's name. */
export interface RouteAccess {
  middleware: MiddlewareHandler<AppEnv>;
  security: SecurityRequirement[];
  "x-access": AccessLevel;
}

/** Each guard's level, so a test can tell a route's first handler is its guard (`accessOf`). */
const levels = new WeakMap<MiddlewareHandler<AppEnv>, AccessLevel>();

/** The access level a handler enforces, when it is one of these guards. */
export const accessOf = (handler: unknown): AccessLevel | undefined =>
  levels.get(handler as MiddlewareHandler<AppEnv>);

const NEEDS_CREDENTIALS = "send an API key in X-API-Key (or ?api_key=) or a Bearer token";

/** Messages a route may word for itself (the guard's defaults name no route). */
export interface AccessMessages {
  /** The 401 detail for a caller without credentials. */
  unauthenticated?: string;
  /** The 403 detail for a caller whose credentials do not reach this route. */
  forbidden?: string;
}

const unauthenticated = (c: Context<AppEnv>, detail = NEEDS_CREDENTIALS) =>
  problem(c, 401, "UNAUTHENTICATED", detail);

/** Guards a route by scope: 401 without credentials, 403 without the scope (and for node tokens). */
function scopeGuard(level: "any" | "read" | "admin", messages: AccessMessages): MiddlewareHandler<AppEnv> {
  const scope = level === "read" ? "by-method" : level;
  return async (c, next) => {
    const principal = c.get("principal");
    if (!principal) return unauthenticated(c, messages.unauthenticated);
    if (!isAllowed(principal, c.req.method, scope)) {
      const detail =
        messages.forbidden ?? (level === "admin" ? "this needs an admin" : "this key may only read");
      return problem(c, 403, "FORBIDDEN", detail);
    }
    await next();
  };
}

/**
 * The node's own token for the `{id}` in the path (another node's token gets 404, learning nothing,
 * not even that the node exists); with `orAdmin`, an admin too. Everyone else: 401 or 403.
 */
function nodeSelfGuard(orAdmin: boolean, messages: AccessMessages): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    const claim = c.get("nodeClaim");
    if (!principal && claim) return settleNodeClaim(c, next, claim);
    if (!principal) return unauthenticated(c, messages.unauthenticated);
    if (principal.kind === "node") {
      // Compared before the path is validated: a node's id is a UUID, so anything else is not it.
      const id = c.req.param("id");
      if (principal.id !== id) return problem(c, 404, "NODE_NOT_FOUND", `node ${id} does not exist`);
      return next();
    }
    if (orAdmin && isAllowed(principal, c.req.method, "admin")) return next();
    return problem(c, 403, "FORBIDDEN", messages.forbidden ?? "this is for the node's own token");
  };
}

/**
 * A node token its route checks itself (`checksNodeTokenItself`): the route runs and sets the
 * node's principal once its statement matched the path's node and the token's hash. Whatever it did
 * not verify (a wrong, old or deleted node's token, another node's, a path or body that failed
 * validation, a route that failed) is settled by the lookup `authenticate` would have made, and
 * answered as it would have been: an unknown token 401, another node's 404.
 * IMPORTANT: such a route changes nothing unless its statement matched the token: it may not act on
 * the claim before.
 */
async function settleNodeClaim(c: Context<AppEnv>, next: Next, claim: NodeClaim): Promise<void> {
  await next();
  if (c.get("principal")) return;
  const principal = await c.var.services.nodeAuth.authenticateNodeClaim(claim);
  if (!principal) {
    c.res = problem(c, 401, "UNAUTHENTICATED", INVALID_CREDENTIAL);
    return;
  }
  c.set("principal", principal);
  const id = c.req.param("id");
  if (principal.id !== id) c.res = problem(c, 404, "NODE_NOT_FOUND", `node ${id} does not exist`);
}

/** Any node's token, or an admin; 401 without credentials, 403 for everyone else. */
function nodeOrAdminGuard(messages: AccessMessages): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (!principal) return unauthenticated(c, messages.unauthenticated);
    if (principal.kind === "node" || isAllowed(principal, c.req.method, "admin")) return next();
    return problem(c, 403, "FORBIDDEN", messages.forbidden ?? "this is for nodes' own tokens and admins");
  };
}

/** A node token, whichever node's; users and keys get 403. */
function nodeGuard(messages: AccessMessages): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (!principal) return unauthenticated(c, messages.unauthenticated);
    if (principal.kind !== "node")
      return problem(c, 403, "FORBIDDEN", messages.forbidden ?? "this is for a node's own token");
    await next();
  };
}

/** Anonymous callers and nodes go on to the route's enrollment key check; others need admin. */
function enrollmentGuard(messages: AccessMessages): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (!principal || principal.kind === "node") return next();
    if (!isAllowed(principal, c.req.method, "admin"))
      return problem(c, 403, "FORBIDDEN", messages.forbidden ?? "this needs an enrollment key");
    await next();
  };
}

/** `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time) when one is set; 401 otherwise. */
const metricsGuard = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  const expected = c.get("metricsTokenHash");
  if (expected === undefined) return next();
  const header = c.req.header("authorization") ?? "";
  const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
  if (safeEqual(sha256Hex(given), expected)) return next();
  c.header("WWW-Authenticate", 'Bearer realm="metrics"');
  return problem(c, 401, "UNAUTHENTICATED", "/metrics needs Authorization: Bearer <METRICS_TOKEN>");
};

/** A principal of any kind, or a `?token=` for the route to verify; 401 for neither. */
function streamGuard(messages: AccessMessages): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("principal") || c.req.query("token")) return next();
    return unauthenticated(
      c,
      messages.unauthenticated ??
        `${NEEDS_CREDENTIALS}, a node token, the session cookie or ?token=<stream token>`,
    );
  };
}

const open = (): MiddlewareHandler<AppEnv> => async (_c, next) => {
  await next();
};

/**
 * One access level with the route's own wording of its refusals. `checksNodeToken` (the node-self
 * levels): the route checks the node token in its own statement (see `settleNodeClaim`).
 */
export function guard(
  level: AccessLevel,
  messages: AccessMessages = {},
  options: { checksNodeToken?: boolean } = {},
): RouteAccess {
  const declared = declare(level, messages);
  levels.set(declared.middleware, level);
  if (options.checksNodeToken) {
    if (level !== "node-self" && level !== "node-self-or-admin")
      throw new Error(`checksNodeToken is for the node-self levels, not ${level}`);
    checksNodeTokenItself(declared.middleware);
  }
  return declared;
}

function declare(level: AccessLevel, messages: AccessMessages): RouteAccess {
  switch (level) {
    case "public":
      return { middleware: open(), security: [], "x-access": level };
    case "any":
    case "read":
    case "admin":
      return { middleware: scopeGuard(level, messages), security: authenticated, "x-access": level };
    case "node-self":
      return { middleware: nodeSelfGuard(false, messages), security: [{ nodeToken: [] }], "x-access": level };
    case "node":
      return { middleware: nodeGuard(messages), security: [{ nodeToken: [] }], "x-access": level };
    case "node-self-or-admin":
      return {
        middleware: nodeSelfGuard(true, messages),
        security: [...authenticated, { nodeToken: [] }],
        "x-access": level,
      };
    case "node-or-admin":
      return {
        middleware: nodeOrAdminGuard(messages),
        security: [...authenticated, { nodeToken: [] }],
        "x-access": level,
      };
    case "enrollment":
      return { middleware: enrollmentGuard(messages), security: [{ enrollmentKey: [] }], "x-access": level };
    case "metrics":
      return { middleware: metricsGuard(), security: [{ metricsToken: [] }], "x-access": level };
    case "stream":
      return {
        middleware: streamGuard(messages),
        security: [...authenticated, { nodeToken: [] }, { streamToken: [] }],
        "x-access": level,
      };
  }
}

/** The access levels with their default wording, for routes to spread: `...access.admin`. */
export const access = {
  public: guard("public"),
  any: guard("any"),
  read: guard("read"),
  admin: guard("admin"),
  nodeSelf: guard("node-self"),
  node: guard("node"),
  nodeSelfOrAdmin: guard("node-self-or-admin"),
  nodeOrAdmin: guard("node-or-admin"),
  enrollment: guard("enrollment"),
  metrics: guard("metrics"),
  stream: guard("stream"),
} as const satisfies Record<string, RouteAccess>;
