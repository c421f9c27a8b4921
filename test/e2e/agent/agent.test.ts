/**
 * Node agents end to end: two `wiresync-agent` processes register with an enrollment key, configure
 * their own interfaces in client namespaces, reach the hub through real tunnels, and follow config
 * announcements when the mesh changes.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { spawnEntry } from "../../support/spawn.js";
import { startTestWorkers } from "../../support/workers.js";

const HUB_TUNNEL_IP = "10.124.0.1";
const WAIT = { timeout: 30_000, interval: 250 };

describeNetns("node agents", () => {
  let lab: Lab;
  let hubNs: string;
  const ns: Record<"a" | "b", string> = { a: "", b: "" };
  const iface: Record<"a" | "b", string> = { a: "", b: "" };
  const agents: Partial<Record<"a" | "b", SpawnedProcess>> = {};
  let t: TestPlatform;
  let server: RunningServer;
  let workers: WorkerRuntime;
  let stateDir: string;
  let networkId: string;
  let enrollmentKey: string;
  let hubPublicKey: string;

  const peersOf = async (name: string) => {
    const driver = openDriver(name, { driver: "uapi" });
    try {
      return (await driver.dump()).peers.map((p) => p.publicKey);
    } finally {
      driver.close();
    }
  };
  const nodes = async () => (await json(await t.request(`/api/v1/nodes?networkId=${networkId}`))).data.items;

  function startAgent(who: "a" | "b") {
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
    return agents[who]!;
  }

  beforeAll(async () => {
    lab = createLab();
    hubNs = await lab.namespace();
    ns.a = await lab.namespace();
    ns.b = await lab.namespace();
    await lab.veth({ netns: hubNs, address: "192.168.71.1/24" }, { netns: ns.a, address: "192.168.71.2/24" });
    await lab.veth({ netns: hubNs, address: "192.168.72.1/24" }, { netns: ns.b, address: "192.168.72.2/24" });
    await lab.exec(ns.b, "ip", ["route", "add", "default", "via", "192.168.72.1"]);
    const hubIface = lab.interfaceName(hubNs);
    iface.a = lab.interfaceName(ns.a);
    iface.b = lab.interfaceName(ns.b);
    stateDir = await mkdtemp(path.join(tmpdir(), "wiresync-agents-"));

    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "agents", iface: hubIface, netns: hubNs }], driver: "auto" },
    });
    server = await listen(t.app, 0, "127.0.0.1");
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
    const net = await createNetwork(t, {
      name: "agents",
      topology: "mesh",
      cidr4: "10.124.0.0/24",
      endpoint: "192.168.71.1:51841",
      listenPort: 51841,
      persistentKeepalive: 1,
    });
    networkId = net.id;
    hubPublicKey = net.hubPublicKey;
    enrollmentKey = await createEnrollmentKey(t, networkId, { reusable: true, maxUses: 2 });
  }, 60_000);

  afterAll(async () => {
    for (const a of Object.values(agents)) await a?.stop(2_000);
    await workers?.close();
    await server?.close();
    await t?.close();
    await lab?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("registers with a key made on the node, configures its interface and pings the hub through the tunnel", async () => {
    const a = startAgent("a");
    await a.waitForOutput(/"msg":"agent running"/, 60_000);
    const [node] = await nodes();
    expect(node).toMatchObject({ name: "agent-a", hasServerKey: false });
    await vi.waitFor(async () => expect(await lab.ping(ns.a, HUB_TUNNEL_IP)).toBe(true), WAIT);
    const state = await stat(path.join(stateDir, "a", "state.json"));
    expect(state.mode & 0o777).toBe(0o600);
    // The node's private key lives only in its state file: not in the database, not in a log line.
    const { privateKey } = JSON.parse(await readFile(path.join(stateDir, "a", "state.json"), "utf8"));
    const rows = await t.db.database.db.query.nodes.findMany();
    expect(JSON.stringify(rows)).not.toContain(privateKey);
    expect(t.logs.text).not.toContain(privateKey);
    expect(a.stdout + a.stderr).not.toContain(privateKey);
  });

  it("reports heartbeats: the node is online with its metrics and the agent's version", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8"));
    await vi.waitFor(async () => {
      const [node] = await nodes();
      expect(node.status).toBe("online");
      expect(node.metrics.memory).toBeGreaterThan(0);
      expect(node.agentVersion).toBe(version);
    }, WAIT);
  });

  it("follows the mesh: when a second agent joins, the first one's interface gains it as a peer", async () => {
    const b = startAgent("b");
    await b.waitForOutput(/"msg":"agent running"/, 60_000);
    const all = await nodes();
    const nodeB = all.find((n: { name: string }) => n.name === "agent-b");
    expect(nodeB).toBeDefined();
    await vi.waitFor(async () => expect(await peersOf(iface.a)).toContain(nodeB.publicKey), WAIT);
    await vi.waitFor(async () => expect(await lab.ping(ns.b, HUB_TUNNEL_IP)).toBe(true), WAIT);
    expect(agents.a!.stdout).toMatch(/"reason":"version \d+ announced"/);
  });

  it("takes a deleted node's peer off the other agent's interface", async () => {
    const nodeB = (await nodes()).find((n: { name: string }) => n.name === "agent-b");
    expect((await t.request(`/api/v1/nodes/${nodeB.id}`, { method: "DELETE" })).status).toBe(200);
    await vi.waitFor(async () => expect(await peersOf(iface.a)).not.toContain(nodeB.publicKey), WAIT);
  });

  it("applies a preshared key with the hub when it is turned on, and drops it when it is turned off", async () => {
    const hubPskOn = async (name: string) => {
      const driver = openDriver(name, { driver: "uapi" });
      try {
        return (await driver.dump()).peers.find((p) => p.publicKey === hubPublicKey)?.presharedKey;
      } finally {
        driver.close();
      }
    };
    const nodeA = (await nodes()).find((n: { name: string }) => n.name === "agent-a");
    const on = await t.request(`/api/v1/nodes/${nodeA.id}/psk`, { method: "POST" });
    expect(on.status).toBe(200);
    const config = await (await t.request(`/api/v1/nodes/${nodeA.id}/config`)).text();
    const psk = /^PresharedKey = (\S+)$/m.exec(config)![1];
    await vi.waitFor(async () => expect(await hubPskOn(iface.a)).toBe(psk), WAIT);
    await vi.waitFor(async () => expect(await lab.ping(ns.a, HUB_TUNNEL_IP)).toBe(true), WAIT);
    const off = await t.request(`/api/v1/nodes/${nodeA.id}/psk`, { method: "DELETE" });
    expect(off.status).toBe(200);
    await vi.waitFor(async () => expect(await hubPskOn(iface.a)).toBeNull(), WAIT);
    await vi.waitFor(async () => expect(await lab.ping(ns.a, HUB_TUNNEL_IP)).toBe(true), WAIT);
    expect(agents.a!.stdout + agents.a!.stderr).not.toContain(psk);
  });

  it("stops on SIGTERM with exit 0", async () => {
    agents.a!.child.kill("SIGTERM");
    expect(await agents.a!.waitForExit(15_000)).toEqual({ code: 0, signal: null });
  });
});
