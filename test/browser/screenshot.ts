/**
 * Draws the console for the README: a real server on a seeded database (networks, nodes online and
 * disabled, a finished sync run) shown in the real Chromium, saved as a PNG.
 *
 *   npm run screenshot            # writes apps/dashboard/screenshot.png
 *   npx tsx test/browser/screenshot.ts out.png
 */
import { listen } from "../../apps/api/server.js";
import type { TaskHandler } from "../../src/sync/index.js";
import { launchChromium, openDashboard } from "../support/browser.js";
import { setup } from "../support/global-setup.js";
import { json } from "../support/http.js";
import { heartbeat } from "../support/mesh.js";
import { createTestPlatform } from "../support/platform.js";

const out = process.argv[2] ?? "apps/dashboard/screenshot.png";

await setup();
const t = await createTestPlatform();
const server = await listen(t.app, 0, "127.0.0.1");
const browser = await launchChromium();
try {
  const post = async (url: string, body: unknown) => {
    const res = await t.request(url, { method: "POST", body });
    if (res.status >= 300) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    return (await json(res)).data;
  };
  const office = await post("/api/v1/networks", {
    name: "office",
    cidr4: "10.20.0.0/24",
    endpoint: "vpn.example.com:51820",
  });
  await post("/api/v1/networks", { name: "lab", cidr4: "10.30.0.0/24", topology: "mesh" });
  const people = [
    ["ana-laptop", "ana@example.com", true],
    ["ben-phone", "ben@example.com", true],
    ["build-server", null, true],
    ["printer-gw", null, false],
    ["old-tablet", "cy@example.com", false],
  ] as const;
  for (const [name, email, isOnline] of people) {
    const created = await post("/api/v1/nodes", { networkId: office.id, name, ...(email ? { email } : {}) });
    if (isOnline) await heartbeat(t, created.node.id, created.token);
    if (name === "old-tablet") {
      await t.request(`/api/v1/nodes/${created.node.id}`, { method: "PATCH", body: { status: "disabled" } });
    }
  }
  const ok: TaskHandler = async () => ({ ok: true, note: "done" });
  const run = await post("/api/v1/sync/full", {});
  await t.platform.services.sync.executeRun(run.sync_log_id, { peers: ok, configs: ok, usage: ok });

  const baseURL = `http://127.0.0.1:${server.port}`;
  const { context, page } = await openDashboard(browser, { baseURL, key: t.adminKey, height: 900 });
  await page.goto(`/#/networks/${office.id}`);
  await page.locator("main tbody tr", { hasText: "ana-laptop" }).waitFor();
  await page.locator("#live-state[data-state=open]").waitFor();
  await page.screenshot({ path: out });
  console.info(`console screenshot: ${out}`);
  await context.close();
} finally {
  await browser.close();
  await server.close(1_000);
  await t.close();
}
