/**
 * The WebSocket relay end to end. Three `wiresync-agent`s, each run inside its own namespace as on a
 * machine of its own, form a mesh and reach the API over a LAN (a bridge with a veth to this host,
 * where the API listens). `a` and `b` share the LAN, but nftables in their namespaces drop every UDP
 * datagram between them: they ping each other through the relay, and once the drop is lifted they go
 * back to direct. `c` sits behind a NAT namespace (masquerade) that drops all inbound UDP: it reaches
 * both others through the relay, and they reach it. `d` and `e`, in a mesh of their own on the same
 * LAN, register as behind symmetric NATs (and their UDP to each other is dropped too): they are
 * relayed at once, without a direct try, and go direct once a probe finds the path open.
 */
import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen, platformRelay } from "../../../apps/api/server.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, randomName } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { spawnEntry } from "../../support/spawn.js";
import { startTestWorkers } from "../../support/workers.js";

const execFileAsync = promisify(execFile);

/** A LAN of this run's own (the host holds `.1` on it, so two runs at once must not share it). */
const LAN = `192.168.${randomInt(150, 250)}`;
const HOST_IP = `${LAN}.1`;
const NAT_LAN_IP = `${LAN}.30`;
const BEHIND_NAT = "10.231.7";
const AGENTS = ["a", "b", "c", "d", "e"] as const;
/** The agents registered as behind symmetric NATs, in a mesh network of their own. */
const SYMMETRIC = ["d", "e"] as const;
type AgentName = (typeof AGENTS)[number];
const WAIT = { timeout: 90_000, interval: 500 };
const PING_BYTES = 1_000;
/** `<LAN>.<host>:<port>` as a pattern. */
const lanEndpoint = (host: number) => new RegExp(`^${LAN.replaceAll(".", "\\.")}\\.${host}:\\d+$`);

