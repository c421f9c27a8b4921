/**
 * Mesh reachability end to end: four `wiresync-agent`s in namespaces on one LAN (a bridge in a
 * namespace of its own, a veth to each, one subnet) report their endpoint candidates; the server picks
 * their LAN addresses, and every pair pings directly — the hub's transfer counters do not grow by the
 * ping traffic. The reachability endpoint then reports every pair as recently handshaken. A fifth node
 * without an agent shakes hands with the hub and is shown online after usage collection.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createNode } from "../../support/mesh.js";
import type { MeshLan } from "../../support/mesh-lan.js";
import { startMeshLan } from "../../support/mesh-lan.js";
import type { Lab } from "../../support/netns.js";
import { describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";

/** The LAN: the hub is `.1`, the agents `.11` to `.14` (startMeshLan), the config-only node `.20`. */
const LAN = "192.168.93";
const HUB_TUNNEL_IP = "10.125.0.1";
const HUB_PORT = 51893;
const AGENTS = ["a", "b", "c", "d"] as const;
type AgentName = (typeof AGENTS)[number];
const WAIT = { timeout: 90_000, interval: 500 };
/** Pings per direction of each pair, and their payload: far more than handshakes and keepalives. */
const PINGS = 3;
const PING_BYTES = 1_200;

