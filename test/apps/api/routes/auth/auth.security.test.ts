import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, users } from "../../../../../src/db/index.js";
import type { TestUser } from "../../../../support/auth.js";
import { bearer, createApiKey, createUser, PASSWORD } from "../../../../support/auth.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("who may register users", () => {
  let t: TestPlatform;
  let admin: TestUser;
  let user: TestUser;
  beforeAll(async () => {
    t = await createTestPlatform();
    admin = await createUser(t, "admin@example.test");
    user = await createUser(t, "user@example.test");
  });
  afterAll(async () => {
    await t.close();
  });

  const register = (
    email: string,
    headers: Record<string, string>,
    key: string | null = null,
    role?: string,
  ) =>
    t.request("/api/auth/register", {
      method: "POST",
      body: { email, password: PASSWORD, ...(role ? { role } : {}) },
      headers,
      key,
    });

  async function userCount() {
    const [row] = await t.platform.database.db.select({ n: count() }).from(users);
    return row?.n;
  }

  it("401 once a user exists and the caller is anonymous; nothing is created", async () => {
    const res = await register("anon@example.test", {});
    expect(res.status).toBe(401);
    expect((await json(res)).code).toBe("UNAUTHENTICATED");
    expect(await userCount()).toBe(2);
  });

  it("403 for a non-admin user, even asking for the admin role", async () => {
    const res = await register("by-user@example.test", bearer(user.token), null, "admin");
    expect(res.status).toBe(403);
    expect((await json(res)).code).toBe("FORBIDDEN");
    expect(await userCount()).toBe(2);
  });

  it("403 for a read-scoped key", async () => {
    const key = await createApiKey(t, ["read"]);
    expect((await register("by-read-key@example.test", {}, key.key)).status).toBe(403);
  });

  it("201 for an admin user, who may create another admin", async () => {
    const res = await register("new-admin@example.test", bearer(admin.token), null, "admin");
    expect(res.status).toBe(201);
    expect((await json(res)).data.role).toBe("admin");
    expect(await userCount()).toBe(3);
  });

  it("401 for a token of a user that was deleted", async () => {
    const gone = await createUser(t, "gone@example.test");
    await t.platform.database.db.delete(users);
    const res = await t.request("/api/auth/me", { key: null, headers: bearer(gone.token) });
    expect(res.status).toBe(401);
  });
});

describe("the first registration", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const userRows = () => t.platform.database.db.select().from(users);

  it.each([
    ["without a role", {}],
    ["asking for the admin role", { role: "admin" }],
  ])(
    "is refused to an anonymous caller on a fresh installation (%s): 401, nobody created",
    async (_, extra) => {
      const res = await t.request("/api/auth/register", {
        method: "POST",
        body: { email: "anon@example.test", password: PASSWORD, ...extra },
        key: null,
      });
      expect(res.status).toBe(401);
      const body = await json(res);
      expect(body.code).toBe("UNAUTHENTICATED");
      expect(body.detail).toBe(
        "registration needs an admin: call with the bootstrap API key, an admin key or an admin's session (CLI: create-user)",
      );
      expect(await userRows()).toEqual([]);
    },
  );

  it("leaves an anonymous caller no way to an admin key: no login, no key minted", async () => {
    const body = { email: "mallory@example.test", password: PASSWORD, role: "admin" };
    expect((await t.request("/api/auth/register", { method: "POST", body, key: null })).status).toBe(401);
    const login = await t.request("/api/auth/login", {
      method: "POST",
      body: { email: body.email, password: PASSWORD },
      key: null,
    });
    expect(login.status).toBe(401);
    const minted = await t.request("/api/admin/api-keys", {
      method: "POST",
      body: { name: "mine", scopes: ["admin"] },
      key: null,
    });
    expect(minted.status).toBe(401);
    expect(await t.platform.database.db.select().from(apiKeys)).toEqual([]);
  });

  it("makes exactly one admin when many race with the bootstrap key", async () => {
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        t.request("/api/auth/register", {
          method: "POST",
          body: { email: `racer${i}@example.test`, password: PASSWORD },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const rows = await userRows();
    expect(rows.map((r) => r.role).sort()).toEqual(["admin", "user", "user", "user"]);
  });
});
