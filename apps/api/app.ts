/**
 * `createApp(deps)`: the one place the HTTP app is assembled, used by every entry point and by tests.
 * It wires middleware (request id and security headers, logs and metrics, authentication), routes (each declaring its own
 * guard, see `middleware/access.ts`), the OpenAPI document, `/docs`, Bull Board and the dashboard.
 * It starts nothing and opens no connection.
 */
import type { IncomingMessage } from "node:http";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { TrustProxy } from "../../src/config.js";
import { sha256Hex } from "../../src/crypto/index.js";
import type { Logger } from "../../src/logger.js";
import type { ConfigFeed, StreamSlots } from "../../src/mesh/index.js";
import { redisStreamSlots } from "../../src/mesh/index.js";
import type { Metrics } from "../../src/metrics/index.js";
import type { Platform } from "../../src/platform.js";
import { mountDashboard } from "../dashboard/mount.js";
import type { BoardQueues } from "./board.js";
import { BOARD_PATH, mountBoard } from "./board.js";
import { mountDocs } from "./docs.js";
import type { AppEnv, Services } from "./env.js";
import { identifyClient, proxyTrust } from "./http/client.js";
import { onError, problem, validationHook } from "./http/problem.js";
import { setSessionCookie } from "./http/session-cookie.js";
import { authenticate, requireAccess } from "./middleware/auth.js";
import { inputGuard } from "./middleware/input-guard.js";
import { observe } from "./middleware/observe.js";
import { identifyRequest, stampResponse } from "./middleware/response-headers.js";
import { registerRoutes } from "./routes/index.js";

const MAX_BODY_BYTES = 1024 * 1024;

export interface AppDeps {
  services: Services;
  /** Source of config announcements for agent streams (opens a Redis subscriber on first use). */
  configFeed: () => ConfigFeed;
  logger: Logger;
  metrics: Metrics;
  /** Queues shown in Bull Board (a reading made again now and then); omit to leave the board out. */
  queues?: BoardQueues;
  /** Lifetime of the browser session cookie. */
  sessionTtlSeconds: number;
  /** When set, `/metrics` answers only to `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string | undefined;
  /** `PUBLIC_URL`: on https, session cookies are always Secure. */
  publicUrl?: string | undefined;
  /** `TRUST_PROXY`: whose forwarding headers count; none unless given. */
  trustProxy?: TrustProxy;
  /** `CORS_ORIGINS`: browser origins allowed to call `/api`; none unless given. */
  corsOrigins?: readonly string[];
  /** Counts each node's open config streams (a node may hold only a few at once). */
  streamSlots: StreamSlots;
  version?: string;
}

/** What entry points pass from `config.http` (and tests choose). */
export type HttpOptions = Pick<AppDeps, "metricsToken" | "publicUrl" | "trustProxy" | "corsOrigins">;

export type App = OpenAPIHono<AppEnv>;

/** The app of a platform, as every entry point serves it: its services, metrics, queues and logger. */
export function createPlatformApp(
  platform: Platform,
  sessionTtlSeconds: number,
  options: HttpOptions = {},
): App {
  return createApp({
    services: platform.services,
    configFeed: () => platform.configFeed(),
    logger: platform.logger,
    metrics: platform.metrics,
    queues: async () => Object.values(await platform.services.stats.observedQueues()),
    sessionTtlSeconds,
    streamSlots: redisStreamSlots(platform.redis, platform.redisPrefix),
    ...options,
  });
}

