/**
 * The data plane end to end: a hub namespace whose interface the peer-sync worker manages, two client
 * namespaces configured from `GET /api/v1/nodes/:id/config`, and real packets between them.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import type { WgDriver } from "../../../src/wireguard/index.js";
import { generateKeyPair, openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { startScheduler } from "../../../workers/scheduler.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { startTestWorkers } from "../../support/workers.js";

const HUB_TUNNEL_IP = "10.123.0.1";
const WAIT = { timeout: 20_000, interval: 200 };

describeNetns("peer sync keeps a real hub interface in step with the database", () => {
  let lab: Lab;
  let hubNs: string;
  const clients: Record<"a" | "b", { ns: string; iface: string }> = {} as never;
  let hubIface: string;
  let hub: WgDriver;
  let t: TestPlatform;
  let workers: WorkerRuntime;
  let networkId: string;
  const nodes: Record<"a" | "b", { id: string; publicKey: string; ip4: string; token: string }> = {} as never;
  const bKeys = generateKeyPair();

  const hubPeers = async () => (await hub.dump()).peers.map((p) => p.publicKey);
  const ping = (who: "a" | "b") => lab.ping(clients[who].ns, HUB_TUNNEL_IP);

  async function configure(who: "a" | "b", privateKey?: string) {
    const res = await t.request(`/api/v1/nodes/${nodes[who].id}/config`, {
      key: null,
      headers: { Authorization: `Bearer ${nodes[who].token}` },
    });
    expect(res.status).toBe(200);
    const config = parseWgQuickConfig(await res.text());
    await applyWgQuickConfig(config, {
      iface: clients[who].iface,
      netns: clients[who].ns,
      ...(privateKey ? { privateKey } : {}),
    });
  }

  async function runAndWait(path: string): Promise<Record<string, unknown>> {
    const started = await json(await t.request(path, { method: "POST", body: {} }));
    const id = started.data.sync_log_id as string;
    let run: Record<string, unknown> = {};
    await vi.waitFor(async () => {
      run = (await json(await t.request(`/api/v1/sync/status/${id}`))).data;
      expect(["COMPLETED", "FAILED", "CANCELLED"]).toContain(run.status);
    }, WAIT);
    return run;
  }

  beforeAll(async () => {
    lab = createLab();
    hubNs = await lab.namespace();
    clients.a = { ns: await lab.namespace(), iface: "" };
    clients.b = { ns: await lab.namespace(), iface: "" };
    await lab.veth(
      { netns: hubNs, address: "192.168.61.1/24" },
      { netns: clients.a.ns, address: "192.168.61.2/24" },
    );
    await lab.veth(
      { netns: hubNs, address: "192.168.62.1/24" },
      { netns: clients.b.ns, address: "192.168.62.2/24" },
    );
    // B reaches the hub's endpoint (on A's side) through the hub, which owns that address.
    await lab.exec(clients.b.ns, "ip", ["route", "add", "default", "via", "192.168.62.1"]);
    hubIface = lab.interfaceName(hubNs);
    clients.a.iface = lab.interfaceName(clients.a.ns);
    clients.b.iface = lab.interfaceName(clients.b.ns);

    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "e2e-hub", iface: hubIface, netns: hubNs }], driver: "auto" },
    });
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
    const net = await createNetwork(t, {
      name: "e2e-hub",
      cidr4: "10.123.0.0/24",
      endpoint: "192.168.61.1:51821",
      listenPort: 51821,
      persistentKeepalive: 1,
    });
    networkId = net.id;
  }, 60_000);

  afterAll(async () => {
    hub?.close();
    await workers?.close();
    await t?.close();
    await lab?.close();
  });

  it("puts enrolled nodes on the hub within seconds, and each client pings the hub through the tunnel", async () => {
    const a = await createNode(t, networkId, { name: "client-a" });
    const b = await createNode(t, networkId, { name: "client-b", publicKey: bKeys.publicKey });
    nodes.a = { id: a.node.id, publicKey: a.node.publicKey, ip4: a.node.ip4, token: a.token };
    nodes.b = { id: b.node.id, publicKey: b.node.publicKey, ip4: b.node.ip4, token: b.token };
    hub = openDriver(hubIface, { driver: "auto", netns: hubNs });
    await vi.waitFor(
      async () => expect((await hubPeers()).sort()).toEqual([nodes.a.publicKey, nodes.b.publicKey].sort()),
      WAIT,
    );
    await configure("a");
    await configure("b", bKeys.privateKey);
    await vi.waitFor(async () => expect(await ping("a")).toBe(true), WAIT);
    await vi.waitFor(async () => expect(await ping("b")).toBe(true), WAIT);
  });

  it("takes a deleted node off the hub, and its ping fails", async () => {
    expect((await t.request(`/api/v1/nodes/${nodes.b.id}`, { method: "DELETE" })).status).toBe(200);
    await vi.waitFor(async () => expect(await hubPeers()).toEqual([nodes.a.publicKey]), WAIT);
    expect(await ping("b")).toBe(false);
    expect(await ping("a")).toBe(true);
  });

  it("restores a peer removed by hand at the next scheduled reconcile", async () => {
    await lab.exec(hubNs, "wg", ["set", hubIface, "peer", nodes.a.publicKey, "remove"]);
    expect(await hubPeers()).toEqual([]);
    expect(await ping("a")).toBe(false);
    const scheduler = startScheduler({
      sync: t.platform.services.sync,
      liveness: t.platform.services.liveness,
      settings: t.platform.services.settings,
      logger: t.platform.logger,
      staleRunCheckCron: "* * * * *",
      nodeOfflineAfterSeconds: 180,
      timers: false,
    });
    const runId = await scheduler.reconcileTick(new Date());
    await scheduler.stop();
    expect(runId).toBeDefined();
    await vi.waitFor(async () => {
      const run = (await json(await t.request(`/api/v1/sync/status/${runId}`))).data;
      expect(run.status).toBe("COMPLETED");
      expect(run.items.find((i: { kind: string }) => i.kind === "peers").note).toMatch(/drift: 1 missing/);
    }, WAIT);
    expect(await hubPeers()).toEqual([nodes.a.publicKey]);
    await vi.waitFor(async () => expect(await ping("a")).toBe(true), WAIT);
  });

  it("reports a peer added by hand as drift, leaves it through a plain sync, and removes it with drift fix", async () => {
    const stranger = generateKeyPair().publicKey;
    await lab.exec(hubNs, "wg", ["set", hubIface, "peer", stranger, "allowed-ips", "10.123.0.99/32"]);
    const drift = await json(await t.request(`/api/v1/networks/${networkId}/drift`));
    expect(drift.data).toMatchObject({
      managed: true,
      iface: hubIface,
      missing: [],
      unexpected: [stranger],
      mismatched: [],
    });

    const plain = await runAndWait("/api/v1/sync/peers");
    expect(plain.status).toBe("COMPLETED");
    expect(await hubPeers()).toContain(stranger);

    const handshakeBefore = (await hub.dump()).peers.find(
      (p) => p.publicKey === nodes.a.publicKey,
    )!.latestHandshake;
    const fix = await runAndWait(`/api/v1/networks/${networkId}/drift/fix`);
    expect(fix).toMatchObject({ status: "COMPLETED", type: "drift-fix" });
    expect(await hubPeers()).toEqual([nodes.a.publicKey]);
    // The fix touched only the stranger: A's session is the same one, and it still carries packets.
    const handshakeAfter = (await hub.dump()).peers.find(
      (p) => p.publicKey === nodes.a.publicKey,
    )!.latestHandshake;
    expect(handshakeAfter).toBe(handshakeBefore);
    expect(await ping("a")).toBe(true);
    const after = await json(await t.request(`/api/v1/networks/${networkId}/drift`));
    expect(after.data.unexpected).toEqual([]);
  });

  it("collects transfer counters of real traffic into monthly usage", async () => {
    const run = await runAndWait("/api/v1/sync/usage");
    expect(run.status).toBe("COMPLETED");
    const usage = await json(await t.request(`/api/v1/usage?node=${nodes.a.id}`));
    expect(usage.data.items[0].rxBytes).toBeGreaterThan(0);
    expect(usage.data.items[0].txBytes).toBeGreaterThan(0);
    const node = await json(await t.request(`/api/v1/nodes/${nodes.a.id}`));
    expect(node.data.lastHandshakeAt).not.toBeNull();
  });
});
