/**
 * The console's remaining settings pages in a real Chromium against a real HTTP server, database and
 * Redis: users, emails sent, settings and the sync schedule, a network's settings, a node's edit page,
 * and the sync runs list following the live stream. Each change made on a page is checked through
 * the API; each destructive one is tried first with Cancel; each page is laid out on a 375 px screen.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import type { TaskHandler } from "../../src/sync/index.js";
import { generateKeyPair } from "../../src/wireguard/index.js";
import { PASSWORD } from "../support/auth.js";
import { hasChromium, launchChromium, openDashboard } from "../support/browser.js";
import { gatedTasks } from "../support/gated-tasks.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";

/** What the tests read inside the page (this project type-checks without the DOM library). */
interface PageGlobals {
  document: { documentElement: { outerHTML: string; scrollWidth: number } };
  __sameDocument?: boolean;
}

const GIB = 1024 ** 3;

describe.skipIf(!hasChromium())("the console's settings pages in Chromium", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const shots = mkdtempSync(path.join(tmpdir(), "wiresync-console-"));

  const api = async (url: string, init: { method?: string; body?: unknown; key?: string | null } = {}) => {
    const res = await t.request(url, init);
    return { status: res.status, body: await json(res) };
  };
  const get = async (url: string) => {
    const { status, body } = await api(url);
    expect(status, JSON.stringify(body)).toBe(200);
    return body.data;
  };
  const post = async (url: string, body: unknown) => {
    const { status, body: payload } = await api(url, { method: "POST", body });
    expect(status, JSON.stringify(payload)).toBeLessThan(300);
    return payload.data;
  };
  const signIn = (email: string, password = PASSWORD) =>
    t.request("/api/auth/login", { method: "POST", body: { email, password }, key: null });
  const html = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.outerHTML);
  const heading = (page: Page, name: string) => page.getByRole("heading", { level: 1, name });
  const dialog = (page: Page) => page.getByRole("dialog");

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
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close(1_000);
    await t?.close();
    console.info(`console screenshots: ${shots}`);
  });

  describe("users", () => {
    let page: Page;
    const form = () => page.locator("form", { has: page.getByRole("heading", { name: "New user" }) });
    const row = (email: string) => page.locator("main tbody tr", { hasText: email });
    const cell = (email: string, column: number) => row(email).locator("td").nth(column);
    const users = async () =>
      (await get("/api/admin/users")).map((u: { email: string; role: string; disabledAt: string | null }) => [
        u.email,
        u.role,
        u.disabledAt === null ? "active" : "disabled",
      ]);

    async function addUser(email: string) {
      await form().getByLabel("Email").fill(email);
      await form().getByLabel("Password").fill(PASSWORD);
      await form().getByRole("button", { name: "Add user" }).click();
      await row(email).waitFor();
    }

    it("adds a user, makes them admin, and refuses to demote the last enabled admin", async () => {
      page = await openSignedIn(t.adminKey);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
      await heading(page, "Users").waitFor();
      await page.getByText("No users yet.").waitFor();
      await addUser("ops@example.test");
      expect(await users()).toEqual([["ops@example.test", "user", "active"]]);
      expect(await cell("ops@example.test", 2).textContent()).toBe("user");

      await row("ops@example.test").getByRole("button", { name: "Make admin ops@example.test" }).click();
      await dialog(page).getByRole("button", { name: "Make admin" }).click();
      await expect.poll(() => cell("ops@example.test", 2).textContent()).toBe("admin");
      expect(await users()).toEqual([["ops@example.test", "admin", "active"]]);

      await row("ops@example.test").getByRole("button", { name: "Make user ops@example.test" }).click();
      await dialog(page).getByRole("button", { name: "Make user" }).click();
      await expect
        .poll(() => page.locator("main .error-box").textContent())
        .toBe("ops@example.test is the last enabled admin: make another user admin first");
      expect(await users()).toEqual([["ops@example.test", "admin", "active"]]);
    });

    it("disables a user only once confirmed, which ends their sign-in, and enables them again", async () => {
      await addUser("viewer@example.test");
      const session = (await json(await signIn("viewer@example.test"))).data.token;
      const disable = () =>
        row("viewer@example.test").getByRole("button", { name: "Disable user viewer@example.test" }).click();

      await disable();
      await dialog(page).getByRole("button", { name: "Cancel" }).click();
      expect((await users())[1]).toEqual(["viewer@example.test", "user", "active"]);

      await disable();
      await dialog(page).getByRole("button", { name: "Disable user" }).click();
      await expect.poll(() => cell("viewer@example.test", 3).textContent()).toBe("disabled");
      expect((await users())[1]).toEqual(["viewer@example.test", "user", "disabled"]);
      expect((await signIn("viewer@example.test")).status).toBe(403);
      const me = await t.request("/api/auth/me", {
        key: null,
        headers: { Authorization: `Bearer ${session}` },
      });
      expect(me.status).toBe(401);

      await row("viewer@example.test")
        .getByRole("button", { name: "Enable user viewer@example.test" })
        .click();
      await expect.poll(() => cell("viewer@example.test", 3).textContent()).toBe("active");
      expect((await users())[1]).toEqual(["viewer@example.test", "user", "active"]);
      expect((await signIn("viewer@example.test")).status).toBe(200);
    });

    it("resets a password to a generated password shown once, which signs the user in", async () => {
      await row("viewer@example.test")
        .getByRole("button", { name: "Reset password of viewer@example.test" })
        .click();
      await dialog(page).getByRole("button", { name: "Reset password" }).click();
      const password = await page.getByRole("textbox", { name: "Generated password" }).inputValue();
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect((await signIn("viewer@example.test")).status).toBe(401);
      expect((await signIn("viewer@example.test", password)).status).toBe(200);

      await page.reload();
      await row("viewer@example.test").waitFor();
      expect(await page.getByRole("textbox", { name: "Generated password" }).count()).toBe(0);
      expect(await html(page)).not.toContain(password);
      expect(JSON.stringify((await api("/api/admin/audit")).body)).not.toContain(password);
    });
  });

  describe("emails sent", () => {
    it("lists the emails with their status, filters by status, and opens one", async () => {
      await post("/api/v1/email/queue", {
        to: "ann@example.test",
        subject: "Welcome, Ann",
        template: "welcome",
      });
      await post("/api/v1/email/queue", {
        to: "bob@example.test",
        subject: "Welcome, Bob",
        template: "welcome",
      });
      const listed = (await get("/api/admin/emails")).items as { id: string; to: string; status: string }[];
      expect(listed.map((e) => e.to)).toEqual(["bob@example.test", "ann@example.test"]);

      const page = await openSignedIn(t.adminKey);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Emails" }).click();
      await heading(page, "Emails sent").waitFor();
      const rows = page.locator("main tbody tr:not(.detail-row)");
      await expect.poll(() => rows.count()).toBe(2);
      for (const [i, email] of listed.entries()) {
        expect(await rows.nth(i).locator("td").nth(1).textContent()).toBe(email.to);
        expect(await rows.nth(i).locator("td").nth(4).textContent()).toBe(email.status);
      }
      // Each cell is labelled once, after its column (for the narrow-screen cards).
      expect(
        await rows
          .first()
          .locator("td")
          .evaluateAll((tds) => tds.map((td) => td.getAttribute("data-label"))),
      ).toEqual(["Created", "To", "Template", "Subject", "Status", "Attempts", null]);

      await page.getByRole("button", { name: "Open email to ann@example.test: Welcome, Ann" }).click();
      const details = page.locator(`#email-${listed[1]!.id} dl`);
      await details.waitFor();
      expect(await details.textContent()).toContain(listed[1]!.id);
      expect(await details.textContent()).toContain("SubjectWelcome, Ann");
      expect(await details.textContent()).toContain("Templatewelcome");

      const other = ["queued", "sent", "skipped", "failed"].find((s) => s !== listed[0]!.status)!;
      await page.getByLabel("Status").selectOption(other);
      await expect.poll(() => page.url()).toContain(`status=${other}`);
      const expected = (await get(`/api/admin/emails?status=${other}`)).total;
      await expect.poll(() => rows.count()).toBe(Math.max(expected, 1));
      if (expected === 0) expect(await rows.first().textContent()).toBe(`No ${other} emails.`);
      expect(await html(page)).not.toContain(t.adminKey);
    });
  });

  describe("settings", () => {
    let page: Page;
    const schedule = () =>
      page.locator("form", { has: page.getByRole("heading", { name: "Sync schedule" }) });
    const setting = () => page.locator("form", { has: page.getByRole("heading", { name: "Set a setting" }) });

    it("shows a bad interval next to its field and changes nothing, then saves the schedule", async () => {
      page = await openSignedIn(t.adminKey);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
      await heading(page, "Settings").waitFor();
      const before = await get("/api/admin/sync/settings");
      expect(await schedule().getByLabel("Interval (seconds)").inputValue()).toBe(
        String(before.autoSyncInterval),
      );

      await schedule().getByLabel("Interval (seconds)").fill("10");
      await schedule().getByRole("button", { name: "Save schedule" }).click();
      const error = schedule()
        .locator(".field", { has: page.getByLabel("Interval (seconds)") })
        .locator(".field-error");
      await expect.poll(() => error.textContent()).toMatch(/30/);
      expect(await schedule().getByLabel("Interval (seconds)").getAttribute("aria-invalid")).toBe("true");
      expect(await get("/api/admin/sync/settings")).toEqual(before);

      await schedule().getByLabel("Interval (seconds)").fill("600");
      await schedule().getByLabel("Reconcile on a schedule").uncheck();
      await schedule().getByRole("button", { name: "Save schedule" }).click();
      await expect.poll(() => page.locator("#flash").textContent()).toBe("Sync schedule saved: off.");
      expect(await get("/api/admin/sync/settings")).toEqual({
        autoSyncEnabled: false,
        autoSyncInterval: 600,
      });
      expect(await error.textContent()).toBe("");
    });

    it("creates a setting, edits it, and refuses a value that is not JSON", async () => {
      await setting().getByLabel("Key").fill("ops.contact");
      await setting().getByLabel("Value").fill('"noc@example.test"');
      await setting().getByRole("button", { name: "Save setting" }).click();
      const row = page.locator("main tbody tr", { hasText: "ops.contact" });
      await row.waitFor();
      const stored = async () =>
        (await get("/api/admin/settings")).find((s: { key: string }) => s.key === "ops.contact");
      expect(await stored()).toMatchObject({ value: "noc@example.test", encrypted: false });

      await row.getByRole("button", { name: "Edit setting ops.contact" }).click();
      expect(await setting().getByLabel("Value").inputValue()).toBe('"noc@example.test"');
      await setting().getByLabel("Value").fill('["noc@example.test", "pager@example.test"]');
      await setting().getByRole("button", { name: "Save setting" }).click();
      await expect.poll(() => row.textContent()).toContain('["noc@example.test","pager@example.test"]');
      expect((await stored()).value).toEqual(["noc@example.test", "pager@example.test"]);

      await setting().getByLabel("Key").fill("ops.contact");
      await setting().getByLabel("Value").fill("noc@");
      await setting().getByRole("button", { name: "Save setting" }).click();
      await expect.poll(() => setting().locator(".form-error").textContent()).toBe("The value is not JSON.");
      expect((await stored()).value).toEqual(["noc@example.test", "pager@example.test"]);
    });
  });

  describe("a network's settings and a node's page", () => {
    let page: Page;
    let network: { id: string };
    let nodeId: string;
    const netForm = () =>
      page.locator("form", { has: page.getByRole("heading", { name: "Network settings" }) });
    const nodeForm = (name: string) =>
      page.locator("form", { has: page.getByRole("heading", { name: `Edit ${name}` }) });

    it("shows a bad MTU next to its field, then saves name, DNS, MTU, keepalive and quota", async () => {
      network = await post("/api/v1/networks", { name: "lab", cidr4: "10.71.0.0/24" });
      page = await openSignedIn(t.adminKey);
      await page.goto(`/#/networks/${network.id}`);
      await heading(page, "Nodes of lab").waitFor();
      await page.getByRole("link", { name: "Network settings" }).click();
      await heading(page, "Settings of lab").waitFor();

      await netForm().getByLabel("MTU").fill("100");
      await netForm().getByRole("button", { name: "Save network" }).click();
      await expect.poll(() => netForm().getByLabel("MTU").getAttribute("aria-invalid")).toBe("true");
      expect((await get(`/api/v1/networks/${network.id}`)).mtu).toBeNull();

      await netForm().getByLabel("Name").fill("lab2");
      await netForm().getByLabel("DNS").fill("10.71.0.1, lab.example");
      await netForm().getByLabel("MTU").fill("1380");
      await netForm().getByLabel("Keepalive (seconds)").fill("25");
      await netForm().getByLabel("Default monthly quota (GiB)").fill("2");
      const patched = page.waitForRequest(
        (r) => r.method() === "PATCH" && r.url().endsWith(`/api/v1/networks/${network.id}`),
      );
      await netForm().getByRole("button", { name: "Save network" }).click();
      await heading(page, "Settings of lab2").waitFor();
      // Only the changed fields are sent: not the listen port or the endpoint, left as they were.
      expect((await patched).postDataJSON()).toEqual({
        name: "lab2",
        dns: ["10.71.0.1", "lab.example"],
        mtu: 1380,
        persistentKeepalive: 25,
        defaultMonthlyQuotaBytes: 2 * GIB,
      });
      expect(await get(`/api/v1/networks/${network.id}`)).toMatchObject({
        name: "lab2",
        dns: ["10.71.0.1", "lab.example"],
        mtu: 1380,
        persistentKeepalive: 25,
        defaultMonthlyQuotaBytes: 2 * GIB,
        endpoint: null,
      });
    });

    it("edits a node's name, email and routes, and shows a bad route without changing anything", async () => {
      nodeId = (await post("/api/v1/nodes", { networkId: network.id, name: "laptop" })).node.id;
      await page.goto(`/#/networks/${network.id}`);
      await page.getByRole("link", { name: "laptop" }).click();
      await heading(page, "laptop").waitFor();

      await nodeForm("laptop").getByLabel("Routes").fill("not-a-network");
      await nodeForm("laptop").getByRole("button", { name: "Save node" }).click();
      await expect
        .poll(() => nodeForm("laptop").getByLabel("Routes").getAttribute("aria-invalid"))
        .toBe("true");
      expect((await get(`/api/v1/nodes/${nodeId}`)).extraAllowedIps).toEqual([]);

      await nodeForm("laptop").getByLabel("Name").fill("laptop-2");
      await nodeForm("laptop").getByLabel("Email").fill("ann@example.test");
      await nodeForm("laptop").getByLabel("Routes").fill("192.168.77.0/24, 192.168.78.0/24");
      await nodeForm("laptop").getByRole("button", { name: "Save node" }).click();
      await heading(page, "laptop-2").waitFor();
      // The form's heading and the crumbs follow the new name.
      expect(await page.locator("#node-edit-title").textContent()).toBe("Edit laptop-2");
      expect(await page.locator(".crumbs").textContent()).toBe("Networks / lab2 / laptop-2");
      expect(await get(`/api/v1/nodes/${nodeId}`)).toMatchObject({
        name: "laptop-2",
        email: "ann@example.test",
        extraAllowedIps: ["192.168.77.0/24", "192.168.78.0/24"],
        status: "pending",
      });
    });

    it("makes a new key pair on the server after asking, and says the new config went by email", async () => {
      const before = (await get(`/api/v1/nodes/${nodeId}`)).publicKey;
      const makePair = () => page.getByRole("button", { name: "Make new key pair" }).click();
      await makePair();
      await dialog(page).getByRole("button", { name: "Cancel" }).click();
      expect((await get(`/api/v1/nodes/${nodeId}`)).publicKey).toBe(before);

      await makePair();
      await dialog(page).getByRole("button", { name: "Make new key pair" }).click();
      const shown = page.getByRole("region", { name: "New key of laptop-2" });
      await shown.waitFor();
      expect(await shown.textContent()).toContain("by email to ann@example.test");
      const after = await get(`/api/v1/nodes/${nodeId}`);
      expect(after.publicKey).not.toBe(before);
      expect(after.previousPublicKey).toBe(before);
      await expect.poll(() => page.locator("main .facts").textContent()).toContain(after.publicKey);
      expect(await html(page)).not.toContain("PrivateKey");
    });

    it("disables a node only once confirmed, enables it, and re-keys it after asking", async () => {
      const enabled = () => nodeForm("laptop").getByLabel("Enabled");
      const save = () => nodeForm("laptop").getByRole("button", { name: "Save node" }).click();
      await enabled().uncheck();
      await save();
      await dialog(page).getByRole("button", { name: "Cancel" }).click();
      expect((await get(`/api/v1/nodes/${nodeId}`)).status).toBe("pending");
      await save();
      await dialog(page).getByRole("button", { name: "Disable node" }).click();
      await expect.poll(async () => (await get(`/api/v1/nodes/${nodeId}`)).status).toBe("disabled");
      await expect.poll(() => page.locator("main .facts .badge").first().textContent()).toBe("disabled");

      await enabled().check();
      await save();
      await expect.poll(async () => (await get(`/api/v1/nodes/${nodeId}`)).status).toBe("pending");

      const before = (await get(`/api/v1/nodes/${nodeId}`)).publicKey;
      const { publicKey } = generateKeyPair();
      await nodeForm("laptop").getByLabel("New public key").fill(publicKey);
      await save();
      await dialog(page).getByRole("button", { name: "Re-key node" }).click();
      await expect.poll(async () => (await get(`/api/v1/nodes/${nodeId}`)).publicKey).toBe(publicKey);
      expect(publicKey).not.toBe(before);
      await expect.poll(() => page.locator("main .facts").textContent()).toContain(publicKey);
      expect(await nodeForm("laptop").getByLabel("New public key").inputValue()).toBe("");
    });

    it("deletes the node only once confirmed, then the network", async () => {
      await page.getByRole("button", { name: "Delete node" }).click();
      await dialog(page).getByRole("button", { name: "Cancel" }).click();
      expect((await api(`/api/v1/nodes/${nodeId}`)).status).toBe(200);
      await page.getByRole("button", { name: "Delete node" }).click();
      await dialog(page).getByRole("button", { name: "Delete node" }).click();
      await heading(page, "Nodes of lab2").waitFor();
      expect((await api(`/api/v1/nodes/${nodeId}`)).status).toBe(404);

      await page.getByRole("link", { name: "Network settings" }).click();
      await page.getByRole("button", { name: "Delete network" }).click();
      await dialog(page).getByRole("button", { name: "Cancel" }).click();
      expect((await api(`/api/v1/networks/${network.id}`)).status).toBe(200);
      await page.getByRole("button", { name: "Delete network" }).click();
      await dialog(page).getByRole("button", { name: "Delete network" }).click();
      await heading(page, "Networks").waitFor();
      expect((await api(`/api/v1/networks/${network.id}`)).status).toBe(404);
    });
  });

  it("shows a sync run's progress on the sync runs page as it happens, without a reload", async () => {
    await post("/api/v1/networks", { name: "synced", cidr4: "10.72.0.0/24" });
    const page = await openSignedIn(t.adminKey);
    await page.goto("/#/sync");
    await heading(page, "Sync runs").waitFor();
    await expect.poll(() => page.locator("#live-state").getAttribute("data-state")).toBe("open");
    await page.evaluate(() => {
      (globalThis as unknown as PageGlobals).__sameDocument = true;
    });

    // No worker runs here: the test executes the run itself, letting its tasks through one at a time
    // (each longer than the time between checkpoints, so each is one sync.progress event).
    const { task, allow } = gatedTasks();
    const runId: string = (await post("/api/v1/sync/full", {})).sync_log_id;
    const execution = t.platform.services.sync.executeRun(runId, { peers: task, configs: task, usage: task });
    const cells = page.locator(`tr[data-run-id="${runId}"] td`);
    await expect.poll(() => cells.nth(2).textContent()).toBe("RUNNING");
    const total = (await get(`/api/v1/sync/status/${runId}`)).itemsTotal;
    expect(total).toBe(3);
    for (const synced of [1, 2]) {
      allow(1);
      await expect.poll(() => cells.nth(3).textContent()).toBe(`${synced} / 0 / ${total}`);
    }
    allow(total);
    expect(await execution).toMatchObject({ status: "COMPLETED", itemsSynced: total });
    await expect.poll(() => cells.nth(2).textContent()).toBe("COMPLETED");
    expect(await cells.nth(3).textContent()).toBe(`${total} / 0 / ${total}`);

    // A refresh that fails shows its error; the next one that succeeds clears it.
    const done: TaskHandler = async () => ({ ok: true, note: "done" });
    const runOnce = async () => {
      const id: string = (await post("/api/v1/sync/full", {})).sync_log_id;
      await t.platform.services.sync.executeRun(id, { peers: done, configs: done, usage: done });
      return id;
    };
    const problem = page.locator("main .error-box");
    await page.route("**/api/v1/sync/logs**", (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/problem+json",
        body: JSON.stringify({
          success: false,
          code: "UNAVAILABLE",
          title: "Unavailable",
          status: 503,
          detail: "the list is down for a test",
        }),
      }),
    );
    await runOnce();
    await expect.poll(() => problem.count()).toBe(1);
    expect(await problem.textContent()).toContain("the list is down for a test");
    await page.unroute("**/api/v1/sync/logs**");
    const later = await runOnce();
    await page.locator(`tr[data-run-id="${later}"]`).waitFor();
    await expect.poll(() => problem.count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__sameDocument === true)).toBe(
      true,
    );
  });

  describe("on a 375 px screen", () => {
    let nodeId: string;
    let networkId: string;
    beforeAll(async () => {
      const network = await post("/api/v1/networks", {
        name: "narrow-network-with-a-long-name",
        cidr4: "10.73.0.0/24",
        dns: ["10.73.0.1", "a-rather-long-search-domain.internal.example.com"],
      });
      networkId = network.id;
      nodeId = (
        await post("/api/v1/nodes", {
          networkId,
          name: "phone",
          email: "someone-with-a-long-address@example.test",
          extraAllowedIps: ["192.168.90.0/24", "192.168.91.0/24", "192.168.92.0/24"],
        })
      ).node.id;
    });

    it.each([
      ["#/users", "Users"],
      ["#/emails", "Emails sent"],
      ["#/settings", "Settings"],
      ["#/sync", "Sync runs"],
      ["network settings", "Settings of narrow-network-with-a-long-name"],
      ["node", "phone"],
    ])("lays %s out without horizontal scroll", async (which, title) => {
      const hash =
        which === "network settings"
          ? `#/networks/${networkId}/settings`
          : which === "node"
            ? `#/nodes/${nodeId}`
            : which;
      const page = await openSignedIn(t.adminKey, 375);
      await page.goto(`/${hash}`);
      await heading(page, title).waitFor();
      await page.locator("main form, main table").first().waitFor();
      expect(
        await page.evaluate(
          () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
        ),
      ).toBeLessThanOrEqual(375);
      await page.screenshot({
        path: path.join(shots, `${title.replaceAll(" ", "-")}-375.png`),
        fullPage: true,
      });
    });
  });

  it("keeps the new pages from a read-only session, and shows it a node without a form", async () => {
    const readKey = (await post("/api/admin/api-keys", { name: "auditor", scopes: ["read"] })).key;
    const page = await openSignedIn(readKey);
    const navigation = page.getByRole("navigation", { name: "Main" });
    for (const [link, hash] of [
      ["Users", "#/users"],
      ["Emails", "#/emails"],
      ["Settings", "#/settings"],
    ] as const) {
      expect(await navigation.getByRole("link", { name: link }).isVisible()).toBe(false);
      await page.goto(`/${hash}`);
      await heading(page, "Admins only").waitFor();
    }
    const [node] = (await get("/api/v1/nodes")).items;
    await page.goto(`/#/nodes/${node.id}`);
    await heading(page, node.name).waitFor();
    expect(await page.locator("main form").count()).toBe(0);
    expect(await page.getByRole("button", { name: "Delete node" }).count()).toBe(0);
    await page.goto(`/#/networks/${node.networkId}/settings`);
    await heading(page, "Admins only").waitFor();
  });

  it("raised no script errors on any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
