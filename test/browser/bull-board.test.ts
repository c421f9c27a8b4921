import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import { QUEUE_NAMES } from "../../src/queue/index.js";
import { hasChromium, launchChromium } from "../support/browser.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";

describe.skipIf(!hasChromium())("Bull Board in Chromium", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let browser: Browser;
  let shotsDir: string;

  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
    browser = await launchChromium();
    shotsDir = await mkdtemp(path.join(tmpdir(), "wiresync-shots-"));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.close();
    if (shotsDir) await rm(shotsDir, { recursive: true, force: true });
  });

  it("opens with ?api_key=, drops the key from the address bar, and renders the four queues", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const failed: string[] = [];
    page.on("response", (res) => {
      if (res.url().startsWith(`http://127.0.0.1:${server.port}/`) && res.status() >= 400) {
        failed.push(`${res.status()} ${res.url()}`);
      }
    });
    const base = `http://127.0.0.1:${server.port}`;
    await page.goto(`${base}/admin/queues?api_key=${encodeURIComponent(t.adminKey)}`, {
      waitUntil: "domcontentloaded",
    });
    expect(page.url()).toBe(`${base}/admin/queues`);

    for (const name of QUEUE_NAMES) {
      await page.getByText(name, { exact: true }).first().waitFor({ state: "visible", timeout: 20_000 });
    }
    expect(await page.title()).toBe("wiresync queues");
    expect(failed, "every request to our server succeeds").toEqual([]);

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "wiresync_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });

    const shot = path.join(shotsDir, "bull-board.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(1_000);
    await context.close();
  });

  it("without a key the page is refused", async () => {
    const page = await browser.newPage();
    const res = await page.goto(`http://127.0.0.1:${server.port}/admin/queues`);
    expect(res?.status()).toBe(401);
    await page.close();
  });
});
