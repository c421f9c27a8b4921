import { existsSync } from "node:fs";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { DesiredPeer, WgDriver, WgPeer } from "../../../src/wireguard/index.js";
import {
  ensureInterface,
  findWireguardGo,
  generateKeyPair,
  isEmptyPlan,
  openDriver,
  planInterface,
  removeInterface,
  uapiSocketPath,
  WgCliDriver,
} from "../../../src/wireguard/index.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClient } from "../../support/netns.js";

const keep = { removeUnknown: false, retired: new Set<string>() };
const HUB_TUNNEL_IP = "10.66.0.1";
const CLIENT_TUNNEL_IP = "10.66.0.2";
const UNDERLAY = "192.168.77";
const HUB_UNDERLAY_IP = `${UNDERLAY}.1`;

describeNetns("a tunnel between two namespaces configured by wiresync", () => {
  let lab: Lab;
  let hubNs: string;
  let clientNs: string;
  let hubIf: string;
  let clientIf: string;
  let hub: WgDriver;
  const hubKeys = generateKeyPair();
  const clientKeys = generateKeyPair();
  const hubOptions = () => ({
    name: hubIf,
    privateKey: hubKeys.privateKey,
    listenPort: 51820,
    addresses: [`${HUB_TUNNEL_IP}/24`],
    mtu: 1380,
    netns: hubNs,
  });
  const clientPeer: DesiredPeer = { publicKey: clientKeys.publicKey, allowedIps: [`${CLIENT_TUNNEL_IP}/32`] };
  const others = (n: number, base: number): DesiredPeer[] =>
    Array.from({ length: n }, (_, i) => ({
      publicKey: generateKeyPair().publicKey,
      allowedIps: [`10.${base}.${i >> 8}.${i & 255}/32`],
    }));

  /**
   * Waits until the clock has left the second of `unixSeconds`, so that a session reset after this
   * point would show a strictly newer handshake.
   */
  async function pastSecond(unixSeconds: number): Promise<void> {
    await vi.waitFor(() => expect(Math.floor(Date.now() / 1000)).toBeGreaterThan(unixSeconds), {
      timeout: 3_000,
      interval: 50,
    });
  }

  async function clientOnHub(): Promise<WgPeer> {
    const peer = (await hub.dump()).peers.find((p) => p.publicKey === clientKeys.publicKey);
    if (!peer) throw new Error("the client is not a peer of the hub");
    return peer;
  }

  beforeAll(async () => {
    lab = createLab();
    ({ hubNs, hubIface: hubIf, clientNs, clientIface: clientIf } = await hubAndClient(lab, UNDERLAY));

    const made = await ensureInterface(hubOptions());
    expect(made).toMatchObject({ created: true, implementation: "userspace", publicKey: hubKeys.publicKey });
    await ensureInterface({
      name: clientIf,
      privateKey: clientKeys.privateKey,
      listenPort: 51820,
      addresses: [`${CLIENT_TUNNEL_IP}/24`],
      netns: clientNs,
    });

    hub = openDriver(hubIf, { driver: "auto", netns: hubNs });
    const client = openDriver(clientIf, { driver: "auto", netns: clientNs });
    try {
      await hub.apply(planInterface([clientPeer], await hub.dump(), keep));
      await client.apply(
        planInterface(
          [
            {
              publicKey: hubKeys.publicKey,
              allowedIps: ["10.66.0.0/24"],
              endpoint: `${HUB_UNDERLAY_IP}:51820`,
              persistentKeepalive: 0,
            },
          ],
          await client.dump(),
          keep,
        ),
      );
    } finally {
      client.close();
    }
  });

  afterAll(async () => {
    hub?.close();
    await lab?.close();
  });

  it("carries real packets: the client pings the hub through the tunnel", async () => {
    await vi.waitFor(async () => expect(await lab.ping(clientNs, HUB_TUNNEL_IP)).toBe(true), {
      timeout: 15_000,
      interval: 200,
    });
    const peer = await clientOnHub();
    expect(peer.latestHandshake).toBeGreaterThan(0);
    expect(peer.endpoint).toMatch(/^192\.168\.77\.2:\d+$/);
    expect(peer.rxBytes).toBeGreaterThan(0);
  });

  it("keeps the client's session while other peers are added, updated and removed through both drivers", async () => {
    await vi.waitFor(async () => expect(await lab.ping(clientNs, HUB_TUNNEL_IP)).toBe(true), {
      timeout: 15_000,
    });
    const before = await clientOnHub();
    expect(before.latestHandshake).toBeGreaterThan(0);
    await pastSecond(before.latestHandshake);

    const first = others(200, 70);
    const added = await hub.apply(planInterface([clientPeer, ...first], await hub.dump(), keep));
    expect(added.writes).toBe(1);

    // Through `wg` now: retire half of them, move the rest, add new ones, in one `wg set`.
    const cli = new WgCliDriver(hubIf, { netns: hubNs });
    const moved = first
      .slice(100)
      .map((p, i) => ({ ...p, allowedIps: [`10.71.0.${i}/32`], persistentKeepalive: 25 }));
    const plan = planInterface([clientPeer, ...moved, ...others(50, 72)], await cli.dump(), {
      removeUnknown: false,
      retired: new Set(first.slice(0, 100).map((p) => p.publicKey)),
    });
    expect(plan.reason).toBe("addPeers(50) updateAllowedIps(100) updateKeepalive(100) removeRetired(100)");
    expect(await cli.apply(plan)).toEqual({ writes: 1 });
    expect((await hub.dump()).peers).toHaveLength(151);

    expect(await lab.ping(clientNs, HUB_TUNNEL_IP)).toBe(true);
    const after = await clientOnHub();
    // A reset session would show a new handshake (or none); rekeying happens only after 120 s.
    expect(after.latestHandshake).toBe(before.latestHandshake);
    expect(after.rxBytes).toBeGreaterThan(before.rxBytes);
  });

  it("bringing the hub up again changes nothing and keeps the session", async () => {
    const before = await clientOnHub();
    await pastSecond(before.latestHandshake);
    const again = await ensureInterface(hubOptions());
    expect(again).toMatchObject({ created: false, changed: [], implementation: "userspace" });
    expect(await lab.ping(clientNs, HUB_TUNNEL_IP)).toBe(true);
    const after = await clientOnHub();
    expect(after.latestHandshake).toBe(before.latestHandshake);
    const link = await lab.exec(hubNs, "ip", ["-j", "link", "show", "dev", hubIf]);
    expect(JSON.parse(link.stdout)[0]).toMatchObject({ mtu: 1380 });
  });

  it("a reconcile with nothing to do writes nothing", async () => {
    const desired = (await hub.dump()).peers.map((p) => ({
      publicKey: p.publicKey,
      allowedIps: p.allowedIps,
    }));
    const plan = planInterface(desired, await hub.dump(), keep);
    expect(isEmptyPlan(plan)).toBe(true);
    expect(await hub.apply(plan)).toEqual({ writes: 0 });
  });

  it("removing an interface deletes the link and stops its wireguard-go", async () => {
    const name = lab.interfaceName(clientNs);
    await ensureInterface({
      name,
      privateKey: generateKeyPair().privateKey,
      listenPort: 51900,
      addresses: ["10.67.0.1/24"],
      netns: clientNs,
    });
    expect(await findWireguardGo(name)).toHaveLength(1);
    await removeInterface(name, { netns: clientNs });
    expect(await findWireguardGo(name)).toEqual([]);
    expect(existsSync(uapiSocketPath(name))).toBe(false);
    expect((await lab.exec(clientNs, "ip", ["link", "show", "dev", name])).exitCode).not.toBe(0);
    await removeInterface(name, { netns: clientNs });
  });
});
