/**
 * What every response carries, whatever answered it (a route, a 404, `onError`, Bull Board, the
 * dashboard): the request id (`X-Request-Id`: the caller's own when it is a plain token of at most
 * 255 characters, else a new UUID; also `c.var.requestId`) and the security headers of hono's
 * `secureHeaders` defaults, less the two cross-origin policies the docs and dashboard pages need
 * off (no `Cross-Origin-Resource-Policy`, no `Cross-Origin-Opener-Policy`).
 *
 * Served by a Node server, the headers go straight onto Node's response before the request runs,
 * and Node merges them into the head it writes: setting them on the fetch `Response` afterwards, as
 * hono's middlewares do, turned every response's headers into a WHATWG `Headers` and validated
 * each one again, the largest share of a trivial request's cost. No route sets any of these
 * headers (one that did would win over them here). In process (`app.request`, tests) they are set
 * on the `Response` once it is made, as before.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";
import type { AppEnv } from "../env.js";

const REQUEST_ID = "X-Request-Id";
const MAX_REQUEST_ID_LENGTH = 255;
const UNSAFE_REQUEST_ID = /[^\w\-=]/;

/** hono/secure-headers' defaults, as createApp configured them before (CORP and COOP off). */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["Origin-Agent-Cluster", "?1"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

/** Node's request and response under @hono/node-server; undefined in process. */
function nodePair(env: unknown): { incoming: IncomingMessage; outgoing: ServerResponse } | undefined {
  const pair = env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
  return pair?.incoming && typeof pair.outgoing?.setHeader === "function"
    ? { incoming: pair.incoming, outgoing: pair.outgoing }
    : undefined;
}

/**
 * Sets `c.var.requestId`, and, served by Node, puts the request id and security headers onto Node's
 * response. Returns false in process: `stampResponse` then sets them once the response is made.
 */
export function identifyRequest(c: Context<AppEnv>): boolean {
  const node = nodePair(c.env);
  const given = node ? node.incoming.headers["x-request-id"] : c.req.header(REQUEST_ID);
  const id =
    typeof given === "string" &&
    given !== "" &&
    given.length <= MAX_REQUEST_ID_LENGTH &&
    !UNSAFE_REQUEST_ID.test(given)
      ? given
      : randomUUID();
  c.set("requestId", id);
  if (!node) return false;
  for (const [name, value] of SECURITY_HEADERS) node.outgoing.setHeader(name, value);
  node.outgoing.setHeader(REQUEST_ID, id);
  return true;
}

/** In process: sets the request id and security headers on the response made. */
export function stampResponse(c: Context<AppEnv>): void {
  for (const [name, value] of SECURITY_HEADERS) c.res.headers.set(name, value);
  c.res.headers.set(REQUEST_ID, c.get("requestId"));
}
