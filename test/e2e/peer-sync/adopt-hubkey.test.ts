/**
 * Bringing a real hub interface under wiresync with its own key: a wg0 built by hand (wireguard-go,
 * its own private key and port, 50 peers loaded with `wg addconf`), one of them a real client
 * namespace pinging through it. The network adopts from the wg0.conf with its [Interface], taking
 * over the hub's key and port; the peer-sync worker bound to the interface starts only afterwards and
 * reconciles it: drift 0, the interface's key and port unchanged, the session the same one.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import { nodes } from "../../../src/db/index.js";
import type { WgDriver } from "../../../src/wireguard/index.js";
import { generateKeyPair } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { handBuiltHub } from "../../support/hand-built-hub.js";
import { json } from "../../support/http.js";
import { createNetwork } from "../../support/mesh.js";
import type { HubAndClients, Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClients } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { requestSync, waitForRun } from "../../support/sync.js";
import { startTestWorkers } from "../../support/workers.js";

const WAIT = { timeout: 45_000, interval: 250 };
const PEERS = 50;
const PORT = 51893;

describeNetns("adopting a hub interface that runs with its own key", () => {
  let lab: Lab;
  let net: HubAndClients;
  let t: TestPlatform;
  let workers: WorkerRuntime | undefined;
  let driver: WgDriver;
  let networkId: string;
  const hub = generateKeyPair();
  const client = generateKeyPair();
  /** The operator's wg0.conf: the hub's [Interface], then 50 peers, every third named by a comment. */
  let conf: string;

  const handshake = async () =>
    (await driver.dump()).peers.find((p) => p.publicKey === client.publicKey)!.latestHandshake;

  beforeAll(async () => {
    lab = createLab();
    net = await hubAndClients(lab, ["192.168.151", "192.168.152"]);
    const peers = Array.from({ length: PEERS }, (_, i) =>
      [
        ...(i % 3 === 0 ? [`# device ${i}`] : []),
        "[Peer]",
        `PublicKey = ${i === 0 ? client.publicKey : generateKeyPair().publicKey}`,
        `AllowedIPs = 10.151.0.${i + 2}/32`,
        "",
      ].join("\n"),
    ).join("\n");
    conf = `[Interface]\nPrivateKey = ${hub.privateKey}\nListenPort = ${PORT}\nAddress = 10.151.0.1/24\n\n${peers}`;

    driver = await handBuiltHub(
      lab,
      {
        ns: net.hubNs,
        iface: net.hubIface,
        privateKey: hub.privateKey,
        listenPort: PORT,
        address: "10.151.0.1/24",
      },
      peers,
      PEERS,
    );

    await applyWgQuickConfig(
      parseWgQuickConfig(
        [
          "[Interface]",
          "Address = 10.151.0.2/24",
          "[Peer]",
          `PublicKey = ${hub.publicKey}`,
          "AllowedIPs = 10.151.0.0/24",
          `Endpoint = 192.168.151.1:${PORT}`,
        ].join("\n"),
      ),
      { iface: net.iface.c1, netns: net.ns.c1, privateKey: client.privateKey },
    );
    await vi.waitFor(async () => expect(await lab.ping(net.ns.c1, "10.151.0.1")).toBe(true), WAIT);

    t = await createTestPlatform({
      wireguard: {
        interfaces: [{ network: "own-key", iface: net.hubIface, netns: net.hubNs }],
        driver: "auto",
      },
    });
    // A new network: wiresync made it its own hub key and another port.
    networkId = (await createNetwork(t, { name: "own-key", cidr4: "10.151.0.0/24", listenPort: PORT - 1 }))
      .id;
  }, 120_000);

  afterAll(async () => {
    driver?.close();
    await workers?.close();
    await t?.close();
    await lab?.close();
  });

  it("imports the hub's key and port with the 50 peers; the worker started afterwards changes nothing", {
    timeout: 180_000,
  }, async () => {
    const before = await driver.dump();
    const since = await handshake();
    expect(since).toBeGreaterThan(0);

    const dry = await json(
      await t.request(`/api/v1/networks/${networkId}/adopt?dryRun=true`, {
        method: "POST",
        body: conf,
        headers: { "Content-Type": "text/plain" },
      }),
    );
    expect(dry.data).toMatchObject({ hubKey: "would be imported", hubPublicKey: hub.publicKey });
    const res = await t.request(`/api/v1/networks/${networkId}/adopt`, {
      method: "POST",
      body: conf,
      headers: { "Content-Type": "text/plain" },
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).not.toContain(hub.privateKey);
    const result = JSON.parse(text).data;
    expect(result).toMatchObject({
      hubKey: "imported",
      hubPublicKey: hub.publicKey,
      listenPort: PORT,
      counts: { seen: PEERS, adopted: PEERS, refused: 0 },
    });
    const rows = await t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, networkId));
    expect(rows).toHaveLength(PEERS);
    expect(rows.filter((r) => r.name.startsWith("device "))).toHaveLength(17);
    // Each peer became a node with exactly the key and address it had on the interface.
    const byKey = ([a]: [string, string | null], [b]: [string, string | null]) => a.localeCompare(b);
    expect(rows.map((r): [string, string | null] => [r.publicKey, r.ip4]).sort(byKey)).toEqual(
      before.peers
        .map((p): [string, string | null] => [p.publicKey, p.allowedIps[0]!.replace(/\/32$/, "")])
        .sort(byKey),
    );
    expect(before.peers.every((p) => p.allowedIps.length === 1)).toBe(true);

    // The worker bound to the interface starts now, and reconciles the network.
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync"] });
    const started = await requestSync(t, "peers", {});
    await waitForRun(t, started.sync_log_id, "COMPLETED", { timeoutMs: WAIT.timeout });

    const drift = (await json(await t.request(`/api/v1/networks/${networkId}/drift`))).data;
    expect(drift).toMatchObject({ managed: true, missing: [], unexpected: [], mismatched: [] });
    const after = await driver.dump();
    expect(after.publicKey).toBe(hub.publicKey);
    expect(after.listenPort).toBe(PORT);
    const view = (s: typeof before) => s.peers.map((p) => [p.publicKey, p.allowedIps]).sort();
    expect(view(after)).toEqual(view(before));
    expect(await handshake()).toBe(since);
    expect(await lab.ping(net.ns.c1, "10.151.0.1")).toBe(true);
    expect(t.logs.text).not.toContain(hub.privateKey);
  });
});
