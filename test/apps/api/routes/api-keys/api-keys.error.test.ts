import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("API key management errors", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("404 API_KEY_NOT_FOUND when revoking an unknown key", async () => {
    const res = await t.request("/api/admin/api-keys/00000000-0000-4000-8000-000000000000", {
      method: "DELETE",
    });
    expect(res.status).toBe(404);
    expect((await json(res)).code).toBe("API_KEY_NOT_FOUND");
  });

  it("400 for an id that is not a uuid", async () => {
    expect((await t.request("/api/admin/api-keys/abc", { method: "DELETE" })).status).toBe(400);
  });

  it.each([
    ["no name", { scopes: ["read"] }, "name"],
    ["an unknown scope", { name: "k", scopes: ["root"] }, "scopes.0"],
    ["no scopes at all", { name: "k", scopes: [] }, "scopes"],
    ["a bad expiry", { name: "k", expiresAt: "tomorrow" }, "expiresAt"],
  ])("400 for %s, creating nothing", async (_name, body, field) => {
    const res = await t.request("/api/admin/api-keys", { method: "POST", body });
    expect(res.status).toBe(400);
    expect((await json(res)).error.details.issues.map((i: { path: string }) => i.path)).toContain(field);
    expect((await json(await t.request("/api/admin/api-keys"))).data).toEqual([]);
  });
});
