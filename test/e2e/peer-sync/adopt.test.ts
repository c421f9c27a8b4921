/**
 * Bringing existing interfaces under wiresync: two hub interfaces built by hand (wireguard-go, peers
 * loaded with `wg addconf` from a wg0.conf with comments), 50 peers each, one of them a real client
 * namespace with a live session. One network adopts from its live interface, the other from its
 * wg0.conf sent as the body. Afterwards drift is 0, the live session is the same one (its handshake
 * time unchanged) and still carries pings. Then a node moves: its new address pings through the hub
 * and the old one is gone from the hub and from every config.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import { networks, nodes } from "../../../src/db/index.js";
import type { WgDriver } from "../../../src/wireguard/index.js";
import { generateKeyPair } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { handBuiltHub } from "../../support/hand-built-hub.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createNetwork } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClients } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { peerSyncIdle as waitForPeerSync } from "../../support/queues.js";
import { startTestWorkers } from "../../support/workers.js";

const WAIT = { timeout: 45_000, interval: 250 };
const PEERS = 50;

interface Site {
  name: string;
  /** First three octets of the tunnel range. */
  prefix: string;
  port: number;
  hubIface: string;
  /** The real clients: namespace, interface, key pair, tunnel address. */
  clients: { ns: string; iface: string; keys: { privateKey: string; publicKey: string }; ip: string }[];
  networkId: string;
  /** The wg0.conf the interface was loaded from: 50 peers, every third with a comment naming it. */
  conf: string;
  driver: WgDriver;
}

