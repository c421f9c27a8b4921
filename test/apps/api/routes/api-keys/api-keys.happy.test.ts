import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, auditLog } from "../../../../../src/db/index.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("API key management", () => {
  let t: TestPlatform;
  let created: { id: string; key: string; prefix: string };

  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("creates a key and shows the whole key once", async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await t.request("/api/admin/api-keys", {
      method: "POST",
      body: { name: "ci", scopes: ["read", "read"], expiresAt },
    });
    expect(res.status).toBe(201);
    const { data } = await json(res);
    created = data;
    expect(data).toMatchObject({ name: "ci", scopes: ["read"], expiresAt, revokedAt: null });
    expect(data.key).toMatch(/^wsk_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    expect(data.key.startsWith(`${data.prefix}_`)).toBe(true);
    expect((await t.request("/api/auth/me", { key: data.key })).status).toBe(200);
  });

  it("stores only the prefix and a hash of the key", async () => {
    const [row] = await t.platform.database.db.select().from(apiKeys).where(eq(apiKeys.id, created.id));
    expect(row?.prefix).toBe(created.prefix);
    expect(row?.keyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(created.key);
    const audit = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.entityId, created.id));
    expect(JSON.stringify(audit)).not.toContain(created.key);
  });

  it("lists keys with their prefix and never the key", async () => {
    const res = await t.request("/api/admin/api-keys");
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(created.key);
    const { data } = JSON.parse(text);
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ id: created.id, prefix: created.prefix, name: "ci" });
    expect(data[0]).not.toHaveProperty("key");
    expect(data[0]).not.toHaveProperty("keyHash");
    expect(data[0].lastUsedAt).not.toBeNull();
  });

  it("revokes a key, idempotently", async () => {
    const first = await json(await t.request(`/api/admin/api-keys/${created.id}`, { method: "DELETE" }));
    expect(first.data.revokedAt).not.toBeNull();
    const again = await json(await t.request(`/api/admin/api-keys/${created.id}`, { method: "DELETE" }));
    expect(again.data.revokedAt).toBe(first.data.revokedAt);
    expect((await t.request("/api/auth/me", { key: created.key })).status).toBe(401);
  });
});
