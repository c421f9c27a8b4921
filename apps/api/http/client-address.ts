/**
 * The address a request came from, for the server-reflexive endpoint candidate of a heartbeat.
 *
 * SEAM: today this is the socket's remote address. Behind a trusted reverse proxy (the coming
 * `TRUST_PROXY` setting) that is the proxy's address, and this function is where the forwarded client
 * address (`X-Forwarded-For` / `Forwarded`) must be read instead — only when the proxy is trusted.
 */
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";

/** The remote address of the request's socket; undefined without one (in-process `app.request`). */
export function clientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address ?? undefined;
  } catch {
    // No Node.js socket behind this request (tests calling the app in-process).
    return undefined;
  }
}
