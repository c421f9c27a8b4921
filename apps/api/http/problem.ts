/**
 * Errors become HTTP here and only here: a `code → status` table, RFC 9457 problem+json bodies that
 * also carry `success: false` and `error: { code, message, details }` for clients of the envelope,
 * and the zod hook that renders validation failures the same way.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode } from "../../../src/errors.js";
import { DomainError, isDatabaseUnreachable } from "../../../src/errors.js";
import type { AppEnv } from "../env.js";
import { requestLogger } from "../middleware/observe.js";

export const STATUS_BY_CODE: Record<ErrorCode, ContentfulStatusCode> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  API_KEY_NOT_FOUND: 404,
  SYNC_RUN_NOT_FOUND: 404,
  NETWORK_NOT_FOUND: 404,
  NODE_NOT_FOUND: 404,
  CONFIG_LINK_NOT_FOUND: 404,
  CONFIG_LINK_GONE: 410,
  ENROLLMENT_KEY_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  DELIVERY_NOT_FOUND: 404,
  EMAIL_NOT_FOUND: 404,
  CONFLICT: 409,
  HUB_KEY_ROTATION_PENDING: 409,
  USER_EXISTS: 409,
  USER_NOT_FOUND: 404,
  USER_DISABLED: 403,
  LAST_ADMIN: 409,
  SYNC_RUN_FINISHED: 409,
  NETWORK_NAME_TAKEN: 409,
  NETWORK_OVERLAP: 409,
  NETWORK_HAS_NODES: 409,
  LISTEN_PORT_TAKEN: 409,
  PUBLIC_KEY_TAKEN: 409,
  NODE_NAME_TAKEN: 409,
  ADDRESS_POOL_EXHAUSTED: 409,
  ADDRESS_TAKEN: 409,
  ADDRESS_OUTSIDE_NETWORK: 422,
  ROUTE_TAKEN: 409,
  INTERFACE_NOT_MANAGED: 409,
  HUB_OWNER_ABSENT: 503,
  ENROLLMENT_KEY_INVALID: 401,
  NODE_IDENTITY_UNPROVEN: 403,
  NODE_ID_TAKEN: 409,
  TURN_NOT_CONFIGURED: 404,
  NO_RELAY_AVAILABLE: 404,
  NO_RELAY_FITS: 409,
  WEBHOOK_URL_REFUSED: 400,
  PAYLOAD_TOO_LARGE: 413,
  DEPENDENCY_UNAVAILABLE: 503,
  // The WireGuard daemon or tool failed (retry later) or answered something unreadable: our fault or
  // the host's, never the client's.
  WIREGUARD_UNAVAILABLE: 503,
  INTERFACE_FAULT: 502,
  TOO_MANY_ATTEMPTS: 429,
  TOO_MANY_STREAMS: 429,
  UPGRADE_REQUIRED: 426,
  RELAY_UNAVAILABLE: 503,
};

const TITLES: Partial<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    success: z.literal(false),
    code: z.string(),
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .openapi("Problem");

export type Problem = z.infer<typeof ProblemSchema>;

export const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** Spread into every route's `responses` so each error shape appears in the OpenAPI document. */
export const problemResponses = {
  400: { content: problemContent, description: "The request is malformed or fails validation" },
  401: { content: problemContent, description: "No valid credentials" },
  403: { content: problemContent, description: "The credentials lack the needed scope" },
  404: { content: problemContent, description: "No such resource" },
  409: { content: problemContent, description: "The request conflicts with the current state" },
  500: { content: problemContent, description: "An unexpected error; see the logs for this request id" },
} as const;

/** For routes that refuse callers over a limit (429 with `Retry-After`). */
export const tooManyResponse = {
  429: { content: problemContent, description: "Over a limit; retry after `Retry-After` seconds" },
} as const;

/** For routes that depend on a worker or an outside service answering. */
export const unavailableResponse = {
  503: { content: problemContent, description: "A dependency (worker, provider) did not answer" },
} as const;

/** Builds a problem body. */
export function problemBody(
  status: number,
  code: string,
  detail: string,
  requestId: string | undefined,
  details?: unknown,
): Problem {
  return {
    type: `https://wiresync.dev/problems/${code.toLowerCase().replaceAll("_", "-")}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    ...(requestId ? { instance: requestId } : {}),
    success: false,
    code,
    error: { code, message: detail, ...(details === undefined ? {} : { details }) },
  };
}

/** Sends a problem response. */
export function problem(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  detail: string,
  details?: unknown,
) {
  return c.body(JSON.stringify(problemBody(status, code, detail, c.get("requestId"), details)), status, {
    "Content-Type": "application/problem+json",
  });
}

/** Seconds a client is asked to wait (`Retry-After`) when the database cannot be reached. */
const UNREACHABLE_RETRY_SECONDS = 5;

/**
 * `app.onError`: domain errors by table, HTTP exceptions by their status, a database that cannot be
 * reached a logged 503 (the request may succeed when retried), anything else a logged 500.
 */
export function onError(err: Error, c: Context<AppEnv>) {
  if (err instanceof DomainError) {
    const status = STATUS_BY_CODE[err.code];
    const retryAfter = err.context?.retryAfterSeconds;
    if (typeof retryAfter === "number") c.header("Retry-After", String(Math.max(1, Math.ceil(retryAfter))));
    // The client's address makes refused sign-ins (and other refusals) traceable to a source.
    requestLogger(c)?.info({ code: err.code, status, client: c.get("client")?.address }, "request refused");
    return problem(c, status, err.code, err.message, err.context);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = status === 400 ? "VALIDATION_FAILED" : status === 401 ? "UNAUTHENTICATED" : `HTTP_${status}`;
    return problem(c, status, code, err.message || TITLES[status] || "request failed");
  }
  if (isDatabaseUnreachable(err)) {
    requestLogger(c)?.error({ err }, "request failed: the database cannot be reached");
    c.header("Retry-After", String(UNREACHABLE_RETRY_SECONDS));
    return problem(
      c,
      503,
      "DEPENDENCY_UNAVAILABLE",
      "the database cannot be reached right now; retry shortly",
    );
  }
  requestLogger(c)?.error({ err }, "request failed");
  return problem(c, 500, "INTERNAL", "an unexpected error occurred; quote the request id when reporting it");
}

/** `new OpenAPIHono({ defaultHook })`: zod failures become 400 problems listing each bad field. */
export function validationHook(
  result: { success: true } | { success: false; error: z.ZodError },
  c: Context<AppEnv>,
): Response | undefined {
  if (result.success) return undefined;
  const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
  const first = issues[0];
  const detail = first ? `${first.path || "body"}: ${first.message}` : "request validation failed";
  return problem(c, 400, "VALIDATION_FAILED", detail, { issues });
}