export function createApp(deps: AppDeps): App {
  const app = new OpenAPIHono<AppEnv>({ strict: false, defaultHook: validationHook });
  const metricsTokenHash = deps.metricsToken ? sha256Hex(deps.metricsToken) : undefined;

  // Everything each request needs before its route, in one middleware: each layer costs hono an
  // async frame, a promise and a closure per request (four layers came to about 5 % of the
  // JavaScript a trivial request runs).
  const identify = identifyClient(proxyTrust(deps.trustProxy ?? { kind: "none" }), deps.publicUrl);
  const observer = observe(deps.logger, deps.metrics);
  const publicUrl = deps.publicUrl?.replace(/\/+$/, "");
  app.use(async (c, next) => {
    const headersSent = identifyRequest(c);
    identify(c);
    const started = observer.begin(c);
    c.set("services", deps.services);
    c.set("configFeed", deps.configFeed);
    c.set("streamSlots", deps.streamSlots);
    c.set("metricsTokenHash", metricsTokenHash);
    c.set("publicUrl", publicUrl);
    await next();
    observer.end(c, started);
    if (!headersSent) stampResponse(c);
  });
  app.use("/api/*", limitBody(MAX_BODY_BYTES));
  // Before authentication: a credential with a NUL in it must not reach a query either.
  app.use("/api/*", inputGuard());
  app.use("/admin/*", inputGuard());

  // Before authentication: a preflight carries no credentials.
  if (deps.corsOrigins?.length) app.use("/api/*", corsAllowlist(deps.corsOrigins));
  app.use("/api/*", authenticate());
  app.use("/admin/*", authenticate());
  app.use("/ws", inputGuard(), authenticate());
  // Public, but an admin caller sees which hub host serves each network.
  app.use("/health/ready", authenticate({ isOptional: true }));
  // Who may call each API route is declared with the route (`...access.<level>` in its createRoute).
  // The guard comes first: only a caller who may see the page gets a session cookie for it.
  app.use(`${BOARD_PATH}/*`, requireAccess("admin"), browserSession(deps));
  app.use(BOARD_PATH, requireAccess("admin"), browserSession(deps));

  registerRoutes(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "An API key; `?api_key=` works too",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "nodeToken", {
    type: "http",
    scheme: "bearer",
    description: "A node's own token (wsn_…), from registration or enrollment",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "enrollmentKey", {
    type: "http",
    scheme: "bearer",
    description: "An enrollment key (wse_…)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "streamToken", {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "A stream token (wst_…) from POST /api/v1/events/token: joins one room of the event stream",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "metricsToken", {
    type: "http",
    scheme: "bearer",
    description: "`METRICS_TOKEN`, when one is configured (`/metrics` is open otherwise)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A session token from POST /api/auth/login, or an API key",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "wiresync",
      version: deps.version ?? "0.1.0",
      description:
        "Control plane for WireGuard mesh VPNs. Successes are `{ success: true, data }`; errors are RFC 9457 problem+json bodies that also carry `success: false` and `error: { code, message }`.",
    },
  });
  mountDocs(app);
  if (deps.queues) mountBoard(app, deps.queues);
  mountDashboard(app);

  app.notFound((c) =>
    problem(c, 404, "NOT_FOUND", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`),
  );
  app.onError(onError);
  return app;
}

/**
 * hono's `bodyLimit`, without its first step where Node's HTTP server settles it: it asks
 * `c.req.raw.body`, which makes @hono/node-server build a full fetch `Request` (undici) for every
 * request, ~7 % of an agent request's CPU, and read the body through that. An HTTP/1.1 body without
 * `Transfer-Encoding` is exactly its `Content-Length` long (none: no body), which is all `bodyLimit`
 * looks at then; a chunked body, or a request made in process, still goes through `bodyLimit`.
 */
function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  const onError = (c: Context<AppEnv>) =>
    problem(c, 413, "PAYLOAD_TOO_LARGE", `request bodies are limited to ${maxSize} bytes`);
  const streamed = bodyLimit({ maxSize, onError });
  return async (c, next) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming?.headers || incoming.headers["transfer-encoding"] !== undefined) return streamed(c, next);
    const length = incoming.headers["content-length"];
    if (length !== undefined && Number.parseInt(length, 10) > maxSize) return onError(c);
    return next();
  };
}

/**
 * For browser pages behind the admin guard: a valid `?api_key=` becomes an HttpOnly, SameSite=Strict
 * session cookie and the browser is redirected to the same page without the key in its URL.
 */
function browserSession(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    const url = new URL(c.req.url);
    if (principal && c.req.method === "GET" && url.searchParams.has("api_key")) {
      const session = await deps.services.auth.issueSession(principal);
      setSessionCookie(c, session.token, deps.sessionTtlSeconds);
      url.searchParams.delete("api_key");
      return c.redirect(url.pathname + url.search, 303);
    }
    return next();
  };
}

/**
 * CORS for the listed origins only: their pages may call the API (credentials in headers, not
 * cookies: the session cookie is SameSite=Strict). Any other origin gets no CORS headers, and its
 * preflight a 403, so browsers refuse its pages the answers.
 */
function corsAllowlist(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  const allowed = new Set(origins);
  const allow = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["Authorization", "Content-Type", "X-API-Key", "X-Request-Id"],
    exposeHeaders: ["X-Request-Id", "Retry-After"],
    maxAge: 600,
  });
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin === undefined) return next();
    if (allowed.has(origin)) return allow(c, next);
    c.header("Vary", "Origin", { append: true });
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method"))
      return problem(c, 403, "FORBIDDEN", `origin ${origin} may not call this API (see CORS_ORIGINS)`);
    return next();
  };
}
