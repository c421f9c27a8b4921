/**
 * The handshake kick on real wireguard-go interfaces: after a hub's private key changes, turning a
 * peer's persistent keepalive on from off (`handshakeKickPlans`) makes the hub start a handshake with
 * it at once, without any traffic; the peer, holding the hub's new key as a second peer without
 * allowed IPs, completes it there. This is what a hub key rotation's switch relies on.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { WgDriver } from "../../../src/wireguard/index.js";
import {
  checkPlan,
  ensureInterface,
  generateKeyPair,
  handshakeKickPlans,
  openDriver,
} from "../../../src/wireguard/index.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClient } from "../../support/netns.js";

describeNetns("handshake kick", () => {
  let lab: Lab;
  let hubNs: string;
  let nodeNs: string;
  let hub: WgDriver;
  let node: WgDriver;
  const oldHub = generateKeyPair();
  const newHub = generateKeyPair();
  const nodeKeys = generateKeyPair();

  beforeAll(async () => {
    lab = createLab();
    const made = await hubAndClient(lab, "192.168.141");
    ({ hubNs, clientNs: nodeNs } = made);
    const { hubIface, clientIface: nodeIface } = made;
    await ensureInterface({
      name: hubIface,
      privateKey: oldHub.privateKey,
      listenPort: 51849,
      addresses: ["10.141.0.1/24"],
      netns: hubNs,
    });
    await ensureInterface({
      name: nodeIface,
      privateKey: nodeKeys.privateKey,
      listenPort: 0,
      addresses: ["10.141.0.2/24"],
      netns: nodeNs,
    });
    hub = openDriver(hubIface, { driver: "uapi" });
    node = openDriver(nodeIface, { driver: "uapi" });
    await hub.apply(
      checkPlan({
        add: [{ publicKey: nodeKeys.publicKey, allowedIps: ["10.141.0.2/32"], persistentKeepalive: null }],
        remove: [],
        update: [],
        unexpected: [],
        reason: "test",
      }),
    );
    // The node: the hub's key with the addresses, its next key beside it with none (as an agent does).
    await node.apply(
      checkPlan({
        add: [
          { publicKey: oldHub.publicKey, allowedIps: ["10.141.0.0/24"], endpoint: "192.168.141.1:51849" },
          { publicKey: newHub.publicKey, allowedIps: [], endpoint: "192.168.141.1:51849" },
        ],
        remove: [],
        update: [],
        unexpected: [],
        reason: "test",
      }),
    );
  }, 60_000);

  afterAll(async () => {
    hub?.close();
    node?.close();
    await lab?.close();
  });

  it("makes the hub shake hands under its new key with no traffic, and restores the keepalive", async () => {
    expect(await lab.ping(nodeNs, "10.141.0.1")).toBe(true);
    const peerOf = async (key: string) => (await node.dump()).peers.find((p) => p.publicKey === key)!;
    expect((await peerOf(oldHub.publicKey)).latestHandshake).toBeGreaterThan(0);
    expect((await peerOf(newHub.publicKey)).latestHandshake).toBe(0);

    await hub.setDevice({ privateKey: newHub.privateKey });
    const plans = handshakeKickPlans((await hub.dump()).peers);
    expect(plans).toHaveLength(2);
    for (const plan of plans) await hub.apply(plan);

    // No packet is sent anywhere: only the kick can make this handshake.
    await vi.waitFor(
      async () => expect((await peerOf(newHub.publicKey)).latestHandshake).toBeGreaterThan(0),
      { timeout: 10_000, interval: 50 },
    );
    expect((await hub.dump()).peers.map((p) => p.persistentKeepalive)).toEqual([null]);
  });
});
