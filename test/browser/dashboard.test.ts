/**
 * The dashboard in a real Chromium (Debian's, never a downloaded one) against a real HTTP server,
 * database, Redis and in-process workers, used the way an admin would. Skips loudly where Chromium
 * is missing, except under CI=true, where that is a failure.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import { nodes } from "../../src/db/index.js";
import { generateKeyPair } from "../../src/mesh/index.js";
import { redisForwardingBoard } from "../../src/peer-sync/index.js";
import { checkPlan, emptyPlan } from "../../src/wireguard/index.js";
import { buildProcessors } from "../../workers/processors/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { startWorkers } from "../../workers/runtime.js";
import { IS_CI } from "../support/env.js";
import { fakeInterfaceOps } from "../support/fake-interfaces.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import { peerSyncIdle } from "../support/queues.js";

const CHROMIUM_PATH = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium && !IS_CI) {
  console.warn(
    `\n!!! SKIPPING the dashboard browser tests: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium).\n`,
  );
}

/** What the tests read inside the page (this project type-checks without the DOM library). */
interface PageGlobals {
  document: { cookie: string; activeElement: unknown; documentElement: { outerHTML: string } };
  localStorage: object;
  sessionStorage: object;
  location: { href: string };
  __xss?: number;
}

/** An audit detail and a run's `requested_by` the API accepts; the page must show them as text. */
const HOSTILE = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;

