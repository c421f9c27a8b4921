import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Resolver } from "../../../../src/notify/index.js";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const dns: Resolver = async (host) => {
  if (host === "hooks.example.com") return [{ address: "93.184.216.34", family: 4 }];
  if (host === "internal.example.com") return [{ address: "192.168.10.4", family: 4 }];
  throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
};

describe("webhook admin API: who may, and which URLs", () => {
  let t: TestPlatform;
  let readKey: string;
  beforeAll(async () => {
    t = await createTestPlatform({ notify: { webhooks: { allowPrivate: false } }, webhookResolver: dns });
    const res = await t.request("/api/admin/api-keys", {
      method: "POST",
      body: { name: "reader", scopes: ["read"] },
    });
    readKey = (await json(res)).data.key;
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ["GET", "/api/admin/settings/webhooks"],
    ["POST", "/api/admin/settings/webhooks"],
    ["PATCH", "/api/admin/settings/webhooks"],
    ["GET", "/api/admin/emails"],
    ["POST", "/api/v1/webhook/dispatch"],
    ["POST", "/api/v1/email/queue"],
  ])("%s %s needs credentials (401) and an admin key (403 for a read key)", async (method, path) => {
    const body = method === "GET" ? undefined : {};
    expect((await t.request(path, { method, key: null, body })).status).toBe(401);
    expect((await t.request(path, { method, key: readKey, body })).status).toBe(403);
  });

  it.each([
    ["http://hooks.example.com/x", /https/],
    ["https://127.0.0.1/x", /loopback/],
    ["https://[::1]/x", /loopback/],
    ["https://[::ffff:169.254.169.254]/x", /link-local/],
    ["https://internal.example.com/x", /192\.168\.10\.4, a private address/],
    ["https://nowhere.example.com/x", /does not resolve/],
    ["https://user:pw@hooks.example.com/x", /credentials/],
  ])("refuses %s with 400 WEBHOOK_URL_REFUSED and stores nothing", async (webhookUrl, message) => {
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: `h-${Math.random()}`, type: "GENERIC", webhookUrl, events: ["*"] },
    });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.code).toBe("WEBHOOK_URL_REFUSED");
    expect(body.detail).toMatch(message);
    expect((await json(await t.request("/api/admin/settings/webhooks"))).data).toEqual([]);
  });

  it("accepts a public https URL, masks it in lists and shows the secret only once", async () => {
    const url = "https://hooks.example.com/api/webhooks/42/very-secret-token";
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: "public", type: "DISCORD", webhookUrl: url, events: ["sync.failed"] },
    });
    expect(res.status).toBe(201);
    const created = (await json(res)).data;
    expect(created.webhookUrl).toBe("https://hooks.example.com/api/webhooks/42/****");
    const listed = await (await t.request("/api/admin/settings/webhooks")).text();
    for (const leaked of [created.secret, "very-secret-token"]) {
      expect(listed).not.toContain(leaked);
      expect(t.logs.text).not.toContain(leaked);
    }
    const rotated = await t.request("/api/admin/settings/webhooks", {
      method: "PUT",
      body: { id: created.id, rotateSecret: true },
    });
    const after = (await json(rotated)).data;
    expect(after.secret).toMatch(/^whsec_/);
    expect(after.secret).not.toBe(created.secret);
  });
});
