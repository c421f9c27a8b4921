/** Users, keys and hand-made tokens for auth tests, all through the real API. */
import { sign } from "hono/jwt";
import { expect } from "vitest";
import { json } from "./http.js";
import type { TestPlatform } from "./platform.js";

export const PASSWORD = "correct horse battery staple";

export interface TestUser {
  id: string;
  email: string;
  role: "admin" | "user";
  token: string;
}

/** Registers a user (with `as`, or the bootstrap admin key by default) and logs it in. */
export async function createUser(
  t: TestPlatform,
  email: string,
  options: { role?: "admin" | "user"; as?: string | null } = {},
): Promise<TestUser> {
  const registered = await t.request("/api/auth/register", {
    method: "POST",
    body: { email, password: PASSWORD, ...(options.role ? { role: options.role } : {}) },
    key: options.as === undefined ? t.adminKey : options.as,
  });
  expect(registered.status, await registered.clone().text()).toBe(201);
  const user = (await json(registered)).data;
  return { id: user.id, email: user.email, role: user.role, token: await login(t, email) };
}

/** Logs in and returns the session token. */
export async function login(t: TestPlatform, email: string, password = PASSWORD): Promise<string> {
  const res = await t.request("/api/auth/login", { method: "POST", body: { email, password }, key: null });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await json(res)).data.token;
}

/** Creates an API key with the admin key and returns the whole key and its id. */
export async function createApiKey(
  t: TestPlatform,
  scopes: ("admin" | "read")[],
  name = `key-${scopes.join("-")}`,
): Promise<{ id: string; key: string; prefix: string }> {
  const res = await t.request("/api/admin/api-keys", { method: "POST", body: { name, scopes } });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id, key, prefix } = (await json(res)).data;
  return { id, key, prefix };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Signs a token like the server does, but with any secret, algorithm and claims. */
export function signToken(
  payload: Record<string, unknown>,
  secret: string,
  alg: "HS256" | "HS384" | "HS512" = "HS256",
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ iat: now, exp: now + 3600, ...payload }, secret, alg);
}

/** An unsigned token (`alg: none`), the classic forgery. */
export function unsignedToken(payload: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: "none", typ: "JWT" })}.${part({ iat: now, exp: now + 3600, ...payload })}.`;
}
