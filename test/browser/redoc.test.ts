/**
 * `/redoc` in Chromium with every request to another host blocked: Redoc renders the same OpenAPI
 * document as `/openapi.json` from what this process serves alone.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import { hasChromium, launchChromium } from "../support/browser.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";

describe.skipIf(!hasChromium())("Redoc in Chromium", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.close();
  });

  it("renders the OpenAPI document's operations, offline", async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    const context = await browser.newContext();
    const outside: string[] = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`) || url.startsWith("data:") || url.startsWith("blob:"))
        return route.continue();
      outside.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    const blocked: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/.test(m.text())) blocked.push(m.text());
    });
    await page.goto(`${origin}/redoc`);

    const spec = await json(await t.request("/openapi.json", { key: null }));
    await expect
      .poll(() => page.locator("h1").first().textContent(), { timeout: 30_000 })
      .toContain(spec.info.title);
    // Operations from the document, by their summaries: the stats routes and a panel alias.
    for (const path of ["/api/v1/stats/overview", "/api/admin/sync"]) {
      const summary = spec.paths[path].get?.summary ?? spec.paths[path].post?.summary;
      await expect
        .poll(() => page.getByText(summary, { exact: true }).count(), { timeout: 15_000 })
        .toBeGreaterThan(0);
    }
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    // Only Redoc's "by Redocly" logo from its CDN is kept out, by the page's policy.
    expect(
      blocked.every((b) => b.includes("cdn.redoc.ly/redoc/logo-mini.svg")),
      blocked.join("\n"),
    ).toBe(true);
    await context.close();
  });
});