describeNetns("mesh endpoints and reachability on a LAN", () => {
  let lan: MeshLan<AgentName>;
  let lab: Lab;
  let hubIface: string;
  let configOnlyNs: string;
  let ns: Record<AgentName, string>;
  let iface: Record<AgentName, string>;
  let t: TestPlatform;
  let networkId: string;

  const dump = async (name: string) => {
    const driver = openDriver(name, { driver: "uapi" });
    try {
      return await driver.dump();
    } finally {
      driver.close();
    }
  };
  const nodes = async (): Promise<Json[]> =>
    (await json(await t.request(`/api/v1/nodes?networkId=${networkId}&limit=50`))).data.items;
  const nodeNamed = async (name: string) => (await nodes()).find((n) => n.name === name)!;
  /** Bytes the hub's interface moved with the agents' peers, both ways. */
  const hubBytes = async (keys: ReadonlySet<string>) =>
    (await dump(hubIface)).peers
      .filter((p) => keys.has(p.publicKey))
      .reduce((sum, p) => sum + p.rxBytes + p.txBytes, 0);

  beforeAll(async () => {
    lan = await startMeshLan({
      lan: LAN,
      hubPort: HUB_PORT,
      agents: AGENTS,
      network: { name: "lan-mesh", cidr4: "10.125.0.0/24" },
    });
    ({ lab, hubIface, ns, iface, t, networkId } = lan);
    configOnlyNs = await lab.namespace();
    await lan.joinLan(configOnlyNs, `${LAN}.20/24`);
  }, 180_000);

  afterAll(async () => {
    await lan?.close();
  });

  it("gives every agent the other agents' LAN addresses as endpoints, from their reported candidates", async () => {
    const byName = new Map((await nodes()).map((n) => [n.name, n]));
    for (const who of AGENTS) {
      await vi.waitFor(async () => {
        const me = await nodeNamed(`agent-${who}`);
        expect(me.endpointCandidates).toMatchObject({ addresses: [`${lan.lanIp[who]}/24`], reflexive: null });
      }, WAIT);
    }
    for (const who of AGENTS) {
      await vi.waitFor(async () => {
        const peers = new Map((await dump(iface[who])).peers.map((p) => [p.publicKey, p.endpoint]));
        for (const other of AGENTS.filter((o) => o !== who)) {
          const { publicKey, endpointCandidates } = await nodeNamed(`agent-${other}`);
          expect(peers.get(publicKey)).toBe(`${lan.lanIp[other]}:${endpointCandidates.listenPort}`);
        }
      }, WAIT);
    }
    const view = await json(await t.request(`/api/v1/nodes/${byName.get("agent-a")!.id}`));
    expect(view.data.meshPeers.map((p: Json) => p.source)).toEqual(["lan", "lan", "lan"]);
  }, 180_000);

  it("pings between every pair of agents directly: the hub's counters do not grow by the pings", async () => {
    const agentKeys = new Set((await nodes()).map((n) => n.publicKey as string));
    const tunnelIp = new Map((await nodes()).map((n) => [n.name, n.ip4 as string]));
    // First packets make the handshakes; wait until each pair answers.
    for (const who of AGENTS)
      for (const other of AGENTS.filter((o) => o !== who))
        await vi.waitFor(
          async () => expect(await lab.ping(ns[who], tunnelIp.get(`agent-${other}`)!)).toBe(true),
          WAIT,
        );

    const before = await hubBytes(agentKeys);
    const counters = new Map<string, number>();
    for (const who of AGENTS)
      for (const p of (await dump(iface[who])).peers) counters.set(`${who}:${p.publicKey}`, p.txBytes);
    for (const who of AGENTS) {
      for (const other of AGENTS.filter((o) => o !== who)) {
        const ping = await lab.exec(ns[who], "ping", [
          "-c",
          String(PINGS),
          "-i",
          "0.2",
          "-s",
          String(PING_BYTES),
          "-W",
          "2",
          tunnelIp.get(`agent-${other}`)!,
        ]);
        expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
      }
    }
    // Requests and replies of every pair: 86 kB. Through the hub, each would have crossed it twice;
    // a handshake message is under 200 bytes.
    const sent = AGENTS.length * (AGENTS.length - 1) * PINGS * PING_BYTES * 2;
    const hubGrowth = (await hubBytes(agentKeys)) - before;
    console.log(`mesh reach: the hub moved ${hubGrowth} bytes while the agents pinged ${sent} bytes`);
    expect(hubGrowth, `hub moved ${hubGrowth} bytes while the agents pinged ${sent}`).toBeLessThan(2_000);
    // ...and each agent's own peer counters carried them.
    for (const who of AGENTS) {
      for (const other of AGENTS.filter((o) => o !== who)) {
        const key = (await nodeNamed(`agent-${other}`)).publicKey;
        const peer = (await dump(iface[who])).peers.find((p) => p.publicKey === key)!;
        expect(peer.txBytes - counters.get(`${who}:${key}`)!).toBeGreaterThanOrEqual(2 * PINGS * PING_BYTES);
      }
    }
  }, 180_000);

  it("shows a node without an agent online once it shakes hands with the hub, after usage collection", async () => {
    const created = await createNode(t, networkId, { name: "config-only" });
    const configOnlyIface = lab.interfaceName(configOnlyNs);
    // The node may not be on the hub yet when the config is fetched: wait for the peer sync.
    await vi.waitFor(async () => {
      expect((await dump(hubIface)).peers.map((p) => p.publicKey)).toContain(created.node.publicKey);
    }, WAIT);
    const config = await (await t.request(`/api/v1/nodes/${created.node.id}/config`)).text();
    expect(config).toContain("# Reaches directly (endpoint known): none\n");
    const unreachable = /^# Reaches only after they reached it \(no endpoint known\): (.*)$/m.exec(
      config,
    )?.[1];
    expect(unreachable?.split(", ").sort()).toEqual(AGENTS.map((w) => `agent-${w}`));
    await applyWgQuickConfig(parseWgQuickConfig(config), { iface: configOnlyIface, netns: configOnlyNs });
    expect((await json(await t.request(`/api/v1/nodes/${created.node.id}`))).data.status).toBe("pending");
    await vi.waitFor(async () => expect(await lab.ping(configOnlyNs, HUB_TUNNEL_IP)).toBe(true), WAIT);
    await t.platform.services.peerSync.collectUsage(networkId);
    const seen = (await json(await t.request(`/api/v1/nodes/${created.node.id}`))).data;
    expect(seen.status).toBe("online");
    expect(seen.lastSeenAt).toBe(seen.lastHandshakeAt);
    expect(Date.now() - Date.parse(seen.lastSeenAt)).toBeLessThan(180_000);
  }, 180_000);

  it("reports every pair as recently handshaken: agents with each other and everyone with the hub", async () => {
    // Each agent shakes hands with the hub too, and the hub's handshakes are read at usage collection.
    for (const who of AGENTS)
      await vi.waitFor(async () => expect(await lab.ping(ns[who], HUB_TUNNEL_IP)).toBe(true), WAIT);
    await t.platform.services.peerSync.collectUsage(networkId);
    const ids = new Map((await nodes()).map((n) => [n.id as string, n.name as string]));
    const label = (id: string) => (id === "hub" ? "hub" : ids.get(id)!);
    const pairKey = (x: string, y: string) => [x, y].sort().join("~");
    await vi.waitFor(async () => {
      const res = await t.request(`/api/v1/networks/${networkId}/reachability`);
      expect(res.status).toBe(200);
      const { data } = await json(res);
      const statuses = Object.fromEntries(
        data.pairs.map((p: Json) => [pairKey(label(p.a), label(p.b)), p.status]),
      );
      const expected: Record<string, string> = {};
      for (const who of [...AGENTS.map((w) => `agent-${w}`), "config-only"])
        expected[pairKey("hub", who)] = "recent";
      for (const [i, x] of AGENTS.entries()) {
        for (const y of AGENTS.slice(i + 1)) expected[pairKey(`agent-${x}`, `agent-${y}`)] = "recent";
      }
      // The node without an agent reached no agent (none knows its address, it knows none of theirs).
      for (const who of AGENTS) expected[pairKey(`agent-${who}`, "config-only")] = "never";
      expect(statuses).toEqual(expected);
    }, WAIT);
  }, 180_000);
});
