/**
 * The usage panel in a real Chromium, drawn from real counters: a client in a network namespace
 * pings the hub through a real tunnel (wireguard-go, managed by the peer-sync worker), a usage
 * collection reads the hub interface's counters, and the network page's chart shows exactly the bytes
 * collected, for the network and for the chosen node; the top talkers name the node; the CSV link
 * downloads the same points; and the panel fits 360 px. Needs root, /dev/net/tun and Chromium
 * (skips loudly without them, fails under CI=true).
 */
import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../src/agent/index.js";
import { usageMonthly } from "../../src/db/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { hasChromium, launchChromium, openDashboard } from "../support/browser.js";
import { json } from "../support/http.js";
import { createNetwork, createNode } from "../support/mesh.js";
import type { HubAndClients, Lab } from "../support/netns.js";
import { createLab, describeNetns, hubAndClients } from "../support/netns.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import { requestSync, waitForRun } from "../support/sync.js";
import { startTestWorkers } from "../support/workers.js";

const WAIT = { timeout: 20_000, interval: 200 };
const HUB_TUNNEL_IP = "10.157.0.1";
/** Ten 1,000-byte pings: each way at least 10,000 bytes through the tunnel. */
const PINGS = ["-c", "10", "-i", "0.05", "-s", "1000", "-W", "1", HUB_TUNNEL_IP];

interface PageGlobals {
  document: { documentElement: { scrollWidth: number } };
}

const withChromium = hasChromium();

describeNetns("the usage chart, from a real tunnel's counters, in Chromium", () => {
  let lab: Lab;
  let hubNs: string;
  let hubIface: string;
  let ns: HubAndClients["ns"];
  let iface: HubAndClients["iface"];
  let t: TestPlatform;
  let workers: WorkerRuntime;
  let server: RunningServer;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    lab = createLab();
    ({ hubNs, hubIface, ns, iface } = await hubAndClients(lab, ["192.168.157", "192.168.158"]));
    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "usage", iface: hubIface, netns: hubNs }], driver: "auto" },
    });
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
    server = await listen(t.app, 0, "127.0.0.1");
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close(1_000);
    await workers?.close();
    await t?.close();
    await lab?.close();
  });

  it.skipIf(!withChromium)(
    "draws received and sent per hour from the collected counters, with the month's total, top talkers and CSV",
    async () => {
      const net = await createNetwork(t, {
        name: "usage",
        cidr4: "10.157.0.0/24",
        endpoint: "192.168.157.1:51957",
        listenPort: 51957,
      });
      const { node, token } = await createNode(t, net.id, { name: "laptop" });
      const config = await t.request(`/api/v1/nodes/${node.id}/config`, {
        key: null,
        headers: { Authorization: `Bearer ${token}` },
      });
      await applyWgQuickConfig(parseWgQuickConfig(await config.text()), { iface: iface.c1, netns: ns.c1 });
      await vi.waitFor(async () => expect(await lab.ping(ns.c1, HUB_TUNNEL_IP)).toBe(true), WAIT);
      await lab.exec(ns.c1, "ping", PINGS);
      const run = await requestSync(t, "usage");
      await waitForRun(t, run.sync_log_id, "COMPLETED");

      // What the collection stored, read straight from the table.
      const rows = await t.platform.database.db
        .select()
        .from(usageMonthly)
        .where(eq(usageMonthly.nodeId, node.id));
      const stored = {
        rx: rows.reduce((s, r) => s + r.rxBytes, 0),
        tx: rows.reduce((s, r) => s + r.txBytes, 0),
      };
      expect(stored.rx).toBeGreaterThanOrEqual(10_000);
      expect(stored.tx).toBeGreaterThanOrEqual(10_000);

      const baseURL = `http://127.0.0.1:${server.port}`;
      const { context, page } = await openDashboard(browser, { baseURL, key: t.adminKey, pageErrors });
      await page.goto(`/#/networks/${net.id}`);
      await page.getByRole("heading", { level: 1, name: "Nodes of usage" }).waitFor();

      const figure = page.locator("figure.usage-chart");
      const drawn = async (p: Page) => ({
        rx: Number(await p.locator("figure.usage-chart").getAttribute("data-rx-bytes")),
        tx: Number(await p.locator("figure.usage-chart").getAttribute("data-tx-bytes")),
      });
      await figure.waitFor();
      expect(await drawn(page)).toEqual(stored);
      expect(await figure.getAttribute("data-points")).toBe("72");
      for (const series of ["series-rx", "series-tx"]) {
        const points = (await figure.locator(`polyline.${series}`).getAttribute("points"))!.split(" ");
        expect(points).toHaveLength(72);
      }
      // The busiest hour touches the top of the chart (y = 4 of 160).
      const tops = await Promise.all(
        ["series-rx", "series-tx"].map(async (s) =>
          Math.min(
            ...(await figure.locator(`polyline.${s}`).getAttribute("points"))!
              .split(" ")
              .map((p) => Number(p.split(",")[1])),
          ),
        ),
      );
      expect(Math.min(...tops)).toBe(4);
      const label = await figure.locator("svg").getAttribute("aria-label");
      expect(label).toContain("Received and sent per hour by usage, last 72 hours");
      expect(await page.locator(".usage-month").textContent()).toMatch(
        /^\d{4}-\d{2}: received [\d.]+ kB, sent [\d.]+ kB$/,
      );
      // Months beyond the hourly window: one so far, its bars sized to the larger of the two.
      const months = page.locator("figure.usage-months");
      expect(await months.getAttribute("data-months")).toBe("1");
      const heights = await Promise.all(
        ["bar-rx", "bar-tx"].map(async (c) =>
          Number(await months.locator(`rect.${c}`).getAttribute("height")),
        ),
      );
      expect(Math.max(...heights)).toBe(76);
      const top = page.getByRole("table").filter({ hasText: "Received" });
      expect(await top.locator("tbody tr").count()).toBe(1);
      expect(await top.locator("tbody tr td").first().textContent()).toBe("laptop");

      // The chosen node: the same bytes (it is the network's only node), its name in the label.
      await page.getByLabel("Traffic of").selectOption({ label: "laptop" });
      await expect.poll(async () => figure.locator("svg").getAttribute("aria-label")).toContain("by laptop");
      expect(await drawn(page)).toEqual(stored);

      // The CSV link downloads the hourly points the chart shows.
      const href = await page.getByRole("link", { name: "Download hourly CSV" }).getAttribute("href");
      const csv = await page.evaluate(async (url) => (await fetch(url!)).text(), href);
      const lines = csv.trim().split("\r\n");
      expect(lines[0]).toBe("hour,rxBytes,txBytes");
      expect(lines).toHaveLength(73);
      const csvSum = lines.slice(1).reduce(
        (s, l) => {
          const [, rx, tx] = l.split(",");
          return { rx: s.rx + Number(rx), tx: s.tx + Number(tx) };
        },
        { rx: 0, tx: 0 },
      );
      expect(csvSum).toEqual(stored);
      const api = (await json(await t.request(`/api/v1/usage/series?nodeId=${node.id}&hours=72`))).data;
      expect(api.monthly.reduce((s: number, m: { rxBytes: number }) => s + m.rxBytes, 0)).toBe(stored.rx);

      // At 360 px the panel fits: no horizontal scroll.
      await page.setViewportSize({ width: 360, height: 740 });
      await figure.waitFor();
      const scrollWidth = await page.evaluate(
        () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
      );
      expect(scrollWidth).toBeLessThanOrEqual(360);
      expect(pageErrors).toEqual([]);
      await context.close();
    },
    120_000,
  );
});
