/**
 * The settings pages in a real Chromium against a real HTTP server, database and Redis: webhooks
 * (create with the secret shown once, test, edit, deliveries with replay, delete) and what a
 * read-only session sees there. Each change made on a page is checked through the API and the
 * database, and local HTTP servers stand in for the webhook receivers.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import { webhookDeliveries } from "../../src/db/index.js";
import { agentCommand } from "../../src/mesh/index.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../src/notify/index.js";
import { hasChromium, launchChromium, openDashboard } from "../support/browser.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { StandIn } from "../support/stand-ins.js";
import { startStandIn } from "../support/stand-ins.js";

/** What the tests read inside the page (this project type-checks without the DOM library). */
interface PageGlobals {
  document: { documentElement: { outerHTML: string; scrollWidth: number } };
  navigator: { clipboard: { readText(): Promise<string> } };
}

describe.skipIf(!hasChromium())("the settings pages in Chromium", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let browser: Browser;
  let receiver: StandIn;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const shots = mkdtempSync(path.join(tmpdir(), "wiresync-settings-"));
  /** Every secret a page showed once; no later page or read-only answer may contain one. */
  const secretsShown: string[] = [];

  const api = async (url: string, init: { method?: string; body?: unknown; key?: string } = {}) => {
    const res = await t.request(url, init);
    return { status: res.status, body: await json(res) };
  };
  const post = async (url: string, body: unknown) => {
    const { status, body: payload } = await api(url, { method: "POST", body });
    expect(status, JSON.stringify(payload)).toBeLessThan(300);
    return payload.data;
  };
  const html = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.outerHTML);
  const heading = (page: Page, name: string) => page.getByRole("heading", { level: 1, name });

  async function openSignedIn(key: string, width = 1280): Promise<Page> {
    const baseURL = `http://127.0.0.1:${server.port}`;
    const { context, page } = await openDashboard(browser, { baseURL, key, width, pageErrors });
    contexts.push(context);
    return page;
  }

  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
    browser = await launchChromium();
    receiver = await startStandIn(() => ({ status: 204 }));
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await receiver?.close();
    await server?.close(1_000);
    await t?.close();
    console.info(`settings screenshots: ${shots}`);
  });

  describe("webhooks", () => {
    let page: Page;
    let hookId: string;
    const form = () => page.locator("form", { has: page.getByRole("heading", { name: "New webhook" }) });
    const row = (name: string) => page.locator("main tbody tr", { hasText: name });

    it("creates a signed webhook and shows its secret once, which signs the test it sends", async () => {
      page = await openSignedIn(t.adminKey);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Webhooks" }).click();
      await heading(page, "Webhooks").waitFor();
      await form().getByLabel("Name").fill("ops");
      await form().getByLabel("Type").selectOption("GENERIC");
      await form().getByLabel("URL").fill(`${receiver.url}/hook`);
      await form().getByLabel("Events").fill("node.enrolled");
      await form().getByRole("button", { name: "Create webhook" }).click();

      const secret = await page.getByRole("textbox", { name: "Signing secret" }).inputValue();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      secretsShown.push(secret);
      const listed = await api("/api/admin/settings/webhooks");
      expect(listed.body.data).toHaveLength(1);
      expect(listed.body.data[0]).toMatchObject({
        name: "ops",
        type: "GENERIC",
        events: ["node.enrolled"],
        enabled: true,
      });
      expect(JSON.stringify(listed.body)).not.toContain(secret);
      hookId = listed.body.data[0].id;
      await row("ops").waitFor();
      await page.screenshot({ path: path.join(shots, "webhooks-created.png"), fullPage: true });

      await row("ops").getByRole("button", { name: "Send a test to webhook ops" }).click();
      await expect
        .poll(() => page.locator("#flash").textContent())
        .toMatch(/^Test sent to ops: HTTP 204 in \d+ ms\.$/);
      expect(receiver.received).toHaveLength(1);
      const [sent] = receiver.received;
      const signed = {
        timestamp: String(sent!.headers[TIMESTAMP_HEADER.toLowerCase()]),
        signature: String(sent!.headers[SIGNATURE_HEADER.toLowerCase()]),
        body: sent!.body,
      };
      const now = Math.floor(Date.now() / 1000);
      expect(verifySignature(secret, signed, now)).toBe(true);
      expect(verifySignature(`${secret}x`, signed, now)).toBe(false);
    });

    it("does not show the secret again after a reload", async () => {
      await page.reload();
      await heading(page, "Webhooks").waitFor();
      await row("ops").waitFor();
      expect(await page.getByRole("textbox", { name: "Signing secret" }).count()).toBe(0);
      expect(await html(page)).not.toContain(secretsShown[0]);
    });

    it("edits the events and disables, then enables the webhook", async () => {
      await row("ops").getByRole("button", { name: "Edit webhook ops" }).click();
      const edit = page.locator("form", { has: page.getByRole("heading", { name: "Edit ops" }) });
      await edit.getByLabel("Events").fill("node.enrolled, node.removed");
      await edit.getByLabel("Enabled").uncheck();
      await edit.getByRole("button", { name: "Save webhook" }).click();
      await expect.poll(() => row("ops").textContent()).toContain("disabled");
      const [disabled] = (await api("/api/admin/settings/webhooks")).body.data;
      expect(disabled).toMatchObject({ enabled: false, events: ["node.enrolled", "node.removed"] });

      await row("ops").getByRole("button", { name: "Edit webhook ops" }).click();
      await edit.getByLabel("Enabled").check();
      await edit.getByRole("button", { name: "Save webhook" }).click();
      await expect.poll(() => row("ops").textContent()).toContain("enabled");
      const [enabled] = (await api("/api/admin/settings/webhooks")).body.data;
      expect(enabled).toMatchObject({ enabled: true, events: ["node.enrolled", "node.removed"] });
    });

    it("lists the webhook's deliveries and replays a delivered one", async () => {
      const network = await post("/api/v1/networks", { name: "office", cidr4: "10.61.0.0/24" });
      await post("/api/v1/nodes", { networkId: network.id, name: "laptop" });
      // The relay (running in the background too) turns the event into a pending delivery; no delivery
      // worker runs here, so the test sends it as one would.
      const pendingOfOps = () =>
        t.platform.database.db
          .select()
          .from(webhookDeliveries)
          .where(and(eq(webhookDeliveries.webhookId, hookId), eq(webhookDeliveries.status, "pending")));
      await expect
        .poll(async () => {
          await t.platform.services.relay.run();
          return (await pendingOfOps()).length;
        })
        .toBe(1);
      const [delivery] = await pendingOfOps();
      expect(await t.platform.services.webhooks.deliver(delivery!.id)).toMatchObject({ status: "delivered" });
      const deliveries = await api(`/api/admin/settings/webhooks/${hookId}/deliveries`);
      expect(
        deliveries.body.data.items.map((d: { eventType: string; status: string }) => [d.eventType, d.status]),
      ).toEqual([
        ["node.enrolled", "delivered"],
        ["webhook.test", "delivered"],
      ]);

      await row("ops").getByRole("button", { name: "Deliveries of webhook ops" }).click();
      const panel = page.getByRole("region", { name: "Deliveries of ops" });
      const deliveryRow = panel.locator("tbody tr", { hasText: "node.enrolled" });
      await expect.poll(() => panel.locator("tbody tr").count()).toBe(2);
      expect(await deliveryRow.textContent()).toContain("delivered");
      expect(await deliveryRow.textContent()).toContain("HTTP 204");

      await panel.getByRole("button", { name: "Replay delivery of node.enrolled" }).click();
      await expect.poll(() => deliveryRow.textContent()).toContain("pending");
      const [replayed] = await t.platform.database.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.id, delivery!.id));
      expect(replayed!.status).toBe("pending");
      // Pending: nothing to replay until it finishes.
      expect(await panel.getByRole("button", { name: "Replay delivery of node.enrolled" }).count()).toBe(0);
    });

    it("asks for a token for a Gotify webhook only, and shows no secret for one", async () => {
      const token = "AgotifyAppToken.1";
      expect(await form().getByLabel("Gotify token").isVisible()).toBe(false);
      await form().getByLabel("Type").selectOption("GOTIFY");
      await form().getByLabel("Gotify token").fill(token);
      await form().getByLabel("Name").fill("phone");
      await form().getByLabel("URL").fill(`${receiver.url}/gotify`);
      await form().getByRole("button", { name: "Create webhook" }).click();
      await row("phone").waitFor();
      const gotify = (await api("/api/admin/settings/webhooks")).body.data.find(
        (w: { name: string }) => w.name === "phone",
      );
      expect(gotify).toMatchObject({ type: "GOTIFY", events: ["*"], enabled: true });
      expect(await page.getByRole("textbox", { name: "Signing secret" }).count()).toBe(0);
      expect(await html(page)).not.toContain(token);
      expect(await form().getByLabel("Gotify token").isVisible()).toBe(false);
      expect((await api(`/api/admin/settings/webhooks?id=${gotify.id}`, { method: "DELETE" })).status).toBe(
        200,
      );
      await page.reload();
      await row("ops").waitFor();
    });

    it("deletes the webhook only once the dialog is confirmed", async () => {
      await row("ops").getByRole("button", { name: "Delete webhook ops" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
      expect((await api("/api/admin/settings/webhooks")).body.data).toHaveLength(1);

      await row("ops").getByRole("button", { name: "Delete webhook ops" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete webhook" }).click();
      await page.getByText("No webhooks yet.").waitFor();
      expect((await api("/api/admin/settings/webhooks")).body.data).toEqual([]);
    });
  });

  describe("API keys", () => {
    let page: Page;
    const row = (name: string) => page.locator("main tbody tr", { hasText: name });

    it("creates a read-only key, shown once with a copy button, that works with read scope only", async () => {
      page = await openSignedIn(t.adminKey);
      await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
      await heading(page, "API keys").waitFor();
      const form = page.locator("form", { has: page.getByRole("heading", { name: "New API key" }) });
      await form.getByLabel("Name").fill("backup script");
      await form.getByRole("button", { name: "Create API key" }).click();

      const key = await page.getByRole("textbox", { name: "API key" }).inputValue();
      secretsShown.push(key);
      await page.getByRole("button", { name: "Copy key" }).click();
      await expect.poll(() => page.locator("#flash").textContent()).toBe("Key copied to the clipboard.");
      expect(
        await page.evaluate(() => (globalThis as unknown as PageGlobals).navigator.clipboard.readText()),
      ).toBe(key);

      const listed = (await api("/api/admin/api-keys")).body.data;
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ name: "backup script", scopes: ["read"], revokedAt: null });
      expect(key.startsWith(listed[0].prefix)).toBe(true);
      expect(JSON.stringify(listed)).not.toContain(key);
      expect((await api("/api/v1/networks", { key })).status).toBe(200);
      expect((await api("/api/admin/api-keys", { key })).status).toBe(403);
      await expect.poll(() => row("backup script").textContent()).toContain("active");
    });

    it("does not show the key again after a reload", async () => {
      await page.reload();
      await heading(page, "API keys").waitFor();
      await row("backup script").waitFor();
      expect(await page.getByRole("textbox", { name: "API key" }).count()).toBe(0);
      expect(await html(page)).not.toContain(secretsShown.at(-1));
    });

    it("revokes the key only once the dialog is confirmed, and it stops working", async () => {
      const key = secretsShown.at(-1)!;
      await row("backup script").getByRole("button", { name: "Revoke API key backup script" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
      expect((await api("/api/v1/networks", { key })).status).toBe(200);

      await row("backup script").getByRole("button", { name: "Revoke API key backup script" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Revoke API key" }).click();
      await expect.poll(() => row("backup script").textContent()).toContain("revoked");
      const [revoked] = (await api("/api/admin/api-keys")).body.data;
      expect(revoked.revokedAt).not.toBeNull();
      expect((await api("/api/v1/networks", { key })).status).toBe(401);
      expect(await row("backup script").getByRole("button").count()).toBe(0);
    });
  });

  describe("enrollment keys", () => {
    let page: Page;

    it("shows the agent command line for a new key once, the same line the CLI prints", async () => {
      await post("/api/v1/networks", { name: "branch", cidr4: "10.62.0.0/24" });
      page = await openSignedIn(t.adminKey, 360);
      await page.goto("/#/enrollment-keys");
      await heading(page, "Enrollment keys").waitFor();
      const form = page.locator("form", { has: page.getByRole("heading", { name: "New enrollment key" }) });
      await form.getByLabel("Network").selectOption({ label: "branch" });
      await form.getByLabel("Description").fill("branch laptops");
      await form.getByRole("button", { name: "Create key" }).click();

      const key = await page.getByRole("textbox", { name: "Enrollment key" }).inputValue();
      secretsShown.push(key);
      const command = page.getByRole("region", { name: /^Enrollment key for branch$/ }).locator("pre");
      expect(await command.textContent()).toBe(
        `WIRESYNC_URL=http://127.0.0.1:${server.port} AGENT_ENROLLMENT_KEY=${key} AGENT_INTERFACE=wsync0 AGENT_NAME=$(hostname) wiresync-agent`,
      );
      expect(await command.textContent()).toBe(agentCommand(`http://127.0.0.1:${server.port}`, key));
      // The long line wraps inside a 360 px screen instead of widening the page.
      expect(
        await page.evaluate(
          () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
        ),
      ).toBeLessThanOrEqual(360);
      await page.screenshot({ path: path.join(shots, "enrollment-key-360.png"), fullPage: true });

      const [listed] = (await api("/api/v1/enrollment-keys")).body.data;
      expect(listed).toMatchObject({ description: "branch laptops", revokedAt: null });
      expect(JSON.stringify(listed)).not.toContain(key);

      await page.reload();
      await heading(page, "Enrollment keys").waitFor();
      await page.locator("main tbody tr", { hasText: "branch laptops" }).waitFor();
      expect(await html(page)).not.toContain(key);
    });
  });

  describe("a read-only session", () => {
    let page: Page;
    let readKey: string;

    it("sees no settings links, no create forms and gets no secrets", async () => {
      readKey = (await post("/api/admin/api-keys", { name: "auditor", scopes: ["read"] })).key;
      page = await openSignedIn(readKey);
      const navigation = page.getByRole("navigation", { name: "Main" });
      for (const [link, hash, create, endpoint] of [
        ["Webhooks", "#/webhooks", "Create webhook", "/api/admin/settings/webhooks"],
        ["API keys", "#/api-keys", "Create API key", "/api/admin/api-keys"],
      ] as const) {
        expect(await navigation.getByRole("link", { name: link }).isVisible()).toBe(false);
        await page.goto(`/${hash}`);
        await heading(page, "Admins only").waitFor();
        expect(await page.getByRole("button", { name: create }).count()).toBe(0);
        expect((await api(endpoint, { key: readKey })).status).toBe(403);
      }
      const shown = await html(page);
      for (const secret of secretsShown) expect(shown).not.toContain(secret);
      // Enrollment keys can be read, not made.
      await page.goto("/#/enrollment-keys");
      await heading(page, "Enrollment keys").waitFor();
      await page.locator("main tbody tr", { hasText: "branch laptops" }).waitFor();
      expect(await page.getByRole("button", { name: "Create key" }).count()).toBe(0);
      expect(await page.getByRole("button", { name: /^Revoke/ }).count()).toBe(0);
      const listedForReader = await api("/api/v1/enrollment-keys", { key: readKey });
      expect(listedForReader.status).toBe(200);
      for (const secret of secretsShown) expect(JSON.stringify(listedForReader.body)).not.toContain(secret);
      for (const secret of secretsShown) expect(await html(page)).not.toContain(secret);
    });
  });

  it.each([
    ["#/webhooks", "Webhooks"],
    ["#/api-keys", "API keys"],
  ])("lays %s out within a 360 px wide screen", async (hash, title) => {
    await post("/api/admin/settings/webhooks", {
      name: `narrow check ${title}`,
      type: "GENERIC",
      webhookUrl: `${receiver.url}/a/long/path/that/would/widen/the/page/${"x".repeat(60)}?token=${"y".repeat(40)}`,
      events: ["node.offline", "node.degraded", "sync.failed"],
    });
    const page = await openSignedIn(t.adminKey, 360);
    await page.goto(`/${hash}`);
    await heading(page, title).waitFor();
    await page.locator("main tbody tr").first().waitFor();
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(360);
    await page.screenshot({ path: path.join(shots, `${title.replace(" ", "-")}-360.png`), fullPage: true });
  });

  it("raised no script errors on any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
