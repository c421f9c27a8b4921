import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createApiKey, createUser } from "../../support/auth.js";
import { json } from "../../support/http.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

describe("Bull Board is admin-only", () => {
  let t: TestPlatform;
  let readKey: string;
  let userToken: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    await createUser(t, "admin@example.test");
    userToken = (await createUser(t, "user@example.test")).token;
    readKey = (await createApiKey(t, ["read"])).key;
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(["/admin/queues", "/admin/queues/", "/admin/queues/api/queues"])(
    "401 for %s without credentials",
    async (path) => {
      const res = await t.request(path, { key: null });
      expect(res.status).toBe(401);
      expect((await json(res)).code).toBe("UNAUTHENTICATED");
    },
  );

  it("401 for a wrong ?api_key=, with no cookie", async () => {
    const res = await t.request("/admin/queues?api_key=wsk_not_a_key", { key: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("403 for a read-scoped ?api_key=, with no session cookie", async () => {
    const res = await t.request(`/admin/queues?api_key=${encodeURIComponent(readKey)}`, { key: null });
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("403 for a read-scoped key and for a non-admin user on the board's API", async () => {
    expect((await t.request("/admin/queues/api/queues", { key: readKey })).status).toBe(403);
    expect(
      (await t.request("/admin/queues/api/queues", { key: null, headers: bearer(userToken) })).status,
    ).toBe(403);
  });

  it("401 for a forged session cookie", async () => {
    const res = await t.request("/admin/queues", {
      key: null,
      headers: { Cookie: "wiresync_session=abc.def.ghi" },
    });
    expect(res.status).toBe(401);
  });

  it("a session cookie dies with its key", async () => {
    const key = await createApiKey(t, ["admin"], "board-admin");
    const res = await t.request(`/admin/queues?api_key=${encodeURIComponent(key.key)}`, { key: null });
    expect(res.status).toBe(303);
    const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
    expect((await t.request("/admin/queues", { key: null, headers: { Cookie: cookie } })).status).toBe(200);
    await t.request(`/api/admin/api-keys/${key.id}`, { method: "DELETE" });
    expect((await t.request("/admin/queues", { key: null, headers: { Cookie: cookie } })).status).toBe(401);
  });
});
