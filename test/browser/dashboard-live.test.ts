/**
 * The dashboard live, in a real Chromium against a real HTTP server, database and Redis: two signed-in
 * pages follow the event stream (a node going online and offline, a sync started through the API,
 * drift and a failed webhook delivery as notices) without a reload; and the layout holds at phone
 * width. Skips loudly where Chromium is missing, except under CI=true, where that is a failure.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import { webhookDeliveries } from "../../src/db/index.js";
import { generateKeyPair } from "../../src/mesh/index.js";
import { hasChromium, launchChromium, openDashboard } from "../support/browser.js";
import { fakeInterfaceOps } from "../support/fake-interfaces.js";
import { gatedTasks } from "../support/gated-tasks.js";
import { json } from "../support/http.js";
import { heartbeat } from "../support/mesh.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { StandIn } from "../support/stand-ins.js";
import { startStandIn } from "../support/stand-ins.js";

/** What the tests read inside the page (this project type-checks without the DOM library). */
interface PageGlobals {
  document: {
    documentElement: { scrollWidth: number };
    querySelectorAll(selector: string): Iterable<{
      tagName: string;
      className: string;
      getBoundingClientRect(): { right: number };
    }>;
  };
  __sameDocument?: boolean;
  getComputedStyle(el: unknown): { color: string; backgroundColor: string; filter: string };
}

interface PageElement {
  parentElement: PageElement | null;
}

/** WCAG's contrast ratio of two `rgb(…)`/`rgba(…)` colours (alpha ignored: the tests pick opaque ones). */
function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, bl] = css
      .match(/[\d.]+/g)!
      .slice(0, 3)
      .map(Number) as [number, number, number];
    const lin = (c: number) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(bl);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * In the page: an element's text colour and the background it shows on (the first opaque one up
 * its ancestors), both through the element's `filter: brightness(…)`, as `rgb(r, g, b)`.
 */
function shownColours(el: unknown): { color: string; background: string } {
  const w = globalThis as unknown as PageGlobals;
  const style = w.getComputedStyle(el);
  const brightness = Number(/brightness\(([\d.]+)\)/.exec(style.filter)?.[1] ?? 1);
  let background = "rgb(255, 255, 255)";
  for (let node = el as PageElement | null; node; node = node.parentElement) {
    const bg = w.getComputedStyle(node).backgroundColor;
    if (bg !== "rgba(0, 0, 0, 0)" && bg !== "transparent") {
      background = bg;
      break;
    }
  }
  const through = (css: string) => {
    const [r, g, b] = css
      .match(/[\d.]+/g)!
      .slice(0, 3)
      .map((c) => Math.min(255, Number(c) * brightness));
    return `rgb(${r}, ${g}, ${b})`;
  };
  return { color: through(style.color), background: through(background) };
}

