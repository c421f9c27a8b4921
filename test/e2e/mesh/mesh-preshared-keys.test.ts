/**
 * Mesh preshared keys end to end: a mesh network with `presharedKeys: "all"`, two `wiresync-agent`s in
 * namespaces on one LAN. Each agent's interface holds the same non-zero preshared key for their pair
 * (`wg show <if> preshared-keys`, both sides), the hub's holds each node's own, and the two ping each
 * other directly. After `POST /networks/:id/psk/rotate` both sides move to a new, equal pair key and
 * still ping.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, joinBridge as joinBridgeNs } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { spawnEntry } from "../../support/spawn.js";
import { startTestWorkers } from "../../support/workers.js";

const execFileAsync = promisify(execFile);

const LAN = "192.168.94";
const HUB_LAN_IP = `${LAN}.1`;
const HUB_PORT = 51894;
const AGENTS = ["a", "b"] as const;
type AgentName = (typeof AGENTS)[number];
const LAN_IP: Record<AgentName, string> = { a: `${LAN}.11`, b: `${LAN}.12` };
const WAIT = { timeout: 90_000, interval: 500 };
const ZERO_KEY = Buffer.alloc(32).toString("base64");

describeNetns(
  "mesh preshared keys",
  () => {
    let lab: Lab;
    let bridgeNs: string;
    let hubNs: string;
    let hubIface: string;
    const ns = {} as Record<AgentName, string>;
    const iface = {} as Record<AgentName, string>;
    const agents: Partial<Record<AgentName, SpawnedProcess>> = {};
    let t: TestPlatform;
    let server: RunningServer;
    let workers: WorkerRuntime;
    let stateDir: string;
    let networkId: string;

    const joinBridge = (netns: string, address: string) => joinBridgeNs(bridgeNs, netns, address);

    const nodes = async (): Promise<Json[]> =>
      (await json(await t.request(`/api/v1/nodes?networkId=${networkId}&limit=50`))).data.items;
    const nodeNamed = async (name: string) => (await nodes()).find((n) => n.name === name)!;
    /** `wg show <if> preshared-keys` in the agent's namespace: public key → preshared key. */
    const wgPresharedKeys = async (netns: string, name: string) => {
      const out = await lab.exec(netns, "wg", ["show", name, "preshared-keys"]);
      expect(out.exitCode, out.stderr).toBe(0);
      return new Map(
        out.stdout
          .trim()
          .split("\n")
          .map((l) => l.split("\t") as [string, string]),
      );
    };
    const hubPresharedKey = async (publicKey: string) => {
      const driver = openDriver(hubIface, { driver: "uapi" });
      try {
        return (await driver.dump()).peers.find((p) => p.publicKey === publicKey)?.presharedKey;
      } finally {
        driver.close();
      }
    };
    /** Waits until both agents hold one and the same non-zero key for their pair, other than `not`; returns it. */
    async function pairKey(not?: string): Promise<string> {
      const [a, b] = [await nodeNamed("agent-a"), await nodeNamed("agent-b")];
      let key = "";
      await vi.waitFor(async () => {
        const [ofA, ofB] = [await wgPresharedKeys(ns.a, iface.a), await wgPresharedKeys(ns.b, iface.b)];
        const fromA = ofA.get(b.publicKey);
        expect(fromA).toBeDefined();
        expect(fromA).not.toBe(ZERO_KEY);
        expect(fromA).not.toBe("(none)");
        expect(fromA).not.toBe(not);
        expect(ofB.get(a.publicKey)).toBe(fromA);
        key = fromA!;
      }, WAIT);
      return key;
    }
    async function pingBothWays() {
      const [a, b] = [await nodeNamed("agent-a"), await nodeNamed("agent-b")];
      await vi.waitFor(async () => expect(await lab.ping(ns.a, b.ip4)).toBe(true), WAIT);
      await vi.waitFor(async () => expect(await lab.ping(ns.b, a.ip4)).toBe(true), WAIT);
    }

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
      hubIface = lab.interfaceName(hubNs);
      stateDir = await mkdtemp(path.join(tmpdir(), "wiresync-mesh-psk-"));
      t = await createTestPlatform({
        wireguard: { interfaces: [{ network: "psk-mesh", iface: hubIface, netns: hubNs }], driver: "auto" },
      });
      server = await listen(t.app, 0, "127.0.0.1");
      workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
      const net = await createNetwork(t, {
        name: "psk-mesh",
        topology: "mesh",
        presharedKeys: "all",
        cidr4: "10.124.0.0/24",
        endpoint: `${HUB_LAN_IP}:${HUB_PORT}`,
        listenPort: HUB_PORT,
      });
      networkId = net.id;
      const enrollmentKey = await createEnrollmentKey(t, networkId, {
        reusable: true,
        maxUses: AGENTS.length,
      });
      for (const who of AGENTS) {
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

    it("both ends of the pair hold the same key and ping directly; after a rotation, a new equal key, and they still ping", async () => {
      const first = await pairKey();
      for (const who of AGENTS) {
        const me = await nodeNamed(`agent-${who}`);
        expect(me.hasPresharedKey).toBe(true);
        // The hub holds the node's own key with it, the same its interface has for the hub.
        const hubPeer = (await wgPresharedKeys(ns[who], iface[who])).get(
          (await json(await t.request(`/api/v1/networks/${networkId}`))).data.hubPublicKey,
        );
        await vi.waitFor(async () => expect(await hubPresharedKey(me.publicKey)).toBe(hubPeer), WAIT);
      }
      await pingBothWays();

      const res = await t.request(`/api/v1/networks/${networkId}/psk/rotate`, { method: "POST" });
      expect(res.status).toBe(200);
      expect((await json(res)).data.nodesKeyed).toBe(2);
      const second = await pairKey(first);
      expect(second).not.toBe(first);
      await pingBothWays();
      // Still directly: each agent's own peer for the other carried a fresh handshake.
      const b = await nodeNamed("agent-b");
      const driver = openDriver(iface.a, { driver: "uapi" });
      try {
        const peer = (await driver.dump()).peers.find((p) => p.publicKey === b.publicKey)!;
        expect(peer.presharedKey).toBe(second);
        expect(peer.latestHandshake).toBeGreaterThan(0);
      } finally {
        driver.close();
      }
    }, 240_000);
  },
  { tools: ["wg"] },
);
