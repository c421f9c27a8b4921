/**
 * The browser session cookie: one name, one set of attributes, for every place that sets or clears it
 * (`POST /api/auth/session`, the `?api_key=` hand-off of admin pages, sign-out).
 */
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../env.js";

export const SESSION_COOKIE = "wiresync_session";

/** Over https per `PUBLIC_URL`, the request itself, or a trusted proxy's `X-Forwarded-Proto`. */
const isHttps = (c: Context<AppEnv>) => c.get("client")?.https ?? new URL(c.req.url).protocol === "https:";

/**
 * Sets the session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it),
 * Secure when the browser came over https (`PUBLIC_URL` is https, or the request or a trusted proxy
 * says so), for the whole origin.
 */
export function setSessionCookie(c: Context<AppEnv>, token: string, maxAgeSeconds: number): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c),
    path: "/",
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  });
}

/** Tells the browser to drop the session cookie (same attributes, expired). */
export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { httpOnly: true, sameSite: "Strict", secure: isHttps(c), path: "/" });
}
