/**
 * Packets are the proof: a hub network of four nodes (two brought up by the real wg-quick from the
 * configs the API serves, two run by real agents) where every ordered pair pings over IPv4 and IPv6
 * through the hub; a subnet behind one node reached from the others; a node of another network on the
 * same hub host kept out; MTU and DNS changes reaching the hub, the agents and (through `wg-quick down`
 * and `up`, its `DNS =` line through resolvconf) the config-only nodes; a hand-changed MTU seen as
 * drift and repaired; `wg-quick down` leaving no interface or wireguard-go behind.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { parseWgQuickConfig, renderResolvConf } from "../../../src/agent/index.js";
import { findWireguardGo, uapiSocketPath } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork, createNode } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { spawnEntry } from "../../support/spawn.js";
import { WgQuick } from "../../support/wg-quick.js";
import { startTestWorkers } from "../../support/workers.js";

const WAIT = { timeout: 30_000, interval: 250 };
const NAMES = ["c1", "c2", "a1", "a2", "o1"] as const;
type Name = (typeof NAMES)[number];
const MEMBERS = ["c1", "c2", "a1", "a2"] as const;
/** The subnet behind c2 (a veth pair inside its namespace). */
const BEHIND_C2 = "192.168.199.0/24";
const BEHIND_C2_HOST = "192.168.199.1";

