import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, users } from "../../../../../src/db/index.js";
import type { TestUser } from "../../../../support/auth.js";
import { bearer, createUser, PASSWORD } from "../../../../support/auth.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("user management", () => {
  let t: TestPlatform;
  let admin: TestUser;
  let user: TestUser;

  const patch = (id: string, body: unknown) => t.request(`/api/admin/users/${id}`, { method: "PATCH", body });
  const signIn = (email: string, password = PASSWORD) =>
    t.request("/api/auth/login", { method: "POST", body: { email, password }, key: null });
  const auditOf = (id: string) =>
    t.platform.database.db
      .select({ action: auditLog.action, actor: auditLog.actor, details: auditLog.details })
      .from(auditLog)
      .where(and(eq(auditLog.entityType, "user"), eq(auditLog.entityId, id)))
      .orderBy(asc(auditLog.id));

  beforeAll(async () => {
    t = await createTestPlatform();
    admin = await createUser(t, "admin@example.test");
    user = await createUser(t, "user@example.test");
  });
  afterAll(async () => {
    await t.close();
  });

  it("lists users oldest first, with no password or hash", async () => {
    const res = await t.request("/api/admin/users");
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toMatch(/password|scrypt/i);
    const { data } = JSON.parse(text);
    expect(
      data.map((u: { email: string; role: string; disabledAt: null }) => [u.email, u.role, u.disabledAt]),
    ).toEqual([
      ["admin@example.test", "admin", null],
      ["user@example.test", "user", null],
    ]);
    expect(Object.keys(data[0]).sort()).toEqual(
      ["createdAt", "disabledAt", "email", "id", "lastLoginAt", "name", "role"].sort(),
    );
  });

  it("makes a user admin and back, audit-logging each change with who made it", async () => {
    const promoted = await json(await patch(user.id, { role: "admin" }));
    expect(promoted.data).toMatchObject({ id: user.id, role: "admin", disabledAt: null });
    // The new role holds for the sessions the user already has.
    expect((await t.request("/api/admin/users", { key: null, headers: bearer(user.token) })).status).toBe(
      200,
    );
    const demoted = await json(
      await t.request(`/api/admin/users/${user.id}`, {
        method: "PATCH",
        body: { role: "user" },
        key: null,
        headers: bearer(admin.token),
      }),
    );
    expect(demoted.data.role).toBe("user");
    expect((await t.request("/api/admin/users", { key: null, headers: bearer(user.token) })).status).toBe(
      403,
    );
    expect(await auditOf(user.id)).toEqual([
      {
        action: "user.registered",
        actor: "api-key:bootstrap",
        details: { email: user.email, role: "user", first: false },
      },
      {
        action: "user.role-changed",
        actor: "api-key:bootstrap",
        details: { email: user.email, from: "user", to: "admin" },
      },
      {
        action: "user.role-changed",
        actor: `user:${admin.email}`,
        details: { email: user.email, from: "admin", to: "user" },
      },
    ]);
  });

  it("disables a user: sessions end at once and sign-in is refused; enabling lets them back in", async () => {
    expect((await t.request("/api/auth/me", { key: null, headers: bearer(user.token) })).status).toBe(200);
    const disabled = await json(await patch(user.id, { disabled: true }));
    expect(disabled.data.disabledAt).not.toBeNull();
    expect((await t.request("/api/auth/me", { key: null, headers: bearer(user.token) })).status).toBe(401);
    const refused = await signIn(user.email);
    expect(refused.status).toBe(403);
    expect((await json(refused)).code).toBe("USER_DISABLED");
    // A wrong password says no more than for anyone else.
    const wrong = await signIn(user.email, "not the password at all");
    expect(wrong.status).toBe(401);
    expect((await json(wrong)).code).toBe("INVALID_CREDENTIALS");
    // Disabling again changes nothing and logs nothing.
    const again = await json(await patch(user.id, { disabled: true }));
    expect(again.data.disabledAt).toBe(disabled.data.disabledAt);

    const enabled = await json(await patch(user.id, { disabled: false }));
    expect(enabled.data.disabledAt).toBeNull();
    expect((await signIn(user.email)).status).toBe(200);
    // The session from before the disabling stays ended.
    expect((await t.request("/api/auth/me", { key: null, headers: bearer(user.token) })).status).toBe(401);
    expect((await auditOf(user.id)).slice(3).map((a) => a.action)).toEqual(["user.disabled", "user.enabled"]);
  });

  it("resets a password to a generated password, shown once and stored only as a hash", async () => {
    const token = (await json(await signIn(user.email))).data.token;
    const res = await t.request(`/api/admin/users/${user.id}/password`, { method: "POST", body: {} });
    expect(res.status).toBe(200);
    const { data } = await json(res);
    expect(data.user).toMatchObject({ id: user.id, email: user.email });
    expect(data.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect((await t.request("/api/auth/me", { key: null, headers: bearer(token) })).status).toBe(401);
    expect((await signIn(user.email)).status).toBe(401);
    expect((await signIn(user.email, data.password)).status).toBe(200);
    // Not a one-time password: it stays the user's until changed, and the API says so.
    expect((await signIn(user.email, data.password)).status).toBe(200);
    const spec = await json(await t.request("/openapi.json", { key: null }));
    const described = JSON.stringify(spec.paths["/api/admin/users/{id}/password"]);
    expect(described).toContain("generated password");
    expect(described).not.toMatch(/one-time/i);

    const [row] = await t.platform.database.db.select().from(users).where(eq(users.id, user.id));
    expect(JSON.stringify(row)).not.toContain(data.password);
    const audit = await t.platform.database.db.select().from(auditLog);
    expect(JSON.stringify(audit)).not.toContain(data.password);
    expect(t.logs.text).not.toContain(data.password);
    expect((await auditOf(user.id)).at(-1)).toEqual({
      action: "user.password-reset",
      actor: "api-key:bootstrap",
      details: { email: user.email, generated: true },
    });
    expect(await (await t.request("/api/admin/users")).text()).not.toContain(data.password);
  });

  it("resets a password to one the admin chose, without echoing it", async () => {
    const chosen = "a new password chosen by the admin";
    const res = await t.request(`/api/admin/users/${user.id}/password`, {
      method: "POST",
      body: { password: chosen },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(chosen);
    expect(JSON.parse(text).data).not.toHaveProperty("password");
    expect((await signIn(user.email, chosen)).status).toBe(200);
    expect((await auditOf(user.id)).at(-1)?.details).toEqual({ email: user.email, generated: false });
  });
});
