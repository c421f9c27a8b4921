import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const MISSING = "00000000-0000-4000-8000-000000000000";

describe("webhook and email API errors", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const hook = { name: "one", type: "GENERIC", webhookUrl: "http://127.0.0.1:9/x", events: ["sync.failed"] };

  it.each([
    ["an unknown type", { ...hook, type: "SLACK" }, "type"],
    ["no events", { ...hook, events: [] }, "events"],
    ["a malformed event name", { ...hook, events: ["Sync Failed"] }, "events.0"],
    ["a bad scope", { ...hook, scope: "network:abc" }, "scope"],
    ["an unknown field", { ...hook, colour: "red" }, ""],
  ])("refuses a webhook with %s (400, names the field)", async (_name, body, field) => {
    const res = await t.request("/api/admin/settings/webhooks", { method: "POST", body });
    expect(res.status).toBe(400);
    const problem = await json(res);
    expect(problem.code).toBe("VALIDATION_FAILED");
    if (field) expect(problem.error.details.issues[0].path).toBe(field);
  });

  it("answers 409 for a taken name and 404 for unknown ids", async () => {
    expect((await t.request("/api/admin/settings/webhooks", { method: "POST", body: hook })).status).toBe(
      201,
    );
    const again = await t.request("/api/admin/settings/webhooks", { method: "POST", body: hook });
    expect(again.status).toBe(409);
    for (const [method, path, body] of [
      ["PUT", "/api/admin/settings/webhooks", { id: MISSING, enabled: false }],
      ["PATCH", "/api/admin/settings/webhooks", { id: MISSING }],
      ["DELETE", `/api/admin/settings/webhooks?id=${MISSING}`, undefined],
      ["GET", `/api/admin/settings/webhooks/${MISSING}/deliveries`, undefined],
      ["POST", `/api/admin/settings/webhooks/${MISSING}/deliveries/${MISSING}/replay`, undefined],
      ["GET", `/api/admin/emails/${MISSING}`, undefined],
    ] as const) {
      const res = await t.request(path, { method, body });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });

  it("refuses to dispatch a reserved or malformed event name", async () => {
    for (const event of ["sync.failed", "webhook.disabled", "Deploy Done"]) {
      const res = await t.request("/api/v1/webhook/dispatch", { method: "POST", body: { event, data: {} } });
      expect(res.status, event).toBe(400);
    }
  });

  it("refuses an email whose data does not fit its template, and queues nothing", async () => {
    const res = await t.request("/api/v1/email/queue", {
      method: "POST",
      body: { to: "a@example.com", template: "sync-failed", data: { nope: 1 } },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).detail).toMatch(/data does not fit template sync-failed: run/);
    expect((await json(await t.request("/api/admin/emails"))).data.total).toBe(0);
    const bad = await t.request("/api/v1/email/queue", {
      method: "POST",
      body: { to: "not-an-address", template: "welcome", data: {} },
    });
    expect(bad.status).toBe(400);
  });
});
