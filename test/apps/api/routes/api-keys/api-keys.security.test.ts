import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createApiKey, createUser } from "../../../../support/auth.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("who may manage API keys", () => {
  let t: TestPlatform;
  let readKey: string;
  let userToken: string;
  let adminToken: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    adminToken = (await createUser(t, "admin@example.test")).token;
    userToken = (await createUser(t, "user@example.test")).token;
    readKey = (await createApiKey(t, ["read"])).key;
  });
  afterAll(async () => {
    await t.close();
  });

  const create = (init: { key?: string | null; headers?: Record<string, string> }) =>
    t.request("/api/admin/api-keys", { method: "POST", body: { name: "x", scopes: ["admin"] }, ...init });

  it("401 without credentials", async () => {
    expect((await t.request("/api/admin/api-keys", { key: null })).status).toBe(401);
    expect((await create({ key: null })).status).toBe(401);
  });

  it("403 for a read-scoped key, which cannot mint itself an admin key", async () => {
    expect((await t.request("/api/admin/api-keys", { key: readKey })).status).toBe(403);
    expect((await create({ key: readKey })).status).toBe(403);
  });

  it("403 for a non-admin user", async () => {
    expect((await create({ key: null, headers: bearer(userToken) })).status).toBe(403);
  });

  it("201 for an admin user", async () => {
    expect((await create({ key: null, headers: bearer(adminToken) })).status).toBe(201);
  });
});