describe.skipIf(!hasChromium && !IS_CI)("the admin dashboard in Chromium", () => {
  let t: TestPlatform;
  let runtime: WorkerRuntime;
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  // The hub interface of network "hubnet", held in memory (the real ones are tested in test/e2e).
  const hubInterfaces = fakeInterfaceOps();
  let base: string;
  const pageErrors: string[] = [];
  const shots = mkdtempSync(path.join(tmpdir(), "wiresync-dashboard-"));

  const screenshot = (name: string) =>
    page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const main = () => page.locator("main");
  const nav = (name: string) =>
    page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).click();
  const heading = (name: string) => page.getByRole("heading", { level: 1, name });

  async function signIn(key: string) {
    await page.getByLabel("Admin API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).first().click();
  }

  beforeAll(async () => {
    if (!hasChromium)
      throw new Error(`CI=true and no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium`);
    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "hubnet", iface: "wshubnet", netns: undefined }], driver: "auto" },
      interfaceOps: hubInterfaces.ops,
    });
    runtime = startWorkers({
      queues: ["peer-sync", "config-push"],
      processors: buildProcessors(t.platform),
      connection: t.platform.workerConnection(),
      prefix: t.prefix,
      concurrency: { default: 2 },
      logger: t.platform.logger,
    });
    server = await listen(t.app, 0, "127.0.0.1");
    base = `http://127.0.0.1:${server.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    context = await browser.newContext({
      baseURL: base,
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
    });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on("pageerror", (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close(1_000);
    await runtime?.close(2_000);
    await t?.close();
    if (hasChromium) console.info(`dashboard screenshots: ${shots}`);
  });

  it("serves the page with a strict content security policy", async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await res.text()).toContain('<script type="module" src="/dashboard/app.js">');
  });

  it("shows the API's problem detail for a wrong key and opens no session", async () => {
    await page.goto("/");
    await expect
      .poll(() =>
        page
          .getByLabel("Admin API key")
          .evaluate((el) => el === (globalThis as unknown as PageGlobals).document.activeElement),
      )
      .toBe(true);
    await screenshot("sign-in");
    await signIn(`${t.adminKey}wrong`);
    await expect
      .poll(() => main().getByRole("alert").first().textContent())
      .toBe("the API key is not valid (unknown, revoked or expired)");
    expect(await context.cookies()).toEqual([]);
  });

  it("signs in with the admin key (Enter in the field) into an HttpOnly cookie, the key kept nowhere", async () => {
    await page.getByLabel("Admin API key").fill(t.adminKey);
    await page.getByLabel("Admin API key").press("Enter");
    await heading("Overview").waitFor();
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "wiresync_session", httpOnly: true, sameSite: "Strict", path: "/" });
    const visible = await page.evaluate(() => {
      const w = globalThis as unknown as PageGlobals;
      return {
        cookie: w.document.cookie,
        local: JSON.stringify(w.localStorage),
        session: JSON.stringify(w.sessionStorage),
        url: w.location.href,
        html: w.document.documentElement.outerHTML,
      };
    });
    for (const text of Object.values(visible)) {
      expect(text).not.toContain(t.adminKey);
      expect(text).not.toContain(cookie!.value);
    }
    await expect.poll(() => page.locator("#who").textContent()).toContain("bootstrap key");
    // The same cookie opens Bull Board, linked from the top bar.
    expect((await context.request.get("/admin/queues")).status()).toBe(200);
    await expect.poll(() => main().getByText("postgres").count()).toBe(1);
  });

  it("creates a network, showing the API's validation detail next to the field", async () => {
    await nav("Networks");
    await heading("Networks").waitFor();
    const form = page.locator("form", { has: page.getByRole("heading", { name: "New network" }) });
    await form.getByLabel("Name").fill("office");
    await form.getByLabel("IPv4 range").fill("10.50.0.1/24");
    await form.getByRole("button", { name: "Create network" }).click();

    const expected = await json(
      await t.request("/api/v1/networks", {
        method: "POST",
        body: { name: "office", cidr4: "10.50.0.1/24" },
      }),
    );
    expect(expected.status).toBe(400);
    await expect.poll(() => form.getByRole("alert").textContent()).toBe(expected.detail);
    expect(await form.getByLabel("IPv4 range").getAttribute("aria-invalid")).toBe("true");
    await screenshot("networks-invalid");

    await form.getByLabel("IPv4 range").fill("10.50.0.0/24");
    await form.getByLabel("Endpoint").fill("vpn.example.com:51820");
    await form.getByRole("button", { name: "Create network" }).click();
    await main().getByRole("link", { name: "office" }).waitFor();
    expect((await t.db.database.db.query.networks.findMany()).map((n) => n.name)).toEqual(["office"]);
    await screenshot("networks");
  });

  it("enrolls a node and shows its config once, with a download and a QR image that loads", async () => {
    await main().getByRole("link", { name: "office" }).click();
    await heading("Nodes of office").waitFor();
    const form = page.locator("form", { has: page.getByRole("heading", { name: "Enroll a node" }) });
    await form.getByLabel("Name").fill("laptop");
    await form.getByLabel("Email").fill("ada@example.com");
    await form.getByRole("button", { name: "Enroll node" }).click();

    const panel = page.getByRole("region", { name: "Node laptop enrolled" });
    const config = await panel.getByLabel("WireGuard config").textContent();
    expect(config).toMatch(/^\[Interface\]/m);
    expect(config).toMatch(/^PrivateKey = \S{44}$/m);
    expect(config).toContain("Endpoint = vpn.example.com:51820");
    const qr = panel.getByRole("img", { name: "QR code of laptop's WireGuard config" });
    await expect
      .poll(() =>
        qr.evaluate((el) => {
          const img = el as unknown as { complete: boolean; naturalWidth: number };
          return img.complete ? img.naturalWidth : 0;
        }),
      )
      .toBeGreaterThan(100);
    expect(await qr.getAttribute("src")).toMatch(/^blob:/);

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      panel.getByRole("button", { name: "Download laptop.conf" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("laptop.conf");
    expect(readFileSync((await download.path())!, "utf8")).toBe(config);
    expect(await panel.getByLabel("Agent token (shown once)").inputValue()).toMatch(/^wsn_/);

    const row = main().getByRole("row", { name: /laptop/ });
    await expect.poll(() => row.textContent()).toContain("10.50.0.2");
    expect(await row.textContent()).toContain("ada@example.com");
    expect(await row.textContent()).toContain("pending");
    await screenshot("nodes-enrolled");

    await panel.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.content()).not.toContain("PrivateKey =");
    await page.reload();
    await heading("Nodes of office").waitFor();
    expect(await page.content()).not.toContain("PrivateKey =");
  });

  it("disables and enables a node", async () => {
    const row = main().getByRole("row", { name: /laptop/ });
    await page.getByRole("button", { name: "Disable node laptop" }).click();
    await expect.poll(() => row.locator(".badge").textContent()).toBe("disabled");
    const [node] = await t.db.database.db.query.nodes.findMany();
    expect(node?.status).toBe("disabled");
    await page.getByRole("button", { name: "Enable node laptop" }).click();
    await expect.poll(() => row.locator(".badge").textContent()).toBe("pending");
  });

  it("enrolls a node that brings its own key (token only), then deletes it after confirming", async () => {
    const form = page.locator("form", { has: page.getByRole("heading", { name: "Enroll a node" }) });
    await form.getByLabel("Name").fill("router");
    await form.getByLabel("Public key").fill(generateKeyPair().publicKey);
    await form.getByRole("button", { name: "Enroll node" }).click();
    const panel = page.getByRole("region", { name: "Node router enrolled" });
    expect(await panel.getByLabel("Agent token (shown once)").inputValue()).toMatch(/^wsn_/);
    expect(await panel.getByLabel("WireGuard config").count()).toBe(0);
    await panel.getByRole("button", { name: "Done" }).click();

    await page.getByRole("button", { name: "Delete node router" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect(await t.db.database.db.query.nodes.findMany()).toHaveLength(2);
    await page.getByRole("button", { name: "Delete node router" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete node" }).click();
    await expect
      .poll(() =>
        main()
          .getByRole("row", { name: /router/ })
          .count(),
      )
      .toBe(0);
    expect((await t.db.database.db.query.nodes.findMany()).map((n) => n.name)).toEqual(["laptop"]);
  });

  it("creates an enrollment key, shows it once, and revokes it", async () => {
    await nav("Enrollment keys");
    await heading("Enrollment keys").waitFor();
    const form = page.locator("form", { has: page.getByRole("heading", { name: "New enrollment key" }) });
    await form.getByLabel("Reusable").check();
    await form.getByLabel("Maximum uses").fill("5");
    await form.getByLabel("Description").fill("office laptops");
    await form.getByRole("button", { name: "Create key" }).click();
    const shown = await page.getByLabel("Enrollment key", { exact: true }).inputValue();
    expect(shown).toMatch(/^wse_/);
    const row = main().getByRole("row", { name: /office laptops/ });
    await expect.poll(() => row.textContent()).toContain("0 of 5");
    expect(await row.textContent()).toContain("usable");
    expect(await row.textContent()).not.toContain(shown);
    await screenshot("enrollment-keys");

    await row.getByRole("button", { name: /^Revoke key/ }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
    await expect.poll(() => row.locator(".badge").textContent()).toBe("revoked");
    const [key] = await t.db.database.db.query.enrollmentKeys.findMany();
    expect(key?.revokedAt).not.toBeNull();
  });

  it("cancels a full sync while it waits for a worker", async () => {
    const worker = runtime.workers.get("peer-sync")!;
    await worker.pause();
    try {
      await nav("Overview");
      await heading("Overview").waitFor();
      await page.getByRole("button", { name: "Run full sync" }).click();
      const progress = page.getByRole("region", { name: "Sync in progress" });
      await expect.poll(() => progress.locator(".sync-status .badge").textContent()).toBe("PENDING");
      await progress.getByRole("button", { name: "Cancel" }).click();
      await expect.poll(() => progress.locator(".sync-status .badge").textContent()).toBe("CANCELLED");
    } finally {
      worker.resume();
    }
    const runs = await t.db.database.db.query.syncRuns.findMany();
    expect(runs.map((r) => r.status)).toEqual(["CANCELLED"]);
  });

  it("runs a full sync and follows it to COMPLETED", async () => {
    await page.reload();
    await heading("Overview").waitFor();
    await page.getByRole("button", { name: "Run full sync" }).click();
    const progress = page.getByRole("region", { name: "Sync in progress" });
    await expect
      .poll(() => progress.locator(".sync-status .badge").textContent(), { timeout: 20_000 })
      .toBe("COMPLETED");
    expect(
      await progress.locator("progress").evaluate((el) => {
        const bar = el as unknown as { value: number; max: number };
        return bar.value === bar.max;
      }),
    ).toBe(true);
    await expect.poll(() => main().getByRole("table").first().textContent()).toContain("COMPLETED");
    await screenshot("overview");
    await page.setViewportSize({ width: 1024, height: 700 });
    await screenshot("overview-1024");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("lists sync runs by type, with a run's items and a hostile requested_by shown as text", async () => {
    const hostile = await t.request("/api/v1/sync/full", { method: "POST", body: { requested_by: HOSTILE } });
    expect(hostile.status).toBe(202);
    await nav("Sync runs");
    await heading("Sync runs").waitFor();
    await page.getByLabel("Type").selectOption("full");
    await expect.poll(() => page.url()).toContain("type=full");
    await expect.poll(() => main().getByText(HOSTILE, { exact: true }).count()).toBe(1);
    const completed = main()
      .getByRole("row", { name: /COMPLETED/ })
      .first();
    await completed.getByRole("button", { name: /^Details of the full run/ }).click();
    await expect.poll(() => main().locator(".run-details").textContent()).toContain("office");
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__xss)).toBeUndefined();
    expect(await main().locator("img, script").count()).toBe(0);
    await screenshot("sync-runs");
  });

  it("shows the changes in the audit log, a hostile detail as text", async () => {
    const key = await t.request("/api/admin/api-keys", {
      method: "POST",
      body: { name: HOSTILE, scopes: ["read"] },
    });
    expect(key.status).toBe(201);
    await nav("Audit log");
    await heading("Audit log").waitFor();
    const text = await main().textContent();
    for (const action of [
      "network.created",
      "node.created",
      "node.updated",
      "node.deleted",
      "enrollment-key.created",
      "enrollment-key.revoked",
      "api-key.created",
    ]) {
      expect(text).toContain(action);
    }
    await expect.poll(() => main().getByText(HOSTILE, { exact: true }).count()).toBe(1);
    expect(await main().locator("img, script").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__xss)).toBeUndefined();
    await screenshot("audit-log");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot("audit-log-dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("deletes a network with nodes only after a second confirmation; Escape cancels", async () => {
    await nav("Networks");
    await heading("Networks").waitFor();
    await page.getByRole("button", { name: "Delete network office" }).click();
    await page.keyboard.press("Escape");
    await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
    expect(await t.db.database.db.query.networks.findMany()).toHaveLength(1);

    await page.getByRole("button", { name: "Delete network office" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete network" }).click();
    const second = page.getByRole("dialog", { name: "office still has 1 node" });
    await second.getByRole("button", { name: "Delete network and nodes" }).click();
    await expect.poll(() => main().getByRole("link", { name: "office" }).count()).toBe(0);
    expect(await t.db.database.db.query.networks.findMany()).toHaveLength(0);
    expect(await t.db.database.db.query.nodes.findMany()).toHaveLength(0);
  });

  it("checks a network's hub interface for drift and fixes it, after asking", async () => {
    const post = async (url: string, body: unknown) =>
      (await json(await t.request(url, { method: "POST", body }))).data;
    const plain = await post("/api/v1/networks", { name: "plain", cidr4: "10.94.0.0/24" });
    const net = await post("/api/v1/networks", { name: "hubnet", cidr4: "10.93.0.0/24" });
    const alpha = await post("/api/v1/nodes", { networkId: net.id, name: "alpha" });
    await post("/api/v1/nodes", { networkId: net.id, name: "beta" });
    // The enrollments' own peer syncs first: one still running would put alpha's peer back.
    await peerSyncIdle(t.platform);
    await t.platform.services.peerSync.syncNetwork(net.id, { removeUnknown: false, reportDrift: false });
    // Drift made by hand: alpha's peer removed, a stranger added.
    const hub = hubInterfaces.fakes.get("wshubnet")!;
    const stranger = generateKeyPair().publicKey;
    await hub.apply(checkPlan({ ...emptyPlan(), remove: [alpha.node.publicKey] }));
    hub.inject({
      publicKey: stranger,
      hasPresharedKey: false,
      presharedKey: null,
      endpoint: null,
      allowedIps: ["10.93.0.200/32"],
      latestHandshake: 0,
      rxBytes: 0,
      txBytes: 0,
      persistentKeepalive: null,
    });

    // The hub saw alpha's handshake two minutes ago (the usage collector writes it from the dump).
    await t.db.database.db
      .update(nodes)
      .set({ lastHandshakeAt: new Date(Date.now() - 2 * 60_000) })
      .where(eq(nodes.id, alpha.node.id));

    const panel = page.getByRole("region", { name: "Hub interface" });
    await page.goto(`/#/networks/${plain.id}`);
    await heading("Nodes of plain").waitFor();
    await panel.getByRole("button", { name: "Check drift" }).click();
    await expect.poll(() => panel.getByRole("status").textContent()).toContain("WG_INTERFACES=plain=");

    await page.goto(`/#/networks/${net.id}`);
    await heading("Nodes of hubnet").waitFor();
    const row = (name: string) => main().getByRole("row").filter({ hasText: name });
    expect(await main().getByRole("columnheader", { name: "Last handshake" }).count()).toBe(1);
    expect(await row("alpha").getByRole("cell").nth(4).textContent()).toBe("2 minutes ago");
    expect(await row("beta").getByRole("cell").nth(4).textContent()).toBe("never");
    await panel.getByRole("button", { name: "Check drift" }).click();
    await expect
      .poll(() => panel.getByRole("status").textContent())
      .toContain("wshubnet: 1 missing, 1 not in the database, 0 different");
    const listed = await panel.getByRole("listitem").allTextContents();
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatch(/^Missing from the interface: alpha /);
    expect(listed[1]).toBe(`Not in the database: ${stranger}`);
    await screenshot("network-drift");

    await panel.getByRole("button", { name: "Fix drift" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect((await hub.dump()).peers.map((p) => p.publicKey)).toContain(stranger);
    await panel.getByRole("button", { name: "Fix drift" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Fix drift" }).click();
    await expect
      .poll(() => panel.getByRole("status").textContent(), { timeout: 20_000 })
      .toContain("wshubnet matches the database");
    const keys = (await hub.dump()).peers.map((p) => p.publicKey);
    expect(keys).toContain(alpha.node.publicKey);
    expect(keys).not.toContain(stranger);
    const runs = await json(await t.request("/api/v1/sync/logs?type=drift-fix"));
    expect(runs.data.items.map((r: { status: string }) => r.status)).toEqual(["COMPLETED"]);
  });

  it("says on the overview that nodes cannot reach each other when a hub does not forward, and how to fix it", async () => {
    const board = redisForwardingBoard(t.platform.redis, t.platform.redisPrefix);
    const problem =
      "nodes of the hub interface wsfwd0 cannot reach each other over IPv4: WG_FORWARDING=off and the host does not forward; run `sysctl -w net.ipv4.conf.wsfwd0.forwarding=1` on the hub host";
    const status = { iface: "wsfwd0", ipv4: false, ipv6: null, isolated: false, changed: [] };
    await board.post({ ...status, problem });
    try {
      await nav("Overview");
      await heading("Overview").waitFor();
      const health = main().getByRole("region", { name: /Service health/ });
      await expect.poll(() => health.textContent()).toContain(`hub-forwardingfailed`);
      expect(await health.textContent()).toContain(problem);
    } finally {
      await board.post({ ...status, ipv4: true, problem: null });
    }
  });

  it("returns to sign-in when the session ends, and signs out", async () => {
    await context.clearCookies();
    await nav("Enrollment keys");
    await expect
      .poll(() => main().getByRole("status").textContent())
      .toBe("Your session has ended. Sign in again.");
    expect(await page.locator("#topbar").isHidden()).toBe(true);

    await signIn(t.adminKey);
    await heading("Enrollment keys").waitFor();
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect.poll(() => main().getByRole("status").textContent()).toBe("You are signed out.");
    expect(await context.cookies()).toEqual([]);
  });

  it("signs a user in with email and password", async () => {
    const registered = await t.request("/api/auth/register", {
      method: "POST",
      body: { email: "ada@example.com", password: "correct horse battery" },
    });
    expect(registered.status).toBe(201);
    await page.getByText("Sign in with email and password").click();
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByLabel("Password").fill("not the password");
    await page.getByLabel("Password").press("Enter");
    await expect
      .poll(() => main().getByRole("alert").last().textContent())
      .toBe("email or password is wrong");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByLabel("Password").press("Enter");
    await heading("Enrollment keys").waitFor();
    await expect.poll(() => page.locator("#who").textContent()).toContain("ada@example.com");
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect.poll(() => main().getByRole("status").textContent()).toBe("You are signed out.");
  });

  it("signs a user out everywhere, after asking", async () => {
    const login = async () => {
      const res = await t.request("/api/auth/login", {
        key: null,
        method: "POST",
        body: { email: "ada@example.com", password: "correct horse battery" },
      });
      return (await json(res)).data.token as string;
    };
    const elsewhere = await login();
    const me = (token: string) =>
      t.request("/api/auth/me", { key: null, headers: { authorization: `Bearer ${token}` } });
    expect((await me(elsewhere)).status).toBe(200);
    await page.getByText("Sign in with email and password").click();
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByLabel("Password").press("Enter");
    await heading("Enrollment keys").waitFor();
    const everywhere = page.getByRole("button", { name: "Sign out everywhere" });
    await everywhere.click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect((await me(elsewhere)).status).toBe(200);
    await everywhere.click();
    await page.getByRole("dialog").getByRole("button", { name: "Sign out everywhere" }).click();
    await expect.poll(() => main().getByRole("status").textContent()).toBe("You are signed out everywhere.");
    expect((await me(elsewhere)).status).toBe(401);
    expect(await page.locator("#topbar").isHidden()).toBe(true);
  });

  it("gives a read-only key a read-only dashboard", async () => {
    const reader = await json(
      await t.request("/api/admin/api-keys", { method: "POST", body: { name: "auditor", scopes: ["read"] } }),
    );
    await signIn(reader.data.key);
    await heading("Enrollment keys").waitFor();
    await nav("Overview");
    await heading("Overview").waitFor();
    await expect.poll(() => page.locator("#who").textContent()).toContain("read-only");
    expect(await page.getByRole("button", { name: "Run full sync" }).isVisible()).toBe(false);
    expect(await page.getByRole("link", { name: "Audit log" }).isVisible()).toBe(false);
    // An API key has no sessions of its own to revoke.
    expect(await page.getByRole("button", { name: "Sign out everywhere" }).isVisible()).toBe(false);
    await nav("Networks");
    await heading("Networks").waitFor();
    expect(await page.getByRole("heading", { name: "New network" }).count()).toBe(0);
    // Drift can be looked at, not fixed.
    const hub = hubInterfaces.fakes.get("wshubnet")!;
    const [peer] = (await hub.dump()).peers;
    hub.inject({ ...peer!, publicKey: generateKeyPair().publicKey, allowedIps: ["10.93.0.201/32"] });
    await main().getByRole("link", { name: "hubnet" }).click();
    await heading("Nodes of hubnet").waitFor();
    const panel = page.getByRole("region", { name: "Hub interface" });
    await panel.getByRole("button", { name: "Check drift" }).click();
    await expect.poll(() => panel.getByRole("status").textContent()).toContain("1 not in the database");
    expect(await panel.getByRole("button", { name: "Fix drift" }).isVisible()).toBe(false);
    expect(await page.getByRole("heading", { name: "Enroll a node" }).count()).toBe(0);
    await page.goto("/#/audit");
    await heading("Admins only").waitFor();
  });

  it("raised no script errors on any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
