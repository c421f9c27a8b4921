import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startScheduler } from "../../workers/scheduler.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";

describe("scheduled reconcile", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const scheduler = () =>
    startScheduler({
      sync: t.platform.services.sync,
      liveness: t.platform.services.liveness,
      settings: t.platform.services.settings,
      logger: t.platform.logger,
      staleRunCheckCron: "* * * * *",
      nodeOfflineAfterSeconds: 180,
      timers: false,
    });

  const scheduledRuns = async () =>
    (await json(await t.request("/api/v1/sync/logs?type=full&limit=500"))).data.items.filter(
      (r: { requestedBy: string }) => r.requestedBy === "scheduler",
    );

  it("starts one reconcile per interval even with two schedulers ticking at once", async () => {
    await t.request("/api/admin/sync/settings", {
      method: "POST",
      body: { autoSyncEnabled: true, autoSyncInterval: 60 },
    });
    const [a, b] = [scheduler(), scheduler()];
    const now = new Date("2026-11-22T10:00:30Z");
    const created = await Promise.all([a.reconcileTick(now), b.reconcileTick(now)]);
    expect(created.filter(Boolean)).toHaveLength(1);
    // Later ticks in the same minute start nothing; the next minute starts one more.
    expect(await a.reconcileTick(new Date("2026-11-22T10:00:55Z"))).toBeUndefined();
    const next = await Promise.all([
      a.reconcileTick(new Date("2026-11-22T10:01:00Z")),
      b.reconcileTick(new Date("2026-11-22T10:01:02Z")),
    ]);
    expect(next.filter(Boolean)).toHaveLength(1);
    expect(await scheduledRuns()).toHaveLength(2);
    await Promise.all([a.stop(), b.stop()]);
  });

  it("applies a changed interval or a switch-off without a restart", async () => {
    const s = scheduler();
    await t.request("/api/admin/sync/settings", { method: "POST", body: { autoSyncEnabled: false } });
    expect(await s.reconcileTick(new Date("2026-11-22T12:00:00Z"))).toBeUndefined();
    const settings = await json(
      await t.request("/api/admin/sync/settings", {
        method: "POST",
        body: { autoSyncEnabled: true, autoSyncInterval: 3600 },
      }),
    );
    expect(settings.data).toEqual({ autoSyncEnabled: true, autoSyncInterval: 3600 });
    expect(await s.reconcileTick(new Date("2026-11-22T12:00:00Z"))).toBeDefined();
    expect(await s.reconcileTick(new Date("2026-11-22T12:30:00Z"))).toBeUndefined();
    await s.stop();
  });

  it("refuses an interval under 30 s with 400 and keeps the old one", async () => {
    const res = await t.request("/api/admin/sync/settings", {
      method: "POST",
      body: { autoSyncInterval: 5 },
    });
    expect(res.status).toBe(400);
    expect((await json(await t.request("/api/admin/sync/settings"))).data.autoSyncInterval).toBe(3600);
  });
});

describe("settings", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("stores encrypted settings sealed, and never returns their value", async () => {
    const secret = "re_live_super_secret_value_123";
    const res = await t.request("/api/admin/settings", {
      method: "POST",
      body: { key: "email.resendApiKey", value: secret, encrypted: true },
    });
    expect(res.status).toBe(200);
    const listed = await (await t.request("/api/admin/settings")).text();
    expect(listed).not.toContain(secret);
    expect(
      JSON.parse(listed).data.find((s: { key: string }) => s.key === "email.resendApiKey"),
    ).toMatchObject({ value: null, encrypted: true });
    const rows = await t.db.database.db.query.settings.findMany();
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(await t.platform.services.settings.secret("email.resendApiKey")).toBe(secret);
    expect(t.logs.text).not.toContain(secret);
    expect(await (await t.request("/api/admin/audit?entityType=setting")).text()).not.toContain(secret);
  });

  it("lists known settings with their defaults and validates their values", async () => {
    const listed = await json(await t.request("/api/admin/settings"));
    expect(listed.data.find((s: { key: string }) => s.key === "sync.autoSyncInterval").value).toBe(300);
    const bad = await t.request("/api/admin/settings", {
      method: "POST",
      body: { key: "sync.autoSyncEnabled", value: "yes" },
    });
    expect(bad.status).toBe(400);
    const badKey = await t.request("/api/admin/settings", {
      method: "POST",
      body: { key: "Bad Key", value: 1 },
    });
    expect(badKey.status).toBe(400);
  });

  it("needs an admin", async () => {
    const key = (
      await json(
        await t.request("/api/admin/api-keys", { method: "POST", body: { name: "ro", scopes: ["read"] } }),
      )
    ).data.key;
    expect((await t.request("/api/admin/settings", { key })).status).toBe(403);
    expect((await t.request("/api/admin/settings", { key: null })).status).toBe(401);
  });
});
