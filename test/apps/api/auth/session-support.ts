/** Helpers for the browser-session tests: sign in through the route and read its cookie. */
import { expect } from "vitest";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";

export interface SignedIn {
  status: number;
  body: Awaited<ReturnType<typeof json>>;
  /** The raw `Set-Cookie` of `wiresync_session`, if any. */
  setCookie: string | undefined;
  /** `wiresync_session=<token>`, ready for a `Cookie` header. */
  cookie: string | undefined;
}

export function sessionSetCookie(res: Response): string | undefined {
  return res.headers
    .getSetCookie()
    .filter((c) => c.startsWith("wiresync_session="))
    .at(-1);
}

export async function signIn(
  t: TestPlatform,
  body: unknown,
  init: { url?: string; headers?: Record<string, string> } = {},
): Promise<SignedIn> {
  const res = await t.app.request(init.url ?? "/api/auth/session", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(init.headers ?? {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const setCookie = sessionSetCookie(res);
  const cookie = setCookie?.split(";")[0];
  return { status: res.status, body: await json(res), setCookie, cookie };
}

/** Signs in with `apiKey` and returns the cookie header, asserting success. */
export async function cookieFor(t: TestPlatform, apiKey: string): Promise<string> {
  const signed = await signIn(t, { apiKey });
  expect(signed.status, JSON.stringify(signed.body)).toBe(200);
  expect(signed.cookie).toMatch(/^wiresync_session=.+/);
  return signed.cookie!;
}

/** A request carrying only a session cookie, the way a same-origin page's fetch does. */
export function withCookie(
  t: TestPlatform,
  cookie: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  return t.request(path, {
    key: null,
    method: init.method ?? "GET",
    body: init.body,
    headers: { Cookie: cookie, "Sec-Fetch-Site": "same-origin", ...(init.headers ?? {}) },
  });
}
