/**
 * Quotas on a real tunnel: a client moves traffic through a hub whose interface the peer-sync worker
 * manages until it passes a small monthly quota. Usage runs read the hub's counters; the node gets
 * exactly one warning at 80 % and one `node.quota-exceeded` at 100 %, its peer leaves the hub
 * interface and its pings stop; an operator's enable puts it back and pings flow again.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import { usageMonthly } from "../../../src/db/index.js";
import type { WgDriver } from "../../../src/wireguard/index.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode, eventsOfNode } from "../../support/mesh.js";
import type { HubAndClients, Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClients } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { requestSync, waitForRun } from "../../support/sync.js";
import { startTestWorkers } from "../../support/workers.js";

const WAIT = { timeout: 20_000, interval: 200 };
const HUB_TUNNEL_IP = "10.147.0.1";
const QUOTA_BYTES = 200_000;
/** One batch of pings moves about 21 KB through the hub (1,000-byte payloads, both ways). */
const PING_BATCH = ["-c", "10", "-i", "0.05", "-s", "1000", "-W", "1", HUB_TUNNEL_IP];

describeNetns("a node's monthly quota on a real hub interface", () => {
  let lab: Lab;
  let hubNs: string;
  let hubIface: string;
  let ns: HubAndClients["ns"];
  let iface: HubAndClients["iface"];
  let t: TestPlatform;
  let workers: WorkerRuntime;
  let hub: WgDriver;

  beforeAll(async () => {
    lab = createLab();
    ({ hubNs, hubIface, ns, iface } = await hubAndClients(lab, ["192.168.147", "192.168.148"]));
    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "quota", iface: hubIface, netns: hubNs }], driver: "auto" },
    });
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
  }, 60_000);

  afterAll(async () => {
    hub?.close();
    await workers?.close();
    await t?.close();
    await lab?.close();
  });

  it("warns at 80 %, takes the peer off the hub at 100 %, and an operator's enable restores it", async () => {
    const net = await createNetwork(t, {
      name: "quota",
      cidr4: "10.147.0.0/24",
      endpoint: "192.168.147.1:51947",
      listenPort: 51947,
    });
    const { node, token } = await createNode(t, net.id);
    const patched = await t.request(`/api/v1/nodes/${node.id}`, {
      method: "PATCH",
      body: { monthlyQuotaBytes: QUOTA_BYTES },
    });
    expect(patched.status).toBe(200);
    hub = openDriver(hubIface, { driver: "auto", netns: hubNs });
    const hubPeers = async () => (await hub.dump()).peers.map((p) => p.publicKey);
    await vi.waitFor(async () => expect(await hubPeers()).toEqual([node.publicKey]), WAIT);
    const config = await t.request(`/api/v1/nodes/${node.id}/config`, {
      key: null,
      headers: { Authorization: `Bearer ${token}` },
    });
    await applyWgQuickConfig(parseWgQuickConfig(await config.text()), { iface: iface.c1, netns: ns.c1 });
    await vi.waitFor(async () => expect(await lab.ping(ns.c1, HUB_TUNNEL_IP)).toBe(true), WAIT);

    const collect = async () => {
      const run = await requestSync(t, "usage");
      await waitForRun(t, run.sync_log_id, "COMPLETED");
    };
    const usedBytes = async () =>
      (
        await t.platform.database.db.select().from(usageMonthly).where(eq(usageMonthly.nodeId, node.id))
      ).reduce((sum, r) => sum + r.rxBytes + r.txBytes, 0);
    const quotaEvents = async () =>
      (await eventsOfNode(t, node.id)).filter((e) => e.type.startsWith("node.quota-")).map((e) => e.type);

    // Each batch adds about 11 % of the quota, so some reading lands between 80 % and 100 %.
    let sawWarningAlone = false;
    for (let batch = 0; batch < 30; batch++) {
      await lab.exec(ns.c1, "ping", PING_BATCH);
      await collect();
      const used = await usedBytes();
      const seen = await quotaEvents();
      if (used * 100 < QUOTA_BYTES * 80) expect(seen, `${used} bytes`).toEqual([]);
      else if (used < QUOTA_BYTES) {
        expect(seen, `${used} bytes`).toEqual(["node.quota-warning"]);
        sawWarningAlone = true;
      } else break;
    }
    expect(sawWarningAlone).toBe(true);
    expect(await usedBytes()).toBeGreaterThanOrEqual(QUOTA_BYTES);
    expect(await quotaEvents()).toEqual(["node.quota-warning", "node.quota-exceeded"]);
    const disabled = (await json(await t.request(`/api/v1/nodes/${node.id}`))).data;
    expect([disabled.status, disabled.disabledReason]).toEqual(["disabled", "quota"]);

    // The quota's disable went the normal way: the peer leaves the hub interface, pings stop.
    await vi.waitFor(async () => expect(await hubPeers()).toEqual([]), WAIT);
    expect(await lab.ping(ns.c1, HUB_TUNNEL_IP)).toBe(false);
    // Collecting again in the same month records nothing more.
    await collect();
    expect(await quotaEvents()).toEqual(["node.quota-warning", "node.quota-exceeded"]);

    const enabled = await t.request(`/api/v1/nodes/${node.id}`, {
      method: "PATCH",
      body: { status: "pending" },
    });
    expect(enabled.status).toBe(200);
    await vi.waitFor(async () => expect(await hubPeers()).toEqual([node.publicKey]), WAIT);
    await vi.waitFor(async () => expect(await lab.ping(ns.c1, HUB_TUNNEL_IP)).toBe(true), WAIT);
    // The operator's enable holds for the rest of the month: more traffic, no new disable.
    await lab.exec(ns.c1, "ping", PING_BATCH);
    await collect();
    expect(await quotaEvents()).toEqual(["node.quota-warning", "node.quota-exceeded"]);
    expect((await json(await t.request(`/api/v1/nodes/${node.id}`))).data.status).not.toBe("disabled");
  }, 180_000);
});
