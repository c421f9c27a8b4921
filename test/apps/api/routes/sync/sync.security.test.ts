import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncRuns } from "../../../../../src/db/index.js";
import { bearer, createApiKey, createUser } from "../../../../support/auth.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";
import { requestSync } from "../../../../support/sync.js";

describe("who may start, follow and cancel sync runs", () => {
  let t: TestPlatform;
  let readKey: string;
  let userToken: string;
  let runId: string;

  beforeAll(async () => {
    t = await createTestPlatform();
    await createUser(t, "admin@example.test");
    userToken = (await createUser(t, "user@example.test")).token;
    readKey = (await createApiKey(t, ["read"])).key;
    runId = (await requestSync(t, "full")).sync_log_id;
  });
  afterAll(async () => {
    await t.close();
  });

  async function runCount() {
    const [row] = await t.platform.database.db.select({ n: count() }).from(syncRuns);
    return row?.n;
  }

  it.each([
    ["POST", "/api/v1/sync/full"],
    ["POST", "/api/v1/sync/peers"],
    ["GET", "/api/v1/sync/logs"],
    ["GET", "/api/admin/sync"],
    ["POST", "/api/admin/sync"],
    ["POST", "/api/admin/sync/cancel"],
  ])("401 for %s %s without credentials", async (method, path) => {
    expect((await t.request(path, { method, key: null })).status).toBe(401);
  });

  it("a read-scoped key may follow runs but not start or cancel them", async () => {
    expect((await t.request(`/api/v1/sync/status/${runId}`, { key: readKey })).status).toBe(200);
    expect((await t.request("/api/v1/sync/logs", { key: readKey })).status).toBe(200);
    expect((await t.request("/api/v1/sync/full", { method: "POST", key: readKey })).status).toBe(403);
    expect((await t.request("/api/v1/sync/usage", { method: "POST", key: readKey })).status).toBe(403);
    expect((await t.request(`/api/v1/sync/cancel/${runId}`, { method: "POST", key: readKey })).status).toBe(
      403,
    );
    expect((await t.request("/api/admin/sync", { key: readKey })).status).toBe(403);
    expect(await runCount()).toBe(1);
    expect((await t.request(`/api/v1/sync/status/${runId}`)).status).toBe(200);
  });

  it("a non-admin user may not use the admin forms", async () => {
    for (const [method, path] of [
      ["GET", "/api/admin/sync"],
      ["POST", "/api/admin/sync"],
      ["POST", "/api/admin/sync/cancel"],
    ] as const) {
      expect((await t.request(path, { method, key: null, headers: bearer(userToken) })).status, path).toBe(
        403,
      );
    }
    expect(await runCount()).toBe(1);
  });

  it("records who asked for a run when they do not say", async () => {
    const adminKey = await createApiKey(t, ["admin"], "deploy-bot");
    const res = await t.request("/api/v1/sync/usage", { method: "POST", key: adminKey.key });
    expect(res.status).toBe(202);
    const { sync_log_id } = (await json(res)).data;
    const status = await json(await t.request(`/api/v1/sync/status/${sync_log_id}`));
    expect(status.data.requestedBy).toBe("api-key:deploy-bot");
  });
});
