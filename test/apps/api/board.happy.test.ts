import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUE_NAMES } from "../../../src/queue/index.js";
import { json } from "../../support/http.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

describe("Bull Board at /admin/queues", () => {
  let t: TestPlatform;
  let cookie: string;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("?api_key=<admin> becomes an HttpOnly, SameSite=Strict session cookie and a redirect without the key", async () => {
    const res = await t.request(`/admin/queues?api_key=${encodeURIComponent(t.adminKey)}`, { key: null });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/queues");
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^wiresync_session=[^;]+;/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).not.toContain(t.adminKey);
    cookie = setCookie.split(";")[0]!;
    expect(t.logs.text).toContain("/admin/queues?api_key=[REDACTED]");
    expect(t.logs.text).not.toContain(t.adminKey);
  });

  it("with the cookie, the page loads, with and without a trailing slash", async () => {
    for (const path of ["/admin/queues", "/admin/queues/"]) {
      const res = await t.request(path, { key: null, headers: { Cookie: cookie } });
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(html).toContain("wiresync queues");
      expect(html).toContain('<base href="/admin/queues/" />');
    }
  });

  it("with the cookie, the board's API lists the four queues", async () => {
    const res = await t.request("/admin/queues/api/queues", { key: null, headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.queues.map((q: { name: string }) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
  });

  it("serves the board's static assets", async () => {
    const html = await (await t.request("/admin/queues", { key: null, headers: { Cookie: cookie } })).text();
    const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => `/admin/queues/${m[1]}`);
    expect(assets.filter((a) => a.endsWith(".js")).length, html).toBeGreaterThan(0);
    for (const asset of assets) {
      const res = await t.request(asset, { key: null, headers: { Cookie: cookie } });
      expect(res.status, asset).toBe(200);
    }
  });

  it("the admin key in the header works too, without a redirect", async () => {
    expect((await t.request("/admin/queues/api/queues")).status).toBe(200);
  });
});
