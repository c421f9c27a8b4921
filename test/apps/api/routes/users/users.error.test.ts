import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestUser } from "../../../../support/auth.js";
import { bearer, createUser } from "../../../../support/auth.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("user management errors", () => {
  let t: TestPlatform;
  let admin: TestUser;
  let user: TestUser;
  const UNKNOWN = "00000000-0000-4000-8000-000000000000";

  const listed = async () =>
    (await json(await t.request("/api/admin/users"))).data.map(
      (u: { email: string; role: string; disabledAt: string | null }) => [u.email, u.role, u.disabledAt],
    );

  beforeAll(async () => {
    t = await createTestPlatform();
    admin = await createUser(t, "admin@example.test");
    user = await createUser(t, "user@example.test");
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ["an empty change", {}, ""],
    ["an unknown role", { role: "root" }, "role"],
    ["disabled as a string", { disabled: "yes" }, "disabled"],
    ["an unknown field", { role: "user", email: "x@example.test" }, ""],
  ])("400 for %s, changing nothing", async (_name, body, path) => {
    const before = await listed();
    const res = await t.request(`/api/admin/users/${user.id}`, { method: "PATCH", body });
    expect(res.status).toBe(400);
    const problem = await json(res);
    expect(problem.code).toBe("VALIDATION_FAILED");
    expect(problem.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    expect(await listed()).toEqual(before);
  });

  it.each([
    ["a short password", { password: "short" }, "password"],
    ["a password that is not a string", { password: 1234567890123 }, "password"],
  ])("400 for %s on reset, and the old password still works", async (_name, body, path) => {
    const res = await t.request(`/api/admin/users/${user.id}/password`, { method: "POST", body });
    expect(res.status).toBe(400);
    expect((await json(res)).error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    expect((await t.request("/api/auth/me", { key: null, headers: bearer(user.token) })).status).toBe(200);
  });

  it("404 USER_NOT_FOUND for an unknown user, 400 for an id that is not a uuid", async () => {
    for (const res of [
      await t.request(`/api/admin/users/${UNKNOWN}`, { method: "PATCH", body: { disabled: true } }),
      await t.request(`/api/admin/users/${UNKNOWN}/password`, { method: "POST", body: {} }),
    ]) {
      expect(res.status).toBe(404);
      expect((await json(res)).code).toBe("USER_NOT_FOUND");
    }
    expect(
      (await t.request("/api/admin/users/abc", { method: "PATCH", body: { role: "user" } })).status,
    ).toBe(400);
  });

  it("409 LAST_ADMIN: the last enabled admin can be neither demoted nor disabled, even by themselves", async () => {
    const before = await listed();
    for (const body of [{ role: "user" }, { disabled: true }, { role: "user", disabled: true }]) {
      const res = await t.request(`/api/admin/users/${admin.id}`, {
        method: "PATCH",
        body,
        key: null,
        headers: bearer(admin.token),
      });
      expect(res.status).toBe(409);
      const problem = await json(res);
      expect(problem.code).toBe("LAST_ADMIN");
      expect(problem.detail).toBe(
        "admin@example.test is the last enabled admin: make another user admin first",
      );
    }
    expect(await listed()).toEqual(before);
  });

  it("lets an admin step down once another admin is enabled, and counts a disabled admin as none", async () => {
    const second = await createUser(t, "second@example.test", { role: "admin" });
    const off = await t.request(`/api/admin/users/${second.id}`, {
      method: "PATCH",
      body: { disabled: true },
    });
    expect(off.status).toBe(200);
    // The other admin is disabled: the first is still the last enabled one.
    expect(
      (await t.request(`/api/admin/users/${admin.id}`, { method: "PATCH", body: { role: "user" } })).status,
    ).toBe(409);
    await t.request(`/api/admin/users/${second.id}`, { method: "PATCH", body: { disabled: false } });
    const down = await t.request(`/api/admin/users/${admin.id}`, { method: "PATCH", body: { role: "user" } });
    expect(down.status).toBe(200);
    expect((await json(down)).data.role).toBe("user");
    // And now the second one is the last.
    const res = await t.request(`/api/admin/users/${second.id}`, {
      method: "PATCH",
      body: { disabled: true },
    });
    expect(res.status).toBe(409);
  });
});