describe.skipIf(!hasChromium())("the dashboard, live, in Chromium", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pages: Page[] = [];
  const standIns: StandIn[] = [];
  const hubInterfaces = fakeInterfaceOps();
  const shots = mkdtempSync(path.join(tmpdir(), "wiresync-dashboard-live-"));
  const pageErrors: string[] = [];

  const post = async (url: string, body: unknown) => {
    const res = await t.request(url, { method: "POST", body });
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBeLessThan(300);
    return payload.data;
  };
  const onBoth = (check: (page: Page) => Promise<unknown>) => Promise.all(pages.map(check));
  const liveState = (page: Page) => page.locator("#live-state").getAttribute("data-state");
  /** Marks each page's document; a reload would drop the mark. */
  const markDocuments = () =>
    onBoth((page) =>
      page.evaluate(() => {
        (globalThis as unknown as PageGlobals).__sameDocument = true;
      }),
    );
  const sameDocument = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as PageGlobals).__sameDocument === true);

  async function openSignedIn(key = t.adminKey): Promise<Page> {
    const baseURL = `http://127.0.0.1:${server.port}`;
    const { context, page } = await openDashboard(browser, { baseURL, key, pageErrors });
    contexts.push(context);
    return page;
  }

  /** Opens `hash` on both pages and waits until each page's stream is open. */
  async function showOnBoth(hash: string, title: string) {
    await onBoth(async (page) => {
      await page.goto(`/${hash}`);
      await page.getByRole("heading", { level: 1, name: title }).waitFor();
      await expect.poll(() => liveState(page)).toBe("open");
    });
  }

  beforeAll(async () => {
    t = await createTestPlatform({
      wireguard: {
        interfaces: [{ network: "hubnet", iface: "wslivehub", netns: undefined }],
        driver: "auto",
      },
      interfaceOps: hubInterfaces.ops,
    });
    server = await listen(t.app, 0, "127.0.0.1");
    browser = await launchChromium();
    pages.push(await openSignedIn(), await openSignedIn());
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(standIns.map((s) => s.close()));
    await server?.close(1_000);
    await t?.close();
    console.info(`dashboard live screenshots: ${shots}`);
  });

  it("shows a node going online and then offline on two open pages, without a reload", async () => {
    const net = await post("/api/v1/networks", { name: "office", cidr4: "10.71.0.0/24" });
    const created = await post("/api/v1/nodes", {
      networkId: net.id,
      name: "laptop",
      email: "ada@example.com",
    });
    const nodeId: string = created.node.id;
    await showOnBoth(`#/networks/${net.id}`, "Nodes of office");
    await markDocuments();
    const row = (page: Page) => page.locator(`tr[data-node-id="${nodeId}"]`);
    const cell = (page: Page, column: number) => row(page).getByRole("cell").nth(column);
    await onBoth(async (page) => {
      expect(await cell(page, 3).textContent()).toBe("pending");
      expect(await cell(page, 5).textContent()).toBe("never");
    });

    // The agent reports in with its own token: the node is online, seen just now.
    expect((await heartbeat(t, nodeId, created.token)).status).toBe("online");
    await onBoth(async (page) => {
      await expect.poll(() => cell(page, 3).textContent()).toBe("online");
      expect(await cell(page, 3).locator(".badge").getAttribute("class")).toBe("badge badge-good");
      expect(await cell(page, 5).textContent()).not.toBe("never");
    });

    // The liveness check finds it silent since its heartbeat.
    const marked = await t.platform.services.liveness.markStaleNodesOffline(new Date());
    expect(marked.map((n) => n.id)).toEqual([nodeId]);
    await onBoth(async (page) => {
      await expect.poll(() => cell(page, 3).textContent()).toBe("offline");
      expect(await cell(page, 3).locator(".badge").getAttribute("class")).toBe("badge badge-bad");
      // The alert is also a notice, naming the node and linking its network.
      const notice = page.getByRole("region", { name: "Live notices" }).getByRole("listitem");
      await expect.poll(() => notice.count()).toBe(1);
      expect(await notice.textContent()).toContain("Node laptop of office went offline.");
      expect(await notice.getByRole("link", { name: "office" }).getAttribute("href")).toBe(
        `#/networks/${net.id}`,
      );
      expect(await sameDocument(page)).toBe(true);
    });
    await pages[0]!.screenshot({ path: path.join(shots, "network-offline.png"), fullPage: true });

    // Dismissing a notice removes it from that page only.
    await pages[0]!.getByRole("button", { name: "Dismiss notice" }).click();
    expect(await pages[0]!.getByRole("region", { name: "Live notices" }).isHidden()).toBe(true);
    expect(await pages[1]!.getByRole("region", { name: "Live notices" }).getByRole("listitem").count()).toBe(
      1,
    );
    await pages[1]!.getByRole("button", { name: "Dismiss notice" }).click();
  });

  it("resumes after the API restarts and shows what happened meanwhile, without a reload", async () => {
    const networks = (await json(await t.request("/api/v1/networks"))).data as { id: string; name: string }[];
    const office = networks.find((n) => n.name === "office")!;
    const laptop = (await json(await t.request(`/api/v1/nodes?networkId=${office.id}`))).data.items[0];
    const status = (page: Page) =>
      page.locator(`tr[data-node-id="${laptop.id}"]`).getByRole("cell").nth(3).textContent();
    await onBoth(async (page) => expect(await status(page)).toBe("offline"));
    await markDocuments();

    const { port } = server;
    await server.close(100);
    await onBoth(async (page) => expect.poll(() => liveState(page)).toBe("reconnecting"));
    // While no API answers, the hub's interface shows a fresh handshake: the node comes back.
    await t.platform.services.liveness.recordHubHandshakes(office.id, [
      { publicKey: laptop.publicKey, latestHandshake: Math.floor(Date.now() / 1000) },
    ]);
    server = await listen(t.app, port, "127.0.0.1");
    await onBoth(async (page) => {
      await expect.poll(() => liveState(page), { timeout: 15_000 }).toBe("open");
      await expect.poll(() => status(page)).toBe("online");
      expect(await sameDocument(page)).toBe(true);
    });
    await t.platform.services.liveness.markStaleNodesOffline(new Date());
    await onBoth(async (page) => expect.poll(() => status(page)).toBe("offline"));
  });

  it("follows a sync started through the API, checkpoint by checkpoint, on both pages", async () => {
    await showOnBoth("#/", "Overview");
    await markDocuments();
    const networkCount = (await json(await t.request("/api/v1/networks"))).data.length;
    const total = networkCount * 3;

    // No worker runs here: the test executes the run itself, with tasks it lets through one at a
    // time. Each is 300 ms of work, longer than the 250 ms between checkpoints, so each finished
    // task is one checkpoint and one sync.progress event.
    const { task, allow } = gatedTasks();

    const accepted = await post("/api/v1/sync/full", {});
    const runId: string = accepted.sync_log_id;
    const execution = t.platform.services.sync.executeRun(runId, { peers: task, configs: task, usage: task });

    const panel = (page: Page) => page.getByRole("region", { name: "Sync in progress" });
    const bar = (page: Page) =>
      panel(page)
        .locator("progress")
        .evaluate((el) => {
          const b = el as unknown as { value: number; max: number };
          return [b.value, b.max];
        });
    await onBoth(async (page) => {
      await expect.poll(() => panel(page).locator(".sync-status .badge").textContent()).toBe("RUNNING");
      expect(await panel(page).getByRole("heading").textContent()).toBe("Full sync");
    });

    for (const synced of [1, 2]) {
      allow(1);
      await onBoth(async (page) => {
        await expect
          .poll(() => panel(page).locator("p.muted").textContent())
          .toMatch(new RegExp(`^${synced} synced, 0 failed of ${total} items · `));
        expect(await bar(page)).toEqual([synced, total]);
        expect(await panel(page).locator(".sync-status .badge").textContent()).toBe("RUNNING");
      });
      const status = (await json(await t.request(`/api/v1/sync/status/${runId}`))).data;
      expect([status.status, status.itemsSynced]).toEqual(["RUNNING", synced]);
    }
    await pages[0]!.screenshot({ path: path.join(shots, "overview-sync-progress.png"), fullPage: true });

    allow(total);
    expect(await execution).toMatchObject({ status: "COMPLETED", itemsSynced: total });
    await onBoth(async (page) => {
      await expect.poll(() => panel(page).locator(".sync-status .badge").textContent()).toBe("COMPLETED");
      expect(await bar(page)).toEqual([total, total]);
      await expect.poll(() => page.locator("main table").first().textContent()).toContain("COMPLETED");
      expect(await sameDocument(page)).toBe(true);
    });
  });

  it("lists drift found by a sync and a failed webhook delivery as live notices", async () => {
    await showOnBoth("#/", "Overview");
    const net = await post("/api/v1/networks", { name: "hubnet", cidr4: "10.72.0.0/24" });
    await post("/api/v1/nodes", { networkId: net.id, name: "alpha" });
    await t.platform.services.peerSync.syncNetwork(net.id, { removeUnknown: false, reportDrift: false });
    // A peer nobody enrolled appears on the hub's interface.
    hubInterfaces.fakes.get("wslivehub")!.inject({
      publicKey: generateKeyPair().publicKey,
      hasPresharedKey: false,
      presharedKey: null,
      endpoint: null,
      allowedIps: ["10.72.0.200/32"],
      latestHandshake: 0,
      rxBytes: 0,
      txBytes: 0,
      persistentKeepalive: null,
    });
    await t.platform.services.peerSync.syncNetwork(net.id, { removeUnknown: false, reportDrift: true });

    const notices = (page: Page) => page.getByRole("region", { name: "Live notices" }).getByRole("listitem");
    await onBoth(async (page) => {
      await expect.poll(() => notices(page).count()).toBe(1);
      expect(await notices(page).first().getAttribute("data-type")).toBe("drift.detected");
      expect(await notices(page).first().textContent()).toContain(
        "The hub interface of hubnet differs from the database: 0 missing, 1 unexpected, 0 mismatched peers.",
      );
    });

    const failing = await startStandIn(() => ({ status: 500, body: '{"error":"down"}' }));
    standIns.push(failing);
    const hook = await post("/api/admin/settings/webhooks", {
      name: "ops-hook",
      type: "GENERIC",
      webhookUrl: `${failing.url}/hook`,
      events: ["node.enrolled"],
    });
    await post("/api/v1/nodes", { networkId: net.id, name: "beta" });
    await t.platform.services.relay.run();
    const [delivery] = await t.platform.database.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhookId, hook.id));
    expect(await t.platform.services.webhooks.deliver(delivery!.id)).toMatchObject({ status: "retry" });
    await onBoth(async (page) => {
      await expect.poll(() => notices(page).count()).toBe(2);
      expect(await notices(page).first().getAttribute("data-type")).toBe("delivery.failed");
      expect(await notices(page).first().textContent()).toContain(
        "Webhook ops-hook could not deliver node.enrolled (attempt 1, HTTP 500",
      );
      expect(await notices(page).first().textContent()).toContain("it will retry.");
    });
    await pages[0]!.screenshot({ path: path.join(shots, "overview-notices.png"), fullPage: true });
  });

  it.each([375, 360])("fits a %i px wide screen without horizontal scroll", async (width) => {
    const page = pages[0]!;
    await page.setViewportSize({ width, height: 740 });
    const networks = (await json(await t.request("/api/v1/networks"))).data as { id: string; name: string }[];
    const office = networks.find((n) => n.name === "office")!;
    const views: [string, string][] = [
      ["#/", "Overview"],
      ["#/networks", "Networks"],
      [`#/networks/${office.id}`, "Nodes of office"],
      ["#/enrollment-keys", "Enrollment keys"],
      ["#/sync", "Sync runs"],
      ["#/audit", "Audit log"],
    ];
    try {
      for (const [hash, title] of views) {
        await page.goto(`/${hash}`);
        await page.getByRole("heading", { level: 1, name: title }).waitFor();
        await page.screenshot({
          path: path.join(shots, `${width}-${title.replace(/\W+/g, "-").toLowerCase()}.png`),
          fullPage: true,
        });
        const scrollWidth = await page.evaluate(
          () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
        );
        // On failure, name what sticks out (the elements reaching past the right edge).
        const wide = await page.evaluate((edge) => {
          const all = (globalThis as unknown as PageGlobals).document.querySelectorAll("body *");
          return [...all]
            .filter((el) => el.getBoundingClientRect().right > edge)
            .slice(0, 10)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
        }, width);
        expect(scrollWidth, `${title} at ${width} px: ${wide.join(", ")}`).toBeLessThanOrEqual(width);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("keeps a read-only session live through its networks' rooms, without the admin room's events", async () => {
    const reader = await post("/api/admin/api-keys", { name: "auditor", scopes: ["read"] });
    const page = await openSignedIn(reader.key);
    const networks = (await json(await t.request("/api/v1/networks"))).data as { id: string; name: string }[];
    const office = networks.find((n) => n.name === "office")!;
    const laptop = (await json(await t.request(`/api/v1/nodes?networkId=${office.id}`))).data.items[0];
    await page.goto(`/#/networks/${office.id}`);
    await page.getByRole("heading", { level: 1, name: "Nodes of office" }).waitFor();
    await expect.poll(() => liveState(page)).toBe("open");
    const status = page.locator(`tr[data-node-id="${laptop.id}"]`).getByRole("cell").nth(3);
    expect(await status.textContent()).toBe("offline");

    // The hub's interface shows a fresh handshake: how a node without an agent comes online.
    await t.platform.services.liveness.recordHubHandshakes(office.id, [
      { publicKey: laptop.publicKey, latestHandshake: Math.floor(Date.now() / 1000) },
    ]);
    await expect.poll(() => status.textContent()).toBe("online");
    await t.platform.services.liveness.markStaleNodesOffline(new Date());
    await expect.poll(() => status.textContent()).toBe("offline");

    // A failed delivery goes to the admin room only: the admins' pages hear of it, the reader does not.
    const [delivery] = await t.platform.database.db.select().from(webhookDeliveries);
    expect(await t.platform.services.webhooks.deliver(delivery!.id)).toMatchObject({ status: "retry" });
    const failures = (p: Page) =>
      p.getByRole("region", { name: "Live notices" }).locator('li[data-type="delivery.failed"]');
    await expect.poll(() => failures(pages[0]!).count()).toBe(2);
    expect(await failures(page).count()).toBe(0);
    await page.context().close();
  });

  it.each(["light", "dark"] as const)(
    "keeps text readable in the %s scheme: buttons on hover, badges, the live indicator",
    async (colorScheme) => {
      const page = pages[0]!;
      await page.emulateMedia({ colorScheme });
      const networks = (await json(await t.request("/api/v1/networks"))).data as {
        id: string;
        name: string;
      }[];
      const office = networks.find((n) => n.name === "office")!;
      await page.goto(`/#/networks/${office.id}`);
      await page.getByRole("heading", { level: 1, name: "Nodes of office" }).waitFor();
      const checked: string[] = [];
      const expectReadable = async (name: string, target: Locator, hover = true) => {
        if (hover) await target.hover();
        const { color, background } = await target.evaluate(shownColours);
        expect(contrast(color, background), `${name}: ${color} on ${background}`).toBeGreaterThanOrEqual(4.5);
        checked.push(name);
      };
      await expectReadable("primary", page.getByRole("button", { name: "Enroll node" }));
      await expectReadable("quiet", page.getByRole("button", { name: "Disable node laptop" }));
      await expectReadable("danger-quiet", page.getByRole("button", { name: "Delete node laptop" }));
      await expectReadable("live indicator", page.locator("#live-state"), false);
      const badges = page.locator(".badge");
      for (let i = 0; i < (await badges.count()); i++) {
        await expectReadable(`badge ${await badges.nth(i).textContent()}`, badges.nth(i), false);
      }
      await page.getByRole("button", { name: "Delete node laptop" }).click();
      const dialog = page.getByRole("dialog");
      await expectReadable("danger", dialog.getByRole("button", { name: "Delete node" }));
      await dialog.getByRole("button", { name: "Cancel" }).click();
      // The status badge and the notices' badges were among them.
      expect(checked).toEqual(
        expect.arrayContaining([
          "primary",
          "quiet",
          "danger-quiet",
          "danger",
          "badge offline",
          "badge failed",
        ]),
      );
      await page.emulateMedia({ colorScheme: "light" });
      expect(pageErrors).toEqual([]);
    },
  );
});
