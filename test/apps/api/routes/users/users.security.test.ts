import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestUser } from "../../../../support/auth.js";
import { bearer, createApiKey, createUser } from "../../../../support/auth.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("who may manage users", () => {
  let t: TestPlatform;
  let admin: TestUser;
  let user: TestUser;
  let readKey: string;

  beforeAll(async () => {
    t = await createTestPlatform();
    admin = await createUser(t, "admin@example.test");
    user = await createUser(t, "user@example.test");
    readKey = (await createApiKey(t, ["read"])).key;
  });
  afterAll(async () => {
    await t.close();
  });

  const calls = () =>
    [
      ["GET", "/api/admin/users", undefined],
      ["PATCH", `/api/admin/users/${admin.id}`, { disabled: true }],
      ["PATCH", `/api/admin/users/${user.id}`, { role: "admin" }],
      ["POST", `/api/admin/users/${admin.id}/password`, {}],
    ] as const;

  it("401 without credentials", async () => {
    for (const [method, path, body] of calls()) {
      expect((await t.request(path, { method, body, key: null })).status).toBe(401);
    }
  });

  it("403 for a read-scoped key and for a non-admin user, and nothing changes", async () => {
    for (const [method, path, body] of calls()) {
      expect((await t.request(path, { method, body, key: readKey })).status).toBe(403);
      expect((await t.request(path, { method, body, key: null, headers: bearer(user.token) })).status).toBe(
        403,
      );
    }
    const { data } = await json(await t.request("/api/admin/users"));
    expect(data.map((u: { role: string; disabledAt: null }) => [u.role, u.disabledAt])).toEqual([
      ["admin", null],
      ["user", null],
    ]);
    // The admin's session (and so their password) is untouched.
    expect((await t.request("/api/auth/me", { key: null, headers: bearer(admin.token) })).status).toBe(200);
  });

  it("a user's own record shows no hash, and a generated password reaches only the admin who asked", async () => {
    const me = await t.request("/api/auth/me", { key: null, headers: bearer(user.token) });
    expect(await me.text()).not.toMatch(/hash|scrypt/i);
    const reset = await json(
      await t.request(`/api/admin/users/${user.id}/password`, {
        method: "POST",
        body: {},
        key: null,
        headers: bearer(admin.token),
      }),
    );
    const password: string = reset.data.password;
    expect(password).toHaveLength(24);
    const audit = await t.request("/api/admin/audit", { key: null, headers: bearer(admin.token) });
    expect(await audit.text()).not.toContain(password);
    expect(await (await t.request("/api/admin/users")).text()).not.toContain(password);
    expect(t.logs.text).not.toContain(password);
  });
});