describeNetns("adopting existing interfaces, then moving a node", () => {
  let lab: Lab;
  let t: TestPlatform;
  let workers: WorkerRuntime;
  const sites: Record<"live" | "file", Site> = {} as never;

  const peerConf = (site: Site, real: Site["clients"]) => {
    const blocks: string[] = [];
    for (let i = 0; i < PEERS; i++) {
      const client = real[i];
      const publicKey = client ? client.keys.publicKey : generateKeyPair().publicKey;
      const ip = client ? client.ip : `${site.prefix}.${100 + i}`;
      blocks.push(
        [
          ...(i % 3 === 0 ? [`# ${site.name} device ${i}`] : []),
          "[Peer]",
          `PublicKey = ${publicKey}`,
          `AllowedIPs = ${ip}/32`,
          "",
        ].join("\n"),
      );
    }
    return blocks.join("\n");
  };

  /** The hub interface by hand: key and port of the network, then the peers with `wg addconf`. */
  async function buildHub(site: Site, hubNs: string) {
    const [row] = await t.platform.database.db.select().from(networks).where(eq(networks.id, site.networkId));
    site.driver = await handBuiltHub(
      lab,
      {
        ns: hubNs,
        iface: site.hubIface,
        privateKey: t.platform.secrets.open(row!.hubPrivateKeyEnc, `network:${site.networkId}`),
        listenPort: site.port,
        address: `${site.prefix}.1/24`,
      },
      site.conf,
      PEERS,
    );
  }

  async function bringUpClient(site: Site, client: Site["clients"][number], hubAddress: string) {
    const text = [
      "[Interface]",
      `Address = ${client.ip}/24`,
      "[Peer]",
      `PublicKey = ${(await json(await t.request(`/api/v1/networks/${site.networkId}`))).data.hubPublicKey}`,
      `AllowedIPs = ${site.prefix}.0/24`,
      `Endpoint = ${hubAddress}:${site.port}`,
    ].join("\n");
    await applyWgQuickConfig(parseWgQuickConfig(text), {
      iface: client.iface,
      netns: client.ns,
      privateKey: client.keys.privateKey,
    });
  }

  /** Every peer of a conf as `[publicKey, address]`, sorted by key. */
  const peersOf = (conf: string): [string, string][] =>
    [...conf.matchAll(/^PublicKey = (\S+)\nAllowedIPs = ([\d.]+)\/32$/gm)]
      .map((m): [string, string] => [m[1]!, m[2]!])
      .sort(([a], [b]) => a.localeCompare(b));
  /** The nodes of a site as `[publicKey, ip4]`, sorted by key. */
  const addressesOf = async (site: Site) =>
    (await nodesOf(site))
      .map((r): [string, string | null] => [r.publicKey, r.ip4])
      .sort(([a], [b]) => a.localeCompare(b));
  /** The hub interface's peers as `[publicKey, allowedIps]`, sorted by key. */
  const hubPeers = async (site: Site) =>
    (await site.driver.dump()).peers
      .map((p): [string, string[]] => [p.publicKey, [...p.allowedIps].sort()])
      .sort(([a], [b]) => a.localeCompare(b));
  const drift = async (site: Site) =>
    (await json(await t.request(`/api/v1/networks/${site.networkId}/drift`))).data;
  const handshakeOf = async (site: Site, publicKey: string) =>
    (await site.driver.dump()).peers.find((p) => p.publicKey === publicKey)!.latestHandshake;
  const nodesOf = async (site: Site) =>
    t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, site.networkId));
  const peerSyncIdle = () => waitForPeerSync(t.platform, WAIT);

  beforeAll(async () => {
    lab = createLab();
    const live = await hubAndClients(lab, ["192.168.131", "192.168.132"]);
    const fileNs = await lab.namespace();
    await lab.veth(
      { netns: live.hubNs, address: "192.168.133.1/24" },
      { netns: fileNs, address: "192.168.133.2/24" },
    );
    const fileIface = lab.interfaceName(live.hubNs);
    const key = () => generateKeyPair();
    sites.live = {
      name: "live",
      prefix: "10.131.0",
      port: 51841,
      hubIface: live.hubIface,
      clients: [
        { ns: live.ns.c1, iface: live.iface.c1, keys: key(), ip: "10.131.0.2" },
        { ns: live.ns.c2, iface: live.iface.c2, keys: key(), ip: "10.131.0.3" },
      ],
    } as Site;
    sites.file = {
      name: "file",
      prefix: "10.132.0",
      port: 51842,
      hubIface: fileIface,
      clients: [{ ns: fileNs, iface: lab.interfaceName(fileNs), keys: key(), ip: "10.132.0.2" }],
    } as Site;
    t = await createTestPlatform({
      wireguard: {
        interfaces: [
          { network: "adopt-live", iface: sites.live.hubIface, netns: live.hubNs },
          { network: "adopt-file", iface: sites.file.hubIface, netns: live.hubNs },
        ],
        driver: "auto",
      },
    });
    for (const site of [sites.live, sites.file]) {
      const net = await createNetwork(t, {
        name: `adopt-${site.name}`,
        cidr4: `${site.prefix}.0/24`,
        listenPort: site.port,
      });
      site.networkId = net.id;
      site.conf = peerConf(site, site.clients);
      await buildHub(site, live.hubNs);
    }
    await bringUpClient(sites.live, sites.live.clients[0]!, "192.168.131.1");
    await bringUpClient(sites.live, sites.live.clients[1]!, "192.168.132.1");
    await bringUpClient(sites.file, sites.file.clients[0]!, "192.168.133.1");
    // Sessions exist before wiresync runs anything on these interfaces.
    for (const site of [sites.live, sites.file])
      for (const c of site.clients)
        await vi.waitFor(async () => expect(await lab.ping(c.ns, `${site.prefix}.1`)).toBe(true), WAIT);
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
  }, 120_000);

  afterAll(async () => {
    for (const site of Object.values(sites)) site.driver?.close();
    await workers?.close();
    await t?.close();
    await lab?.close();
  });

  it("shows in a dry run the 50 peers of the live interface it would adopt, and changes nothing", async () => {
    const site = sites.live;
    expect((await drift(site)).unexpected).toHaveLength(PEERS);
    const res = await t.request(`/api/v1/networks/${site.networkId}/adopt?dryRun=true`, { method: "POST" });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data).toMatchObject({ dryRun: true, source: "interface", iface: site.hubIface });
    expect(body.data.counts).toEqual({ seen: PEERS, adopted: PEERS, refused: 0 });
    expect(await nodesOf(site)).toHaveLength(0);
    expect((await drift(site)).unexpected).toHaveLength(PEERS);
  });

  it("adopts the live interface's 50 peers: drift 0, the live sessions untouched and pinging", async () => {
    const site = sites.live;
    const before = await site.driver.dump();
    const handshakes = await Promise.all(site.clients.map((c) => handshakeOf(site, c.keys.publicKey)));
    expect(handshakes.every((h) => h > 0)).toBe(true);

    const res = await t.request(`/api/v1/networks/${site.networkId}/adopt`, { method: "POST" });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data.counts).toEqual({ seen: PEERS, adopted: PEERS, refused: 0 });
    const rows = await nodesOf(site);
    expect(rows).toHaveLength(PEERS);
    // An interface carries no comments: every name comes from the key.
    expect(rows.every((r) => /^peer-[a-z0-9]{8}/.test(r.name))).toBe(true);
    // Each peer became a node with exactly the key and address it had on the interface.
    expect(peersOf(site.conf)).toHaveLength(PEERS);
    expect(await addressesOf(site)).toEqual(peersOf(site.conf));
    expect(rows.find((r) => r.publicKey === site.clients[0]!.keys.publicKey)?.ip4).toBe("10.131.0.2");

    await peerSyncIdle();
    expect(await drift(site)).toMatchObject({ missing: [], unexpected: [], mismatched: [] });
    const after = await site.driver.dump();
    const view = (s: typeof before) => s.peers.map((p) => [p.publicKey, p.allowedIps]).sort();
    expect(view(after)).toEqual(view(before));
    expect(await Promise.all(site.clients.map((c) => handshakeOf(site, c.keys.publicKey)))).toEqual(
      handshakes,
    );
    for (const c of site.clients) expect(await lab.ping(c.ns, `${site.prefix}.1`)).toBe(true);
  });

  it("adopts from a wg0.conf body with names from its comments, refusing its stale lines by reason", async () => {
    const site = sites.file;
    const stale = [
      "# moved away",
      "[Peer]",
      `PublicKey = ${generateKeyPair().publicKey}`,
      "AllowedIPs = 10.99.0.7/32",
      "",
      "# twin a",
      "[Peer]",
      `PublicKey = ${generateKeyPair().publicKey}`,
      "AllowedIPs = 10.132.0.250/32",
      "",
      "# twin b",
      "[Peer]",
      `PublicKey = ${generateKeyPair().publicKey}`,
      "AllowedIPs = 10.132.0.250/32",
      "",
      "# on a device's address",
      "[Peer]",
      `PublicKey = ${generateKeyPair().publicKey}`,
      "AllowedIPs = 10.132.0.101/32",
    ].join("\n");
    const body = `[Interface]\nListenPort = ${site.port}\nAddress = 10.132.0.1/24\n\n${site.conf}\n${stale}\n`;
    const handshake = await handshakeOf(site, site.clients[0]!.keys.publicKey);

    const dry = await json(
      await t.request(`/api/v1/networks/${site.networkId}/adopt?dryRun=true`, {
        method: "POST",
        body,
        headers: { "Content-Type": "text/plain" },
      }),
    );
    expect(dry.data.counts).toEqual({ seen: PEERS + 4, adopted: PEERS - 1, refused: 5 });
    expect(await nodesOf(site)).toHaveLength(0);

    const res = await t.request(`/api/v1/networks/${site.networkId}/adopt`, {
      method: "POST",
      body,
      headers: { "Content-Type": "text/plain" },
    });
    const result = (await json(res)).data;
    expect(res.status, JSON.stringify(result)).toBe(200);
    // Device 1 and the stale line on its address both claim 10.132.0.101: neither is guessed.
    expect(result.counts).toEqual({ seen: PEERS + 4, adopted: PEERS - 1, refused: 5 });
    const refused = Object.fromEntries(result.refused.map((r: Json) => [r.name, r.reason]));
    const device1 = result.refused.find((r: Json) => r.name.startsWith("peer-"));
    expect(refused).toEqual({
      "moved away": "OUTSIDE_NETWORK",
      "twin a": "ADDRESS_COLLISION",
      "twin b": "ADDRESS_COLLISION",
      "on a device-s address": "ADDRESS_COLLISION",
      [device1.name]: "ADDRESS_COLLISION",
    });
    expect(device1.message).toContain("10.132.0.101");
    const rows = await nodesOf(site);
    expect(rows).toHaveLength(PEERS - 1);
    // Every peer of the file but device 1 (at 10.132.0.101) became a node with its key and address.
    expect(await addressesOf(site)).toEqual(peersOf(site.conf).filter(([, ip]) => ip !== "10.132.0.101"));
    const named = rows.filter((r) => r.name.startsWith("file device ")).map((r) => r.name);
    expect(named).toHaveLength(17); // every third of the 50 has a comment
    await peerSyncIdle();
    // The refused device stays on the interface as the one unknown peer.
    const d = await drift(site);
    expect([d.missing, d.mismatched, d.unexpected.length]).toEqual([[], [], 1]);
    expect(await handshakeOf(site, site.clients[0]!.keys.publicKey)).toBe(handshake);
    expect(await lab.ping(site.clients[0]!.ns, `${site.prefix}.1`)).toBe(true);
  });

  it("moves a node: its new address pings through the hub, the old one is gone from the hub and every config", {
    timeout: 120_000,
  }, async () => {
    const site = sites.live;
    const [c1, c2] = site.clients as [Site["clients"][number], Site["clients"][number]];
    const [row] = await t.platform.database.db
      .select()
      .from(nodes)
      .where(eq(nodes.publicKey, c1.keys.publicKey));
    const before = await addressesOf(site);
    expect(before).toContainEqual([c1.keys.publicKey, "10.131.0.2"]);
    // After the move: the same nodes, c1 at its new address and every other one where it was.
    const expected = before.map(([key, ip]): [string, string | null] =>
      key === c1.keys.publicKey ? [key, "10.131.0.250"] : [key, ip],
    );
    const res = await t.request(`/api/v1/nodes/${row!.id}`, {
      method: "PATCH",
      body: { ip4: "10.131.0.250" },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await addressesOf(site)).toEqual(expected);
    await vi.waitFor(
      async () => expect(await hubPeers(site)).toEqual(expected.map(([key, ip]) => [key, [`${ip}/32`]])),
      WAIT,
    );
    // The device keeps its own config: its operator moves it by hand.
    // (Old address first: deleting a subnet's primary address takes its secondaries with it.)
    await lab.exec(c1.ns, "ip", ["address", "del", "10.131.0.2/24", "dev", c1.iface]);
    await lab.exec(c1.ns, "ip", ["address", "add", "10.131.0.250/24", "dev", c1.iface]);
    await vi.waitFor(async () => expect(await lab.ping(c1.ns, `${site.prefix}.1`)).toBe(true), WAIT);
    await vi.waitFor(async () => expect(await lab.ping(c2.ns, "10.131.0.250")).toBe(true), WAIT);
    expect(await lab.ping(c2.ns, "10.131.0.2")).toBe(false);
    const configs = await Promise.all(
      (await nodesOf(site)).map(async (r) => ({
        ip4: r.ip4,
        text: await (await t.request(`/api/v1/nodes/${r.id}/config`)).text(),
      })),
    );
    expect(configs).toHaveLength(PEERS);
    for (const { ip4, text } of configs) {
      expect([...text.matchAll(/^Address = (.+)$/gm)].map((m) => m[1])).toEqual([`${ip4}/24`]);
      expect(text).not.toMatch(/10\.131\.0\.2\//);
    }
    expect(await drift(site)).toMatchObject({ missing: [], unexpected: [], mismatched: [] });
  });
});
