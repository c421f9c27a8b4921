/**
 * Domain errors. Every error a caller may branch on carries a closed `code`; the HTTP layer maps codes
 * to statuses in one table (apps/api/http/problem.ts). Messages name the bad value and the fix, and
 * never contain a secret.
 */

export const ERROR_CODES = [
  "VALIDATION_FAILED",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "HUB_KEY_ROTATION_PENDING",
  "INVALID_CREDENTIALS",
  "USER_EXISTS",
  "USER_NOT_FOUND",
  "USER_DISABLED",
  "LAST_ADMIN",
  "API_KEY_NOT_FOUND",
  "SYNC_RUN_NOT_FOUND",
  "SYNC_RUN_FINISHED",
  "NETWORK_NOT_FOUND",
  "NETWORK_NAME_TAKEN",
  "NETWORK_OVERLAP",
  "NETWORK_HAS_NODES",
  "LISTEN_PORT_TAKEN",
  "NODE_NOT_FOUND",
  "PUBLIC_KEY_TAKEN",
  "NODE_NAME_TAKEN",
  "ADDRESS_POOL_EXHAUSTED",
  "ADDRESS_TAKEN",
  "ADDRESS_OUTSIDE_NETWORK",
  "ROUTE_TAKEN",
  "ENROLLMENT_KEY_INVALID",
  "ENROLLMENT_KEY_NOT_FOUND",
  "NODE_IDENTITY_UNPROVEN",
  "NODE_ID_TAKEN",
  "TURN_NOT_CONFIGURED",
  "NO_RELAY_AVAILABLE",
  "NO_RELAY_FITS",
  "CONFIG_LINK_NOT_FOUND",
  "CONFIG_LINK_GONE",
  "WEBHOOK_NOT_FOUND",
  "WEBHOOK_URL_REFUSED",
  "DELIVERY_NOT_FOUND",
  "EMAIL_NOT_FOUND",
  "INTERFACE_NOT_MANAGED",
  "HUB_OWNER_ABSENT",
  "DEPENDENCY_UNAVAILABLE",
  "WIREGUARD_UNAVAILABLE",
  "INTERFACE_FAULT",
  "PAYLOAD_TOO_LARGE",
  "TOO_MANY_ATTEMPTS",
  "TOO_MANY_STREAMS",
  "UPGRADE_REQUIRED",
  "RELAY_UNAVAILABLE",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface DomainErrorOptions {
  cause?: unknown;
  /**
   * Non-secret facts that help a reader: ids, names, limits. Rendered as problem `details`; a
   * `retryAfterSeconds` number also becomes the `Retry-After` header.
   */
  context?: Record<string, unknown>;
}

/** Base of every error the domain throws on purpose. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DomainError";
    this.code = code;
    this.context = options.context;
  }
}

export const notFound = (code: ErrorCode, what: string, id: string) =>
  new DomainError(code, `${what} ${id} does not exist`, { context: { id } });

/** `err` and the errors it was caused by, outermost first (drivers and drizzle wrap each other). */
function* causes(err: unknown): Generator<Record<string, unknown>> {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++)
    if (typeof e === "object") yield e as Record<string, unknown>;
}

/** Postgres SQLSTATE of a driver error (postgres.js and PGlite both expose `code`), if any. */
export function pgErrorCode(err: unknown): string | undefined {
  for (const e of causes(err)) if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  return undefined;
}

/**
 * True when Postgres refused a prepared statement that a schema change made stale ("cached plan
 * must not change result type", as after a column changes type under a running process). postgres.js
 * forgets the statement then, so running it again prepares it afresh: it does so itself outside a
 * transaction, but inside one the whole transaction has to run again.
 */
export function isStalePlan(err: unknown): boolean {
  for (const e of causes(err)) if (e.routine === "RevalidateCachedQuery") return true;
  return false;
}

/** Name of the violated constraint of a Postgres error, if any. */
export function pgConstraint(err: unknown): string | undefined {
  for (const e of causes(err)) {
    const c = e.constraint_name ?? e.constraint;
    if (typeof c === "string") return c;
  }
  return undefined;
}

/** Name of the column of a Postgres error (a NOT NULL violation's), if any. */
export function pgColumn(err: unknown): string | undefined {
  for (const e of causes(err)) {
    const c = e.column_name ?? e.column;
    if (typeof c === "string") return c;
  }
  return undefined;
}

/**
 * Codes of failures to reach the database rather than of the request: the socket's (refused, reset,
 * timed out, unresolvable host), postgres.js's (connection closed, ended or timed out) and Postgres's
 * own (class 08, a server shutting down or starting up, and a statement cancelled by its timeout).
 */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01",
  "57P02",
  "57P03",
  // query_canceled: in practice `statement_timeout` (DATABASE_STATEMENT_TIMEOUT_MS), a database too
  // slow or too locked to answer in time; the same request may well succeed shortly.
  "57014",
]);

/**
 * True when `err` (or what caused it) is a failure to reach the database: the request itself was
 * fine and may succeed when retried, so the API answers 503 rather than 500.
 */
export function isDatabaseUnreachable(err: unknown): boolean {
  for (const e of causes(err))
    if (typeof e.code === "string" && (UNREACHABLE.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code)))
      return true;
  return false;
}
