import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestUser } from "../../../support/auth.js";
import { bearer, createApiKey, createUser, signToken, unsignedToken } from "../../../support/auth.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const READ_ROUTE = "/api/v1/sync/logs";
const WRITE_ROUTE = "/api/v1/sync/full";
const ADMIN_ROUTE = "/api/admin/api-keys";

describe("authentication and scopes", () => {
  let t: TestPlatform;
  let admin: TestUser;
  let user: TestUser;
  let readKey: { id: string; key: string };
  let adminKey: { id: string; key: string };

  beforeAll(async () => {
    t = await createTestPlatform();
    admin = await createUser(t, "admin@example.test");
    user = await createUser(t, "user@example.test");
    readKey = await createApiKey(t, ["read"]);
    adminKey = await createApiKey(t, ["admin"]);
  });
  afterAll(async () => {
    await t.close();
  });

  async function expectStatus(res: Response, status: number, code?: string) {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    if (code) {
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(JSON.parse(text).code).toBe(code);
    }
  }

  describe("API keys", () => {
    it("401 without any credential", async () => {
      await expectStatus(await t.request(READ_ROUTE, { key: null }), 401, "UNAUTHENTICATED");
    });

    it("401 for an unknown key, in our format or not", async () => {
      await expectStatus(await t.request(READ_ROUTE, { key: "nope" }), 401, "UNAUTHENTICATED");
      const forged = `${readKey.key.slice(0, -4)}AAAA`;
      await expectStatus(await t.request(READ_ROUTE, { key: forged }), 401, "UNAUTHENTICATED");
    });

    it("accepts the bootstrap API_KEY in X-API-Key", async () => {
      await expectStatus(await t.request(WRITE_ROUTE, { method: "POST", key: t.adminKey }), 202);
    });

    it("accepts a created key in X-API-Key, ?api_key= and Authorization: Bearer", async () => {
      await expectStatus(await t.request(READ_ROUTE, { key: readKey.key }), 200);
      await expectStatus(
        await t.request(`${READ_ROUTE}?api_key=${encodeURIComponent(readKey.key)}`, { key: null }),
        200,
      );
      await expectStatus(await t.request(READ_ROUTE, { key: null, headers: bearer(readKey.key) }), 200);
    });

    it("lets a read-scoped key GET /api/v1 but not POST (403)", async () => {
      await expectStatus(await t.request(READ_ROUTE, { key: readKey.key }), 200);
      await expectStatus(
        await t.request(WRITE_ROUTE, { method: "POST", key: readKey.key }),
        403,
        "FORBIDDEN",
      );
      await expectStatus(await t.request(ADMIN_ROUTE, { key: readKey.key }), 403, "FORBIDDEN");
    });

    it("lets an admin-scoped key POST and reach admin routes", async () => {
      await expectStatus(await t.request(WRITE_ROUTE, { method: "POST", key: adminKey.key }), 202);
      await expectStatus(await t.request(ADMIN_ROUTE, { key: adminKey.key }), 200);
    });

    it("401 for a revoked key, at once", async () => {
      const key = await createApiKey(t, ["read"], "to-revoke");
      await expectStatus(await t.request(READ_ROUTE, { key: key.key }), 200);
      await expectStatus(await t.request(`${ADMIN_ROUTE}/${key.id}`, { method: "DELETE" }), 200);
      await expectStatus(await t.request(READ_ROUTE, { key: key.key }), 401, "UNAUTHENTICATED");
    });

    it("401 for an expired key", async () => {
      const key = await createApiKey(t, ["read"], "to-expire");
      await expectStatus(await t.request(READ_ROUTE, { key: key.key }), 200);
      await t.platform.database.db.execute(
        sql`update api_keys set expires_at = now() - interval '1 second' where id = ${key.id}`,
      );
      await expectStatus(await t.request(READ_ROUTE, { key: key.key }), 401, "UNAUTHENTICATED");
    });
  });

  describe("session tokens (JWT)", () => {
    it("accepts a login token as Bearer", async () => {
      await expectStatus(await t.request(READ_ROUTE, { key: null, headers: bearer(user.token) }), 200);
      await expectStatus(await t.request(ADMIN_ROUTE, { key: null, headers: bearer(admin.token) }), 200);
    });

    it("403 for a non-admin user on an admin route and on a write", async () => {
      await expectStatus(
        await t.request(ADMIN_ROUTE, { key: null, headers: bearer(user.token) }),
        403,
        "FORBIDDEN",
      );
      await expectStatus(
        await t.request(WRITE_ROUTE, { method: "POST", key: null, headers: bearer(user.token) }),
        403,
        "FORBIDDEN",
      );
    });

    it("401 for an expired token", async () => {
      const past = Math.floor(Date.now() / 1000) - 3600;
      const token = await signToken({ sub: `user:${admin.id}`, iat: past - 60, exp: past }, t.jwtSecret);
      await expectStatus(
        await t.request(ADMIN_ROUTE, { key: null, headers: bearer(token) }),
        401,
        "UNAUTHENTICATED",
      );
    });

    it("401 for an unsigned token (alg: none)", async () => {
      const token = unsignedToken({ sub: `user:${admin.id}`, role: "admin" });
      await expectStatus(
        await t.request(ADMIN_ROUTE, { key: null, headers: bearer(token) }),
        401,
        "UNAUTHENTICATED",
      );
    });

    it("401 for a token signed with HS512, even with the right secret", async () => {
      const token = await signToken({ sub: `user:${admin.id}` }, t.jwtSecret, "HS512");
      await expectStatus(
        await t.request(ADMIN_ROUTE, { key: null, headers: bearer(token) }),
        401,
        "UNAUTHENTICATED",
      );
    });

    it("401 for a token signed with another secret", async () => {
      const token = await signToken({ sub: `user:${admin.id}` }, "x".repeat(64));
      await expectStatus(
        await t.request(ADMIN_ROUTE, { key: null, headers: bearer(token) }),
        401,
        "UNAUTHENTICATED",
      );
    });

    it("401 for a well-signed token of a user that does not exist", async () => {
      const token = await signToken({ sub: "user:00000000-0000-4000-8000-000000000000" }, t.jwtSecret);
      await expectStatus(
        await t.request(READ_ROUTE, { key: null, headers: bearer(token) }),
        401,
        "UNAUTHENTICATED",
      );
    });

    it("401 for a malformed Authorization header", async () => {
      await expectStatus(
        await t.request(READ_ROUTE, { key: null, headers: { Authorization: "Basic dXNlcjpwYXNz" } }),
        401,
        "UNAUTHENTICATED",
      );
    });
  });

  describe("logs", () => {
    it("never contain an api_key query value, however the parameter is spelled", async () => {
      const spellings = ["api_key", "api%5Fkey", "api%5fkey"];
      for (const name of spellings) {
        const res = await t.request(`${READ_ROUTE}?limit=1&${name}=${encodeURIComponent(readKey.key)}`, {
          key: null,
        });
        expect(res.status, name).toBe(200);
      }
      const res = await t.request(`${READ_ROUTE}?api_key=wsk_wrong_key_but_still_secret`, { key: null });
      expect(res.status).toBe(401);

      const lines = t.logs.lines.filter((l) => l.includes(READ_ROUTE));
      expect(lines.length).toBeGreaterThanOrEqual(spellings.length + 1);
      expect(t.logs.text).not.toContain(readKey.key);
      expect(t.logs.text).not.toContain(readKey.key.slice(0, 20));
      expect(t.logs.text).not.toContain("wsk_wrong_key_but_still_secret");
      expect(t.logs.text).toContain("[REDACTED]");
    });

    it("never contain a key sent in a header or a bearer token", async () => {
      await t.request(READ_ROUTE, { key: adminKey.key });
      await t.request(READ_ROUTE, { key: null, headers: bearer(admin.token) });
      expect(t.logs.text).not.toContain(adminKey.key);
      expect(t.logs.text).not.toContain(admin.token);
      expect(t.logs.text).not.toContain(t.adminKey);
    });
  });
});
