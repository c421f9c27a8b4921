/**
 * The network page in a real Chromium shows which hub host holds the network: the holder's id while
 * its lease is live, "owner absent" (with the last holder) once the lease has expired, and which
 * host stands by. Leases are set up in the test's own database through the hub hosts' repository.
 */
import { randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import { acquireLease, heartbeat, releaseLease } from "../../src/hubs/index.js";
import { hasChromium, launchChromium, openDashboard } from "../support/browser.js";
import { createNetwork } from "../support/mesh.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";

const suffix = randomBytes(4).toString("hex");
const HOLDER = `site-a-${suffix}`;
const GONE = `site-b-${suffix}`;
const STANDBY = `site-c-${suffix}`;

describe.skipIf(!hasChromium())("the network page's hub host in Chromium", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let held: { id: string };
  let absent: { id: string };
  const pageErrors: string[] = [];

  beforeAll(async () => {
    t = await createTestPlatform();
    const db = t.platform.database.db;
    held = await createNetwork(t, { name: `held-${suffix}` });
    absent = await createNetwork(t, { name: `absent-${suffix}` });
    const startedAt = new Date();
    await heartbeat(db, { id: HOLDER, networks: [held.id], version: "test", startedAt });
    await heartbeat(db, { id: GONE, networks: [absent.id], version: "test", startedAt });
    expect(await acquireLease(db, held.id, HOLDER, 600)).toBe(1);
    const epoch = await acquireLease(db, absent.id, GONE, 600);
    expect(epoch).toBe(1);
    // GONE's lease ends now and nobody takes the network over.
    await releaseLease(db, absent.id, GONE, epoch!);
    const named = await t.request(`/api/v1/networks/${held.id}`, {
      method: "PATCH",
      body: { standbyHubId: STANDBY },
    });
    expect(named.status).toBe(200);

    server = await listen(t.app, 0, "127.0.0.1");
    browser = await launchChromium();
    const baseURL = `http://127.0.0.1:${server.port}`;
    ({ context, page } = await openDashboard(browser, { baseURL, key: t.adminKey, pageErrors }));
    page.setDefaultTimeout(20_000);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await t?.close();
  });

  it("shows the holder's id for a network whose lease is live, and its standby", async () => {
    await page.goto(`/#/networks/${held.id}`);
    const hub = page.locator(".hub-host");
    await expect
      .poll(() => hub.textContent(), { timeout: 20_000 })
      .toBe(`${HOLDER} (serving); standby ${STANDBY}`);
    expect(await hub.locator(".badge-warn").count()).toBe(0);
  });

  it('shows "owner absent" with the last holder for a network whose lease expired', async () => {
    await page.goto(`/#/networks/${absent.id}`);
    const hub = page.locator(".hub-host");
    await expect.poll(() => hub.textContent(), { timeout: 20_000 }).toBe(`owner absent (was ${GONE})`);
    expect(await hub.locator(".badge-warn").textContent()).toBe(`owner absent (was ${GONE})`);
  });

  it("raised no script errors", () => {
    expect(pageErrors).toEqual([]);
  });
});