describeNetns(
  "mesh peers that cannot reach each other directly, through the WebSocket relay",
  () => {
    let lab: Lab;
    let bridgeNs: string;
    let natNs: string;
    const ns = {} as Record<AgentName, string>;
    const iface = {} as Record<AgentName, string>;
    const agents: Partial<Record<AgentName, SpawnedProcess>> = {};
    let t: TestPlatform;
    let server: RunningServer;
    let workers: WorkerRuntime;
    let stateDir: string;
    let networkId: string;
    let symmetricNetworkId: string;
    const node = {} as Record<AgentName, { publicKey: string; ip4: string }>;

    /** Joins `netns` (or this host) to the bridge with `address`; returns the link's name there. */
    async function joinBridge(netns: string | undefined, address: string): Promise<string> {
      const [inside, port] = [randomName("wsv"), randomName("wsv")];
      await execFileAsync("ip", [
        "link",
        "add",
        inside,
        ...(netns ? ["netns", netns] : []),
        "type",
        "veth",
        "peer",
        "name",
        port,
        "netns",
        bridgeNs,
      ]);
      const inNs = netns ? ["-n", netns] : [];
      await execFileAsync("ip", [...inNs, "address", "add", address, "dev", inside]);
      await execFileAsync("ip", [...inNs, "link", "set", inside, "up"]);
      await execFileAsync("ip", ["-n", bridgeNs, "link", "set", port, "master", "br0", "up"]);
      return inside;
    }

    const nft = async (netns: string, script: string) => {
      const run = await lab.exec(netns, "nft", ["-f", "-"], script);
      expect(run.exitCode, run.stderr).toBe(0);
    };
    /** Drops every UDP datagram between this namespace and `other` (WireGuard's path; TCP still flows). */
    const dropUdp = (netns: string, other: string) =>
      nft(
        netns,
        `table inet wstdrop {
          chain inbound { type filter hook input priority 0; ip saddr ${other} meta l4proto udp drop; }
          chain outbound { type filter hook output priority 0; ip daddr ${other} meta l4proto udp drop; }
        }`,
      );
    const liftDrop = (netns: string) => nft(netns, "delete table inet wstdrop");

    const peerEndpoint = async (who: AgentName, other: AgentName) => {
      const driver = openDriver(iface[who], { driver: "uapi" });
      try {
        return (
          (await driver.dump()).peers.find((p) => p.publicKey === node[other].publicKey)?.endpoint ?? null
        );
      } finally {
        driver.close();
      }
    };
    /** The path changes `who`'s agent logged for its peer `other`, oldest first. */
    const pathChanges = (who: AgentName, other: AgentName): Json[] =>
      agents[who]!.stdout.split("\n")
        .filter((line) => line.includes('"msg":"peer path changed"'))
        .map((line) => JSON.parse(line) as Json)
        .filter((entry) => entry.peer === node[other].publicKey);
    const relayedBytes = async () =>
      (await t.platform.metrics.relay.bytes.get()).values.find((v) => v.labels.direction === "in")?.value ??
      0;
    const pings = async (from: AgentName, to: AgentName, count: number) => {
      const run = await lab.exec(ns[from], "ping", [
        "-c",
        String(count),
        "-i",
        "0.2",
        "-s",
        String(PING_BYTES),
        "-W",
        "2",
        node[to].ip4,
      ]);
      return run.exitCode === 0;
    };

    beforeAll(async () => {
      lab = createLab();
      bridgeNs = await lab.namespace();
      await execFileAsync("ip", ["-n", bridgeNs, "link", "add", "br0", "type", "bridge"]);
      await execFileAsync("ip", ["-n", bridgeNs, "link", "set", "br0", "up"]);
      // This host on the LAN: deleting the bridge's namespace deletes the veth, host end included.
      await joinBridge(undefined, `${HOST_IP}/24`);
      for (const who of ["a", "b", ...SYMMETRIC] as const) {
        ns[who] = await lab.namespace();
        await joinBridge(ns[who], `${LAN}.1${AGENTS.indexOf(who)}/24`);
      }
      // c behind a NAT that masquerades what leaves and drops every UDP datagram that comes in.
      natNs = await lab.namespace();
      const natLan = await joinBridge(natNs, `${NAT_LAN_IP}/24`);
      ns.c = await lab.namespace();
      await lab.veth(
        { netns: natNs, address: `${BEHIND_NAT}.1/24` },
        { netns: ns.c, address: `${BEHIND_NAT}.2/24` },
      );
      await lab.exec(ns.c, "ip", ["route", "add", "default", "via", `${BEHIND_NAT}.1`]);
      await lab.exec(natNs, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
      await nft(
        natNs,
        `table inet wstnat {
          chain postrouting { type nat hook postrouting priority srcnat; oifname "${natLan}" masquerade; }
          chain forwarding { type filter hook forward priority 0; iifname "${natLan}" meta l4proto udp drop; }
        }`,
      );
      for (const who of AGENTS) iface[who] = lab.interfaceName(ns[who]);
      await dropUdp(ns.a, `${LAN}.11`);
      await dropUdp(ns.b, `${LAN}.10`);
      await dropUdp(ns.d, `${LAN}.14`);
      await dropUdp(ns.e, `${LAN}.13`);
      stateDir = await mkdtemp(path.join(tmpdir(), "wiresync-relay-"));

      t = await createTestPlatform();
      server = await listen(t.app, 0, HOST_IP, platformRelay(t.platform));
      workers = await startTestWorkers(t.platform, { queues: ["config-push"] });
      networkId = (await createNetwork(t, { name: "relayed", topology: "mesh", cidr4: "10.126.0.0/24" })).id;
      const enrollmentKey = await createEnrollmentKey(t, networkId, { reusable: true, maxUses: 3 });
      symmetricNetworkId = (
        await createNetwork(t, { name: "symmetric", topology: "mesh", cidr4: "10.127.0.0/24" })
      ).id;
      const symmetricKey = await createEnrollmentKey(t, symmetricNetworkId, { reusable: true, maxUses: 2 });
      for (const who of AGENTS) {
        const isSymmetric = (SYMMETRIC as readonly string[]).includes(who);
        agents[who] = spawnEntry(
          "apps/agent/main.ts",
          {
            WIRESYNC_URL: `http://${HOST_IP}:${server.port}`,
            AGENT_ENROLLMENT_KEY: isSymmetric ? symmetricKey : enrollmentKey,
            AGENT_STATE_DIR: path.join(stateDir, who),
            AGENT_INTERFACE: iface[who],
            AGENT_NAME: `agent-${who}`,
            AGENT_HEARTBEAT_SECONDS: "5",
            // A symmetric pair is never tried first; 600 s would outlast every wait here.
            AGENT_RELAY_AFTER_SECONDS: isSymmetric ? "600" : "3",
            AGENT_RELAY_PROBE_SECONDS: "5",
            ...(isSymmetric ? { AGENT_NAT_TYPE: "Symmetric" } : {}),
            LOG_LEVEL: "info",
          },
          { netns: ns[who] },
        );
      }
      for (const who of AGENTS) await agents[who]!.waitForOutput(/"msg":"agent running"/, 90_000);
      const listed: Json[] = [];
      for (const id of [networkId, symmetricNetworkId])
        listed.push(...(await json(await t.request(`/api/v1/nodes?networkId=${id}&limit=50`))).data.items);
      for (const who of AGENTS) {
        const found = listed.find((n) => n.name === `agent-${who}`)!;
        node[who] = { publicKey: found.publicKey, ip4: found.ip4 };
      }
    }, 180_000);

    afterAll(async () => {
      for (const a of Object.values(agents)) await a?.stop(2_000);
      await workers?.close();
      await server?.close();
      await t?.close();
      await lab?.close();
      if (stateDir) await rm(stateDir, { recursive: true, force: true });
    });

    it("relays a and b, whose direct UDP is dropped: both point at their relay sockets and ping through it", async () => {
      await vi.waitFor(async () => {
        expect(await peerEndpoint("a", "b")).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(await peerEndpoint("b", "a")).toMatch(/^127\.0\.0\.1:\d+$/);
      }, WAIT);
      await vi.waitFor(async () => expect(await pings("a", "b", 1)).toBe(true), WAIT);
      // Retried: each agent tries the other directly now and then (backing off), and a try costs up
      // to 3 s of lost datagrams while the drop is in place.
      const before = await relayedBytes();
      await vi.waitFor(async () => expect(await pings("a", "b", 3)).toBe(true), WAIT);
      await vi.waitFor(async () => expect(await pings("b", "a", 3)).toBe(true), WAIT);
      // At least a request and its reply each way, each at least the ping's size, went through the
      // relay (WireGuard adds its header).
      expect((await relayedBytes()) - before).toBeGreaterThanOrEqual(4 * PING_BYTES);

      // A new config (the network's MTU) is applied around the relay: the relayed endpoint stays.
      const applied = () => (agents.a!.stdout.match(/"msg":"config applied"/g) ?? []).length;
      const appliedBefore = applied();
      const directBefore = pathChanges("a", "b").filter((c) => c.to === "direct").length;
      const patched = await t.request(`/api/v1/networks/${networkId}`, {
        method: "PATCH",
        body: { mtu: 1380 },
      });
      expect(patched.status, await patched.text()).toBe(200);
      await vi.waitFor(async () => {
        expect(applied()).toBeGreaterThan(appliedBefore);
        expect((await lab.exec(ns.a, "ip", ["link", "show", iface.a])).stdout).toMatch(/mtu 1380/);
      }, WAIT);
      // Had the apply put b's direct endpoint back, a would have counted b direct (nothing else can
      // while the drop is in place).
      expect(pathChanges("a", "b").filter((c) => c.to === "direct")).toHaveLength(directBefore);
      await vi.waitFor(async () => expect(await peerEndpoint("a", "b")).toMatch(/^127\.0\.0\.1:\d+$/), WAIT);
      await vi.waitFor(async () => expect(await pings("a", "b", 2)).toBe(true), WAIT);
    }, 180_000);

    it("puts a and b back on their direct path once the drop is lifted, and they stay on it while pinging", async () => {
      await liftDrop(ns.a);
      await liftDrop(ns.b);
      await vi.waitFor(async () => {
        expect(await peerEndpoint("a", "b")).toMatch(lanEndpoint(11));
        expect(await peerEndpoint("b", "a")).toMatch(lanEndpoint(10));
        // ...and each agent has seen it (a probing agent points at the direct endpoint first).
        expect(pathChanges("a", "b").at(-1)).toMatchObject({ from: expect.any(String), to: "direct" });
        expect(pathChanges("b", "a").at(-1)).toMatchObject({ from: expect.any(String), to: "direct" });
      }, WAIT);
      await vi.waitFor(async () => expect(await pings("a", "b", 1)).toBe(true), WAIT);
      const seen = pathChanges("a", "b").length;
      const driver = openDriver(iface.a, { driver: "uapi" });
      const txBefore = (await driver.dump()).peers.find((p) => p.publicKey === node.b.publicKey)!.txBytes;
      driver.close();
      expect(await pings("a", "b", 5)).toBe(true);
      expect(await pings("b", "a", 5)).toBe(true);
      expect(await peerEndpoint("a", "b")).not.toMatch(/^127\.0\.0\.1:/);
      expect(await peerEndpoint("b", "a")).not.toMatch(/^127\.0\.0\.1:/);
      const after = openDriver(iface.a, { driver: "uapi" });
      const txAfter = (await after.dump()).peers.find((p) => p.publicKey === node.b.publicKey)!.txBytes;
      after.close();
      expect(txAfter - txBefore).toBeGreaterThanOrEqual(10 * PING_BYTES);
      // Still direct afterwards: no path change of a's in the meantime.
      expect(pathChanges("a", "b")).toHaveLength(seen);
    }, 180_000);

    it("lets c, behind a NAT that drops inbound UDP, reach every other node and be reached, through the relay", async () => {
      for (const [from, to] of [
        ["c", "a"],
        ["c", "b"],
        ["a", "c"],
        ["b", "c"],
      ] as const) {
        await vi.waitFor(async () => expect(await pings(from, to, 1)).toBe(true), WAIT);
      }
      expect(await peerEndpoint("c", "a")).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await peerEndpoint("c", "b")).toMatch(/^127\.0\.0\.1:\d+$/);
      // The nodes report their handshakes with c, relayed or not, like any other pair's.
      await vi.waitFor(async () => {
        const { data } = await json(await t.request(`/api/v1/networks/${networkId}/reachability`));
        const ids = new Map(
          ((await json(await t.request(`/api/v1/nodes?networkId=${networkId}`))).data.items as Json[]).map(
            (n) => [n.id, n.name],
          ),
        );
        const pairs = (data.pairs as Json[])
          .filter((p) => p.a !== "hub" && p.b !== "hub")
          .map((p) => `${[ids.get(p.a), ids.get(p.b)].sort().join("~")}:${p.status}`)
          .sort();
        expect(pairs).toEqual(["agent-a~agent-b:recent", "agent-a~agent-c:recent", "agent-b~agent-c:recent"]);
      }, WAIT);
    }, 180_000);

    it("relays d and e, both behind symmetric NATs, without trying directly, and puts them direct once a probe gets through", async () => {
      await vi.waitFor(async () => {
        expect(await peerEndpoint("d", "e")).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(await peerEndpoint("e", "d")).toMatch(/^127\.0\.0\.1:\d+$/);
      }, WAIT);
      // Straight from direct (nothing tried), long before AGENT_RELAY_AFTER_SECONDS (600).
      expect(pathChanges("d", "e")[0]).toMatchObject({ from: "direct", to: "relayed" });
      expect(pathChanges("e", "d")[0]).toMatchObject({ from: "direct", to: "relayed" });
      await vi.waitFor(async () => expect(await pings("d", "e", 2)).toBe(true), WAIT);
      await vi.waitFor(async () => expect(await pings("e", "d", 2)).toBe(true), WAIT);
      // The declared types were wrong about this pair: the periodic probe finds the direct path.
      await liftDrop(ns.d);
      await liftDrop(ns.e);
      await vi.waitFor(async () => {
        expect(await peerEndpoint("d", "e")).toMatch(lanEndpoint(14));
        expect(await peerEndpoint("e", "d")).toMatch(lanEndpoint(13));
        expect(pathChanges("d", "e").at(-1)).toMatchObject({ to: "direct" });
        expect(pathChanges("e", "d").at(-1)).toMatchObject({ to: "direct" });
      }, WAIT);
      await vi.waitFor(async () => expect(await pings("d", "e", 2)).toBe(true), WAIT);
    }, 180_000);
  },
  { tools: ["nft"] },
);
