/**
 * Preshared keys end to end: the hub (real wireguard-go, synced by the peer-sync worker) carries the
 * node's preshared key, so a node whose config holds the key completes a handshake and pings the hub,
 * while the same node with a wrong key never shakes hands. After a rotation the new config works.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { generatePresharedKey, openDriver, type WgPeer } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClient } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { WgQuick } from "../../support/wg-quick.js";
import { startTestWorkers } from "../../support/workers.js";

const HUB_TUNNEL_IP = "10.127.0.1";
const WAIT = { timeout: 60_000, interval: 250 };
const pskLine = (config: string) => /^PresharedKey = (\S+)$/m.exec(config)?.[1];

describeNetns("preshared keys", () => {
  let lab: Lab;
  let hubNs: string;
  let nodeNs: string;
  let hubIface: string;
  let nodeIface: string;
  let t: TestPlatform;
  let workers: WorkerRuntime;
  let wgQuick: WgQuick;
  let networkId: string;

  const hubPeer = async (publicKey: string): Promise<WgPeer | undefined> => {
    const driver = openDriver(hubIface, { driver: "uapi" });
    try {
      return (await driver.dump()).peers.find((p) => p.publicKey === publicKey);
    } finally {
      driver.close();
    }
  };
  const configOf = async (id: string) => {
    const res = await t.request(`/api/v1/nodes/${id}/config`);
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    lab = createLab();
    ({ hubNs, hubIface, clientNs: nodeNs, clientIface: nodeIface } = await hubAndClient(lab, "192.168.78"));
    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "psk", iface: hubIface, netns: hubNs }], driver: "auto" },
    });
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
    wgQuick = await WgQuick.create();
    const net = await createNetwork(t, {
      name: "psk",
      topology: "hub",
      cidr4: "10.127.0.0/24",
      endpoint: "192.168.78.1:51847",
      listenPort: 51847,
      persistentKeepalive: 1,
    });
    networkId = net.id;
  }, 90_000);

  afterAll(async () => {
    await wgQuick?.close();
    await workers?.close();
    await t?.close();
    await lab?.close();
  });

  it("a node with the hub's preshared key reaches the hub; with a wrong one it never shakes hands; after a rotation the new config works", async () => {
    const { node } = await createNode(t, networkId, { name: "psk-node" });
    const res = await t.request(`/api/v1/nodes/${node.id}/psk`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await json(res)).data;
    expect(body.node.hasPresharedKey).toBe(true);
    expect(body.node.configVersion).toBe(node.configVersion + 1);
    const config = await configOf(node.id);
    const psk = pskLine(config)!;
    expect(Buffer.from(psk, "base64")).toHaveLength(32);
    await vi.waitFor(async () => expect((await hubPeer(node.publicKey))?.presharedKey).toBe(psk), WAIT);

    // A wrong key on the node's side: no handshake, no ping.
    const wrong = config.replace(`PresharedKey = ${psk}`, `PresharedKey = ${generatePresharedKey()}`);
    expect(pskLine(wrong)).not.toBe(psk);
    await wgQuick.bringUp(nodeNs, nodeIface, wrong);
    for (let i = 0; i < 5; i++) expect(await lab.ping(nodeNs, HUB_TUNNEL_IP)).toBe(false);
    expect((await hubPeer(node.publicKey))?.latestHandshake).toBe(0);
    await wgQuick.bringDown(nodeNs, nodeIface);

    // The right key: a handshake and a ping.
    await wgQuick.bringUp(nodeNs, nodeIface, config);
    await vi.waitFor(async () => expect(await lab.ping(nodeNs, HUB_TUNNEL_IP)).toBe(true), WAIT);
    expect((await hubPeer(node.publicKey))?.latestHandshake).toBeGreaterThan(0);

    // A rotation: the hub moves to the new key, so the old config stops working and the new one works.
    const rotated = await t.request(`/api/v1/nodes/${node.id}/psk`, { method: "POST" });
    expect(rotated.status).toBe(200);
    expect((await json(rotated)).data.node.configVersion).toBe(node.configVersion + 2);
    const next = await configOf(node.id);
    const nextPsk = pskLine(next)!;
    expect(nextPsk).not.toBe(psk);
    await vi.waitFor(async () => expect((await hubPeer(node.publicKey))?.presharedKey).toBe(nextPsk), WAIT);
    await wgQuick.bringDown(nodeNs, nodeIface);
    await wgQuick.bringUp(nodeNs, nodeIface, next);
    await vi.waitFor(async () => expect(await lab.ping(nodeNs, HUB_TUNNEL_IP)).toBe(true), WAIT);

    // Off: the hub's peer has none and neither has the config, which still reaches the hub.
    const off = await t.request(`/api/v1/nodes/${node.id}/psk`, { method: "DELETE" });
    expect(off.status).toBe(200);
    expect((await json(off)).data.node.hasPresharedKey).toBe(false);
    const plain = await configOf(node.id);
    expect(plain).not.toContain("PresharedKey");
    await vi.waitFor(async () => expect((await hubPeer(node.publicKey))?.presharedKey).toBeNull(), WAIT);
    await wgQuick.bringDown(nodeNs, nodeIface);
    await wgQuick.bringUp(nodeNs, nodeIface, plain);
    await vi.waitFor(async () => expect(await lab.ping(nodeNs, HUB_TUNNEL_IP)).toBe(true), WAIT);
  }, 240_000);
});