describeNetns(
  "a hub network where every pair of nodes talks",
  () => {
    let lab: Lab;
    let hubNs: string;
    let hubIface: string;
    let apartIface: string;
    const ns = {} as Record<Name, string>;
    const iface = {} as Record<Name, string>;
    const tokens = {} as Record<Name, { id: string; token: string }>;
    const agents: SpawnedProcess[] = [];
    let t: TestPlatform;
    let wgQuick: WgQuick;
    let server: RunningServer;
    let workers: WorkerRuntime;
    let stateDir: string;
    let reach: { id: string };
    let apart: { id: string };

    const ip = (netns: string, args: string[]) => lab.exec(netns, "ip", args);
    const mtuOf = async (netns: string, name: string) =>
      (JSON.parse((await ip(netns, ["-j", "link", "show", "dev", name])).stdout) as { mtu: number }[])[0]!
        .mtu;
    const nodesOf = async (networkId: string) =>
      (await json(await t.request(`/api/v1/nodes?networkId=${networkId}`))).data.items as {
        id: string;
        name: string;
        ip4: string;
        ip6: string | null;
      }[];

    /** `kernel` or `userspace` (wireguard-go's tun device): what wg-quick made of `who`'s interface. */
    const implementationOf = async (who: Name) => {
      const link = JSON.parse(
        (await ip(ns[who], ["-d", "-j", "link", "show", "dev", iface[who]])).stdout,
      ) as {
        linkinfo?: { info_kind?: string };
      }[];
      return link[0]!.linkinfo?.info_kind === "wireguard" ? "kernel" : "userspace";
    };

    /** The node's config as its user downloads it, with the node's own token. */
    async function download(who: Name): Promise<string> {
      const res = await t.request(`/api/v1/nodes/${tokens[who].id}/config`, {
        key: null,
        headers: { Authorization: `Bearer ${tokens[who].token}` },
      });
      expect(res.status).toBe(200);
      return res.text();
    }

    /** `wg-quick up` on `text`; wg-quick's fallback runs exactly one wireguard-go for the interface. */
    async function bringUp(who: Name, text: string) {
      await wgQuick.bringUp(ns[who], iface[who], text);
      const daemons = (await implementationOf(who)) === "userspace" ? 1 : 0;
      expect(await findWireguardGo(iface[who])).toHaveLength(daemons);
    }

    /** Downloads `who`'s config and brings it up with wg-quick, as the node's user would. */
    async function configure(who: Name) {
      const text = await download(who);
      await bringUp(who, text);
      return parseWgQuickConfig(text);
    }

    async function runAndWait(pathname: string): Promise<Record<string, unknown>> {
      const started = await json(await t.request(pathname, { method: "POST", body: {} }));
      let run: Record<string, unknown> = {};
      await vi.waitFor(async () => {
        run = (await json(await t.request(`/api/v1/sync/status/${started.data.sync_log_id}`))).data;
        expect(["COMPLETED", "FAILED", "CANCELLED"]).toContain(run.status);
      }, WAIT);
      return run;
    }

    beforeAll(async () => {
      lab = createLab();
      hubNs = await lab.namespace();
      for (const [i, name] of NAMES.entries()) {
        ns[name] = await lab.namespace();
        iface[name] = lab.interfaceName(ns[name]);
        await lab.veth(
          { netns: hubNs, address: `192.168.${90 + i}.1/24` },
          { netns: ns[name], address: `192.168.${90 + i}.2/24` },
        );
        // Every node reaches the hub's endpoint (on c1's link) through the hub.
        if (i > 0) await ip(ns[name], ["route", "add", "default", "via", `192.168.${90 + i}.1`]);
      }
      for (const args of [
        // A second veth pair inside c2's namespace stands for its LAN (no dummy module here).
        ["link", "add", "wsbehind", "type", "veth", "peer", "name", "wsbehind1"],
        ["address", "add", `${BEHIND_C2_HOST}/24`, "dev", "wsbehind"],
        ["link", "set", "wsbehind1", "up"],
        ["link", "set", "wsbehind", "up"],
      ]) {
        expect((await ip(ns.c2, args)).exitCode).toBe(0);
      }
      hubIface = lab.interfaceName(hubNs);
      apartIface = lab.interfaceName(hubNs);
      stateDir = await mkdtemp(path.join(tmpdir(), "wiresync-reach-"));
      wgQuick = await WgQuick.create();

      t = await createTestPlatform({
        wireguard: {
          interfaces: [
            { network: "reach", iface: hubIface, netns: hubNs },
            { network: "apart", iface: apartIface, netns: hubNs },
          ],
          driver: "auto",
        },
      });
      server = await listen(t.app, 0, "127.0.0.1");
      workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
      reach = await createNetwork(t, {
        name: "reach",
        cidr4: "10.131.0.0/24",
        cidr6: "fd31::/64",
        endpoint: "192.168.90.1:51861",
        listenPort: 51861,
        persistentKeepalive: 1,
      });
      apart = await createNetwork(t, {
        name: "apart",
        cidr4: "10.132.0.0/24",
        endpoint: "192.168.90.1:51862",
        listenPort: 51862,
        persistentKeepalive: 1,
      });
    }, 60_000);

    afterAll(async () => {
      for (const a of agents) await a.stop(2_000);
      await wgQuick?.close();
      await workers?.close();
      await server?.close();
      await t?.close();
      await lab?.close();
      if (stateDir) await rm(stateDir, { recursive: true, force: true });
    });

    it("all 12 ordered pairs of nodes ping each other through the hub over IPv4 and IPv6", async () => {
      const c1 = await createNode(t, reach.id, { name: "c1" });
      const c2 = await createNode(t, reach.id, { name: "c2", extraAllowedIps: [BEHIND_C2] });
      tokens.c1 = { id: c1.node.id, token: c1.token };
      tokens.c2 = { id: c2.node.id, token: c2.token };
      const enrollmentKey = await createEnrollmentKey(t, reach.id, { reusable: true, maxUses: 2 });
      for (const who of ["a1", "a2"] as const) {
        const agent = spawnEntry("apps/agent/main.ts", {
          WIRESYNC_URL: `http://127.0.0.1:${server.port}`,
          AGENT_ENROLLMENT_KEY: enrollmentKey,
          AGENT_STATE_DIR: path.join(stateDir, who),
          AGENT_INTERFACE: iface[who],
          AGENT_NETNS: ns[who],
          AGENT_NAME: who,
          AGENT_HEARTBEAT_SECONDS: "5",
          LOG_LEVEL: "info",
        });
        agents.push(agent);
        await agent.waitForOutput(/"msg":"agent running"/, 60_000);
      }
      await configure("c1");
      await configure("c2");
      // No `DNS =` line yet, so wg-quick left the resolver alone.
      expect(await wgQuick.resolvconfCalls()).toEqual([]);

      const nodes = await nodesOf(reach.id);
      expect(nodes.map((n) => n.name).sort()).toEqual(["a1", "a2", "c1", "c2"]);
      const byName = new Map(nodes.map((n) => [n.name, n]));
      let pairs = 0;
      for (const from of MEMBERS) {
        for (const to of MEMBERS) {
          if (from === to) continue;
          const target = byName.get(to)!;
          expect(target.ip6).toMatch(/^fd31:/);
          await vi.waitFor(async () => expect(await lab.ping(ns[from], target.ip4)).toBe(true), WAIT);
          await vi.waitFor(async () => expect(await lab.ping(ns[from], target.ip6!)).toBe(true), WAIT);
          pairs++;
        }
      }
      expect(pairs).toBe(12);
    });

    it("reaches a subnet behind a node: the hub and the agents route it through their interfaces", async () => {
      const hubRoutes = await ip(hubNs, ["-j", "route", "show", "dev", hubIface, "proto", "static"]);
      expect((JSON.parse(hubRoutes.stdout) as { dst: string }[]).map((r) => r.dst)).toEqual([BEHIND_C2]);
      for (const who of ["a1", "a2"] as const) {
        const route = await ip(ns[who], ["-j", "route", "show", BEHIND_C2]);
        expect(JSON.parse(route.stdout)).toMatchObject([{ dst: BEHIND_C2, dev: iface[who] }]);
      }
      for (const from of ["c1", "a1", "a2"] as const) {
        await vi.waitFor(async () => expect(await lab.ping(ns[from], BEHIND_C2_HOST)).toBe(true), WAIT);
      }
    });

    it("keeps a node of another network on the same hub host away from this network's nodes", async () => {
      const o1 = await createNode(t, apart.id, { name: "o1" });
      tokens.o1 = { id: o1.node.id, token: o1.token };
      const config = await configure("o1");
      await vi.waitFor(async () => expect(await lab.ping(ns.o1, "10.132.0.1")).toBe(true), WAIT);
      // The node tries anyway: it sends traffic for the other network into its own tunnel.
      const hubKey = config.peers[0]!.publicKey;
      const widen = await lab.exec(ns.o1, "wg", [
        "set",
        iface.o1,
        "peer",
        hubKey,
        "allowed-ips",
        "10.132.0.0/24,10.131.0.0/24",
      ]);
      expect(widen.exitCode).toBe(0);
      expect((await ip(ns.o1, ["route", "add", "10.131.0.0/24", "dev", iface.o1])).exitCode).toBe(0);
      // The hub counts what it sends from the other network into this network's interface. (c1 itself
      // would never show it: WireGuard drops a packet whose source its peer may not use.)
      const probe = [
        "table ip probe {",
        "  chain post {",
        "    type filter hook postrouting priority 0; policy accept;",
        `    oifname "${hubIface}" ip saddr 10.132.0.0/24 counter`,
        "  }",
        "}",
      ].join("\n");
      expect((await lab.exec(hubNs, "nft", ["-f", "-"], `${probe}\n`)).exitCode).toBe(0);
      const c1ip = (await nodesOf(reach.id)).find((n) => n.name === "c1")!.ip4;
      const ping = await lab.exec(ns.o1, "ping", ["-c", "3", "-i", "0.2", "-W", "1", c1ip]);
      expect(ping.exitCode).not.toBe(0);
      const counted = await lab.exec(hubNs, "nft", ["-j", "list", "table", "ip", "probe"]);
      await lab.exec(hubNs, "nft", ["delete", "table", "ip", "probe"]);
      const counter = (
        JSON.parse(counted.stdout).nftables as { rule?: { expr: { counter?: { packets: number } }[] } }[]
      )
        .flatMap((e) => e.rule?.expr ?? [])
        .find((x) => x.counter)?.counter;
      expect(counter).toEqual({ packets: 0, bytes: 0 });
      // This network's own nodes still reach c1.
      expect(await lab.ping(ns.a1, c1ip)).toBe(true);
    });

    it("takes a network's MTU and DNS to the hub interface, the agents and (by wg-quick) the config-only nodes", async () => {
      expect(await mtuOf(hubNs, hubIface)).toBe(1420);
      const res = await t.request(`/api/v1/networks/${reach.id}`, {
        method: "PATCH",
        body: { mtu: 1380, dns: ["10.131.0.53", "corp.example"] },
      });
      expect(res.status).toBe(200);
      await vi.waitFor(async () => expect(await mtuOf(hubNs, hubIface)).toBe(1380), WAIT);
      for (const who of ["a1", "a2"] as const) {
        await vi.waitFor(async () => expect(await mtuOf(ns[who], iface[who])).toBe(1380), WAIT);
        const resolv = renderResolvConf(iface[who], ["10.131.0.53", "corp.example"]);
        await vi.waitFor(
          async () => expect(await readFile(`/etc/netns/${ns[who]}/resolv.conf`, "utf8")).toBe(resolv),
          WAIT,
        );
        // What programs in the node's namespace read as their resolver.
        expect((await lab.exec(ns[who], "cat", ["/etc/resolv.conf"])).stdout).toBe(resolv);
      }
      // The other network's interface keeps its own MTU.
      expect(await mtuOf(hubNs, apartIface)).toBe(1420);
      const nodes = new Map((await nodesOf(reach.id)).map((n) => [n.name, n]));
      expect(await lab.ping(ns.a1, nodes.get("a2")!.ip4)).toBe(true);

      // The config-only nodes take it the way their users would: download, `wg-quick down`, `up`.
      for (const who of ["c1", "c2"] as const) {
        const text = await download(who);
        expect(text).toMatch(/^DNS = 10\.131\.0\.53, corp\.example$/m);
        expect(text).toMatch(/^MTU = 1380$/m);
        await wgQuick.bringDown(ns[who], iface[who]);
        await bringUp(who, text);
        expect(await mtuOf(ns[who], iface[who])).toBe(1380);
      }
      // wg-quick handed the DNS line to resolvconf (the stand-in), once per node.
      const added = { stdin: "nameserver 10.131.0.53\nsearch corp.example\n" };
      expect(await wgQuick.resolvconfCalls()).toEqual([
        { args: ["-a", iface.c1, "-m", "0", "-x"], ...added },
        { args: ["-a", iface.c2, "-m", "0", "-x"], ...added },
      ]);
      for (const [from, to] of [
        ["c1", "c2"],
        ["c2", "c1"],
        ["a1", "c1"],
        ["c2", "a2"],
      ] as const) {
        await vi.waitFor(async () => expect(await lab.ping(ns[from], nodes.get(to)!.ip4)).toBe(true), WAIT);
        await vi.waitFor(async () => expect(await lab.ping(ns[from], nodes.get(to)!.ip6!)).toBe(true), WAIT);
      }
    });

    it("reports a hand-changed hub MTU as drift, and the drift fix repairs it", async () => {
      expect((await ip(hubNs, ["link", "set", "dev", hubIface, "mtu", "1300"])).exitCode).toBe(0);
      const drift = await json(await t.request(`/api/v1/networks/${reach.id}/drift`));
      expect(drift.data).toMatchObject({
        managed: true,
        iface: hubIface,
        missing: [],
        unexpected: [],
        mismatched: [],
        settings: [{ field: "mtu", desired: "1380", actual: "1300" }],
        forwarding: { ok: true, problem: null },
      });
      const fix = await runAndWait(`/api/v1/networks/${reach.id}/drift/fix`);
      expect(fix).toMatchObject({ status: "COMPLETED", type: "drift-fix" });
      expect(await mtuOf(hubNs, hubIface)).toBe(1380);
      const after = await json(await t.request(`/api/v1/networks/${reach.id}/drift`));
      expect(after.data.settings).toEqual([]);
      const ready = await t.request("/health/ready", { key: null });
      expect(ready.status).toBe(200);
    });

    it("reports a hand-changed listen port as drift (and the check puts it back, as every sync does)", async () => {
      expect((await lab.exec(hubNs, "wg", ["set", hubIface, "listen-port", "51999"])).exitCode).toBe(0);
      const drift = await json(await t.request(`/api/v1/networks/${reach.id}/drift`));
      expect(drift.data.settings).toEqual([{ field: "listenPort", desired: "51861", actual: "51999" }]);
      const port = await lab.exec(hubNs, "wg", ["show", hubIface, "listen-port"]);
      expect(port.stdout.trim()).toBe("51861");
    });

    it("takes a config-only node down with wg-quick: no interface, wireguard-go or DNS entry stays", async () => {
      for (const who of ["c1", "c2", "o1"] as const) {
        await wgQuick.bringDown(ns[who], iface[who]);
        expect((await ip(ns[who], ["link", "show", "dev", iface[who]])).exitCode).not.toBe(0);
        await vi.waitFor(async () => {
          expect(await findWireguardGo(iface[who])).toEqual([]);
          expect(existsSync(uapiSocketPath(iface[who]))).toBe(false);
        }, WAIT);
      }
      // o1's network has no DNS, so only c1 and c2 had something to remove.
      expect((await wgQuick.resolvconfCalls()).slice(2)).toEqual([
        { args: ["-d", iface.c1, "-f"], stdin: "" },
        { args: ["-d", iface.c2, "-f"], stdin: "" },
      ]);
    });
  },
  { tools: ["nft", "wg-quick", "bash"] },
);
