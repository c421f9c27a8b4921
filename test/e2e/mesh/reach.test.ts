/**
 * Mesh reachability end to end: four `wiresync-agent`s in namespaces on one LAN (a bridge in a
 * namespace of its own, a veth to each, one subnet) report their endpoint candidates; the server picks
 * their LAN addresses, and every pair pings directly — the hub's transfer counters do not grow by the
 * ping traffic. The reachability endpoint then reports every pair as recently handshaken. A fifth node
 * without an agent shakes hands with the hub and is shown online after usage collection.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork, createNode } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, joinBridge as joinBridgeNs } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { spawnEntry } from "../../support/spawn.js";
import { startTestWorkers } from "../../support/workers.js";

const execFileAsync = promisify(execFile);

const LAN = "192.168.93";
const HUB_LAN_IP = `${LAN}.1`;
const HUB_TUNNEL_IP = "10.125.0.1";
const HUB_PORT = 51893;
const AGENTS = ["a", "b", "c", "d"] as const;
type AgentName = (typeof AGENTS)[number];
/** LAN address of each agent's namespace; the config-only node is `.20`. */
const LAN_IP: Record<AgentName, string> = { a: `${LAN}.11`, b: `${LAN}.12`, c: `${LAN}.13`, d: `${LAN}.14` };
const WAIT = { timeout: 90_000, interval: 500 };
/** Pings per direction of each pair, and their payload: far more than handshakes and keepalives. */
const PINGS = 3;
const PING_BYTES = 1_200;

describeNetns("mesh endpoints and reachability on a LAN", () => {
  let lab: Lab;
  let bridgeNs: string;
  let hubNs: string;
  let hubIface: string;
  let configOnlyNs: string;
  const ns = {} as Record<AgentName, string>;
  const iface = {} as Record<AgentName, string>;
  const agents: Partial<Record<AgentName, SpawnedProcess>> = {};
  let t: TestPlatform;
  let server: RunningServer;
  let workers: WorkerRuntime;
  let stateDir: string;
  let networkId: string;

  const joinBridge = (netns: string, address: string) => joinBridgeNs(bridgeNs, netns, address);

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
    lab = createLab();
    bridgeNs = await lab.namespace();
    await execFileAsync("ip", ["-n", bridgeNs, "link", "add", "br0", "type", "bridge"]);
    await execFileAsync("ip", ["-n", bridgeNs, "link", "set", "br0", "up"]);
    hubNs = await lab.namespace();
    await joinBridge(hubNs, `${HUB_LAN_IP}/24`);
    for (const who of AGENTS) {
      ns[who] = await lab.namespace();
      await joinBridge(ns[who], `${LAN_IP[who]}/24`);
      iface[who] = lab.interfaceName(ns[who]);
    }
    configOnlyNs = await lab.namespace();
    await joinBridge(configOnlyNs, `${LAN}.20/24`);
    hubIface = lab.interfaceName(hubNs);
    stateDir = await mkdtemp(path.join(tmpdir(), "wiresync-mesh-reach-"));

    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "lan-mesh", iface: hubIface, netns: hubNs }], driver: "auto" },
    });
    server = await listen(t.app, 0, "127.0.0.1");
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
    const net = await createNetwork(t, {
      name: "lan-mesh",
      topology: "mesh",
      cidr4: "10.125.0.0/24",
      endpoint: `${HUB_LAN_IP}:${HUB_PORT}`,
      listenPort: HUB_PORT,
    });
    networkId = net.id;
    const enrollmentKey = await createEnrollmentKey(t, networkId, { reusable: true, maxUses: AGENTS.length });
    for (const who of AGENTS) {
      // The agents run here and reach the API on loopback: the server sees 127.0.0.1, no reflexive
      // candidate; what they report from their namespaces decides.
      agents[who] = spawnEntry("apps/agent/main.ts", {
        WIRESYNC_URL: `http://127.0.0.1:${server.port}`,
        AGENT_ENROLLMENT_KEY: enrollmentKey,
        AGENT_STATE_DIR: path.join(stateDir, who),
        AGENT_INTERFACE: iface[who],
        AGENT_NETNS: ns[who],
        AGENT_NAME: `agent-${who}`,
        AGENT_HEARTBEAT_SECONDS: "5",
        LOG_LEVEL: "info",
      });
    }
    for (const who of AGENTS) await agents[who]!.waitForOutput(/"msg":"agent running"/, 90_000);
  }, 180_000);

  afterAll(async () => {
    for (const a of Object.values(agents)) await a?.stop(2_000);
    await workers?.close();
    await server?.close();
    await t?.close();
    await lab?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("gives every agent the other agents' LAN addresses as endpoints, from their reported candidates", async () => {
    const byName = new Map((await nodes()).map((n) => [n.name, n]));
    for (const who of AGENTS) {
      await vi.waitFor(async () => {
        const me = await nodeNamed(`agent-${who}`);
        expect(me.endpointCandidates).toMatchObject({ addresses: [`${LAN_IP[who]}/24`], reflexive: null });
      }, WAIT);
    }
    for (const who of AGENTS) {
      await vi.waitFor(async () => {
        const peers = new Map((await dump(iface[who])).peers.map((p) => [p.publicKey, p.endpoint]));
        for (const other of AGENTS.filter((o) => o !== who)) {
          const { publicKey, endpointCandidates } = await nodeNamed(`agent-${other}`);
          expect(peers.get(publicKey)).toBe(`${LAN_IP[other]}:${endpointCandidates.listenPort}`);
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
