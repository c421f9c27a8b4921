/**
 * Mesh preshared keys end to end: a mesh network with `presharedKeys: "all"`, two `wiresync-agent`s in
 * namespaces on one LAN. Each agent's interface holds the same non-zero preshared key for their pair
 * (`wg show <if> preshared-keys`, both sides), the hub's holds each node's own, and the two ping each
 * other directly. After `POST /networks/:id/psk/rotate` both sides move to a new, equal pair key and
 * still ping.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { openDriver } from "../../../src/wireguard/index.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import type { MeshLan } from "../../support/mesh-lan.js";
import { startMeshLan } from "../../support/mesh-lan.js";
import type { Lab } from "../../support/netns.js";
import { describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";

const LAN = "192.168.94";
const HUB_PORT = 51894;
const AGENTS = ["a", "b"] as const;
type AgentName = (typeof AGENTS)[number];
const WAIT = { timeout: 90_000, interval: 500 };
const ZERO_KEY = Buffer.alloc(32).toString("base64");

describeNetns(
  "mesh preshared keys",
  () => {
    let lan: MeshLan<AgentName>;
    let lab: Lab;
    let hubIface: string;
    let ns: Record<AgentName, string>;
    let iface: Record<AgentName, string>;
    let t: TestPlatform;
    let networkId: string;

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
      lan = await startMeshLan({
        lan: LAN,
        hubPort: HUB_PORT,
        agents: AGENTS,
        network: { name: "psk-mesh", presharedKeys: "all", cidr4: "10.124.0.0/24" },
      });
      ({ lab, hubIface, ns, iface, t, networkId } = lan);
    }, 180_000);

    afterAll(async () => {
      await lan?.close();
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
