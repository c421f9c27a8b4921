import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, users } from "../../../../../src/db/index.js";
import { bearer, createApiKey, login, PASSWORD } from "../../../../support/auth.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("register, login, me", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("makes the first user, registered with the bootstrap key, an admin", async () => {
    const res = await t.request("/api/auth/register", {
      method: "POST",
      body: { email: "First@Example.test", password: PASSWORD, name: "First" },
    });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toMatchObject({
      success: true,
      data: { email: "first@example.test", name: "First", role: "admin", lastLoginAt: null },
    });
    expect(body.data).not.toHaveProperty("passwordHash");
    const [row] = await t.platform.database.db.select().from(users).where(eq(users.id, body.data.id));
    expect(row?.role).toBe("admin");
    const audit = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.entityId, body.data.id));
    expect(audit.map((a) => a.action)).toEqual(["user.registered"]);
    expect(audit[0]?.actor).toBe("api-key:bootstrap");
  });

  it("lets an admin register more users (role user by default)", async () => {
    const res = await t.request("/api/auth/register", {
      method: "POST",
      body: { email: "second@example.test", password: PASSWORD },
    });
    expect(res.status).toBe(201);
    expect((await json(res)).data.role).toBe("user");
  });

  it("stores no password in plain text", async () => {
    const rows = await t.platform.database.db.select({ hash: users.passwordHash }).from(users);
    expect(rows).toHaveLength(2);
    for (const { hash } of rows) {
      expect(hash).toMatch(/^scrypt\$/);
      expect(hash).not.toContain(PASSWORD);
      expect(hash).not.toContain(Buffer.from(PASSWORD).toString("base64url"));
    }
    expect(rows[0]?.hash).not.toBe(rows[1]?.hash);
    const dump = await t.platform.database.db.execute(sql`select row_to_json(u)::text as j from users u`);
    expect(JSON.stringify(dump)).not.toContain(PASSWORD);
  });

  it("logs in with a short-lived HS256 token", async () => {
    const res = await t.request("/api/auth/login", {
      method: "POST",
      body: { email: "FIRST@example.test", password: PASSWORD },
      key: null,
    });
    expect(res.status).toBe(200);
    const { data } = await json(res);
    expect(data.tokenType).toBe("Bearer");
    expect(data.user.email).toBe("first@example.test");
    const [header, payload] = (data.token as string)
      .split(".")
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));
    expect(header.alg).toBe("HS256");
    expect(payload.exp - payload.iat).toBe(3600);
    expect(new Date(data.expiresAt).getTime()).toBe(payload.exp * 1000);
  });

  it("GET /api/auth/me answers the user record for a token", async () => {
    const token = await login(t, "first@example.test");
    const res = await t.request("/api/auth/me", { key: null, headers: bearer(token) });
    expect(res.status).toBe(200);
    const { data } = await json(res);
    expect(data).toMatchObject({ email: "first@example.test", role: "admin" });
    expect(data.lastLoginAt).not.toBeNull();
  });

  it("GET /api/auth/me answers the kind and scopes for an API key", async () => {
    expect((await json(await t.request("/api/auth/me"))).data).toEqual({
      kind: "bootstrap",
      id: "bootstrap",
      scopes: ["admin", "read"],
    });
    const key = await createApiKey(t, ["read"]);
    expect((await json(await t.request("/api/auth/me", { key: key.key }))).data).toEqual({
      kind: "api-key",
      id: key.id,
      name: "key-read",
      scopes: ["read"],
    });
  });

  it("signs a user out everywhere: every token of theirs stops working, new logins work", async () => {
    const email = "second@example.test";
    const [laptop, phone] = [await login(t, email), await login(t, email)];
    const me = (token: string) => t.request("/api/auth/me", { headers: bearer(token), key: null });
    expect((await me(laptop)).status).toBe(200);
    const revoked = await t.request("/api/auth/sessions/revoke", {
      method: "POST",
      headers: bearer(phone),
      key: null,
    });
    expect(revoked.status).toBe(200);
    expect((await json(revoked)).data).toEqual({ revoked: true });
    expect(revoked.headers.get("set-cookie")).toContain("wiresync_session=;");
    expect((await me(laptop)).status).toBe(401);
    expect((await me(phone)).status).toBe(401);
    const fresh = await login(t, email);
    expect((await me(fresh)).status).toBe(200);
    // Nobody else was signed out, and the revocation is in the audit log.
    const first = await login(t, "first@example.test");
    expect((await me(first)).status).toBe(200);
    const audit = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "user.sessions-revoked"));
    expect(audit).toHaveLength(1);
  });

  it("refuses to revoke sessions for an API key or without credentials", async () => {
    const forKey = await t.request("/api/auth/sessions/revoke", { method: "POST" });
    expect(forKey.status).toBe(403);
    expect((await json(forKey)).error.message).toMatch(/api-keys/);
    const anonymous = await t.request("/api/auth/sessions/revoke", { method: "POST", key: null });
    expect(anonymous.status).toBe(401);
  });
});
