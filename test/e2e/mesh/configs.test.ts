/**
 * Every wg-quick config the API renders, for both topologies and every optional field, is accepted by
 * `wg-quick strip` and by `wg setconf` on a real wireguard-go interface, and the interface then holds
 * exactly the peers the config lists. One interface serves every config: `wg setconf` replaces the
 * whole device each time (a config without PrivateKey leaves it with none).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { WgQuickConfig } from "../../../src/agent/wg-quick.js";
import { parseWgQuickConfig } from "../../../src/agent/wg-quick.js";
import type { WgState } from "../../../src/wireguard/index.js";
import {
  formatEndpoint,
  generateKeyPair,
  normaliseCidrSet,
  parseEndpoint,
  parseWgDump,
  publicKeyOf,
} from "../../../src/wireguard/index.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

/** What hostnames in endpoints resolve to inside the test namespace. */
const HOSTS: Record<string, string> = {
  "hub.wiresync.test": "192.0.2.10",
  "node-a.wiresync.test": "192.0.2.11",
  "node-b.wiresync.test": "2001:db8:0:b::11",
};

interface NodeCase {
  name: string;
  /** The node brings its own key pair (made by `wg genkey`); the server never sees the private half. */
  ownKey?: boolean;
  endpoint?: string;
  role?: "relay";
  extraAllowedIps?: string[];
  /** Disabled after creation: it must vanish from every other config. */
  disabled?: boolean;
}

interface NetworkCase {
  network: Record<string, unknown>;
  nodes: NodeCase[];
}

const CASES: Record<string, NetworkCase> = {
  "hub topology, IPv4 only, no optional fields": {
    network: { topology: "hub", cidr4: "10.61.0.0/24" },
    nodes: [{ name: "server-key" }, { name: "own-key", ownKey: true }],
  },
  "hub topology, dual stack, DNS, MTU, keepalive, a hostname endpoint, routes and a relay": {
    network: {
      topology: "hub",
      cidr4: "10.62.0.0/24",
      cidr6: "fd00:62::/64",
      endpoint: "hub.wiresync.test:51820",
      dns: ["10.62.0.1", "fd00:62::1", "corp.wiresync.test"],
      mtu: 1380,
      persistentKeepalive: 25,
    },
    nodes: [
      { name: "office", extraAllowedIps: ["192.168.62.0/24", "fd62:1::/64"] },
      {
        name: "relay",
        ownKey: true,
        role: "relay",
        endpoint: "198.51.100.62:51900",
        extraAllowedIps: ["192.168.162.0/24"],
      },
      { name: "laptop", endpoint: "node-a.wiresync.test:51901" },
      { name: "phone", ownKey: true },
      { name: "retired", disabled: true },
    ],
  },
  "mesh topology, IPv4 only, an IP endpoint and keepalive": {
    network: {
      topology: "mesh",
      cidr4: "10.63.0.0/24",
      endpoint: "203.0.113.63:51820",
      persistentKeepalive: 15,
    },
    nodes: [
      { name: "alpha", endpoint: "198.51.100.63:51000" },
      { name: "bravo", ownKey: true },
      {
        name: "charlie",
        ownKey: true,
        role: "relay",
        endpoint: "node-a.wiresync.test:51001",
        extraAllowedIps: ["192.168.63.0/24"],
      },
      { name: "delta", extraAllowedIps: ["172.16.63.0/24", "172.17.63.0/24"] },
    ],
  },
  "mesh topology, dual stack, DNS, MTU, IPv6 and hostname endpoints, routes, a relay and a disabled node": {
    network: {
      topology: "mesh",
      cidr4: "10.64.0.0/24",
      cidr6: "fd00:64::/64",
      endpoint: "[2001:db8::64]:51820",
      dns: ["10.64.0.1", "corp.wiresync.test"],
      mtu: 1420,
    },
    nodes: [
      { name: "gw", endpoint: "[2001:db8::6401]:51000", extraAllowedIps: ["192.168.64.0/24", "fd64:1::/64"] },
      { name: "relay", ownKey: true, role: "relay", endpoint: "node-b.wiresync.test:51002" },
      { name: "desk", ownKey: true, extraAllowedIps: ["fd64:2::/64"] },
      { name: "laptop" },
      { name: "retired", ownKey: true, disabled: true },
    ],
  },
  "mesh topology with no hub endpoint and a single node": {
    network: { topology: "mesh", cidr4: "10.65.0.0/29" },
    nodes: [{ name: "only", ownKey: true }],
  },
};

/** A key pair from the real tool, as a node's agent would make it. */
function wgKeyPair(): { privateKey: string; publicKey: string } {
  const privateKey = execFileSync("wg", ["genkey"]).toString().trim();
  const publicKey = execFileSync("wg", ["pubkey"], { input: privateKey }).toString().trim();
  return { privateKey, publicKey };
}

/** The config with the node's own key where the server left its placeholder, as an agent fills it in. */
function withPrivateKey(config: string, privateKey: string): string {
  const placeholder = /^# PrivateKey = <this node's own private key[^\n]*$/m;
  expect(config).toMatch(placeholder);
  return config.replace(placeholder, `PrivateKey = ${privateKey}`);
}

/** A peer as `wg show dump` should report it after `wg setconf` of `config`. */
function expectedPeers(config: WgQuickConfig) {
  return config.peers
    .map((p) => {
      let endpoint: string | null = null;
      if (p.endpoint) {
        const parsed = parseEndpoint(p.endpoint);
        endpoint = parsed.isIp
          ? parsed.text
          : parseEndpoint(formatEndpoint(HOSTS[parsed.host]!, parsed.port)).text;
      }
      return {
        publicKey: p.publicKey,
        allowedIps: normaliseCidrSet(p.allowedIps),
        endpoint,
        persistentKeepalive: p.persistentKeepalive ?? null,
      };
    })
    .sort((a, b) => a.publicKey.localeCompare(b.publicKey));
}

function shownPeers(state: WgState) {
  return state.peers
    .map((p) => ({
      publicKey: p.publicKey,
      allowedIps: [...p.allowedIps].sort(),
      endpoint: p.endpoint,
      persistentKeepalive: p.persistentKeepalive,
    }))
    .sort((a, b) => a.publicKey.localeCompare(b.publicKey));
}

describeNetns(
  "configs rendered by the API on a real wireguard-go interface",
  () => {
    let t: TestPlatform;
    let lab: Lab;
    let ns: string;
    let iface: string;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "wiresync-configs-"));
      lab = createLab();
      ns = await lab.namespace();
      await lab.hosts(ns, HOSTS);
      iface = await lab.wireguardGo(ns);
      t = await createTestPlatform();
    });

    afterAll(async () => {
      await lab?.close();
      await t?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Runs `cmd` in the namespace and fails with its stderr unless it exits 0. */
    async function run(cmd: string, args: string[], what: string): Promise<string> {
      const out = await lab.exec(ns, cmd, args);
      expect(out.exitCode, `${what}: ${cmd} ${args.join(" ")}\n${out.stderr}`).toBe(0);
      return out.stdout;
    }

    /**
     * Writes `config` to `<iface>.conf`, strips it with wg-quick, loads it with `wg setconf` and
     * returns what the interface then reports.
     */
    async function load(config: string, what: string): Promise<{ state: WgState; publicKey: string }> {
      const file = join(dir, `${iface}.conf`);
      await writeFile(file, config, { mode: 0o600 });
      const stripped = await run("wg-quick", ["strip", file], `${what}: wg-quick strip`);
      const strippedFile = join(dir, `${iface}.stripped`);
      await writeFile(strippedFile, stripped, { mode: 0o600 });
      await run("wg", ["setconf", iface, strippedFile], `${what}: wg setconf`);
      const state = parseWgDump(await run("wg", ["show", iface, "dump"], `${what}: wg show dump`));
      const publicKey = (await run("wg", ["show", iface, "public-key"], `${what}: wg show`)).trim();
      return { state, publicKey };
    }

    /** Loads `config` and checks the interface holds exactly its peers, port and (when given) key. */
    async function expectAccepted(config: string, what: string, publicKey: string | null): Promise<void> {
      const parsed = parseWgQuickConfig(config);
      const shown = await load(config, what);
      expect(shownPeers(shown.state), what).toEqual(expectedPeers(parsed));
      expect(shown.publicKey, what).toBe(publicKey ?? "(none)");
      if (parsed.interface.listenPort !== undefined) {
        expect(shown.state.listenPort, what).toBe(parsed.interface.listenPort);
      }
    }

    it.each(Object.keys(CASES))("%s: every node's config loads as rendered", async (caseName) => {
      const spec = CASES[caseName]!;
      const network = await createNetwork(t, spec.network);
      const nodes: { spec: NodeCase; node: Json; privateKey: string | undefined }[] = [];
      for (const n of spec.nodes) {
        const own = n.ownKey ? wgKeyPair() : undefined;
        const created = await createNode(t, network.id, {
          name: n.name,
          ...(own ? { publicKey: own.publicKey } : {}),
          ...(n.endpoint ? { endpoint: n.endpoint } : {}),
          ...(n.role ? { role: n.role } : {}),
          ...(n.extraAllowedIps ? { extraAllowedIps: n.extraAllowedIps } : {}),
        });
        expect(created.node.hasServerKey).toBe(!own);
        nodes.push({ spec: n, node: created.node, privateKey: own?.privateKey });
      }
      for (const { spec: n, node } of nodes) {
        if (!n.disabled) continue;
        const res = await t.request(`/api/v1/nodes/${node.id}`, {
          method: "PATCH",
          body: { status: "disabled" },
        });
        expect(res.status, JSON.stringify(await json(res))).toBe(200);
      }
      const active = nodes.filter((n) => !n.spec.disabled);

      for (const { spec: n, node, privateKey } of nodes) {
        const what = `${caseName} / ${n.name}`;
        const res = await t.request(`/api/v1/nodes/${node.id}/config`);
        expect(res.status, what).toBe(200);
        const config = await res.text();

        // The peers follow the topology: the hub, plus every other active node in a mesh.
        const others = network.topology === "mesh" ? active.filter((o) => o.node.id !== node.id) : [];
        expect(
          parseWgQuickConfig(config)
            .peers.map((p) => p.publicKey)
            .sort(),
          what,
        ).toEqual([network.hubPublicKey, ...others.map((o) => o.node.publicKey)].sort());

        if (privateKey === undefined) {
          expect(config, what).toMatch(/^PrivateKey = /m);
          await expectAccepted(config, what, node.publicKey);
        } else {
          expect(config, what).not.toMatch(/^PrivateKey/m);
          await expectAccepted(config, `${what} (as served)`, null);
          await expectAccepted(withPrivateKey(config, privateKey), `${what} (with its key)`, node.publicKey);
        }
      }
    });

    it("derives public keys as wg pubkey does, and makes key pairs wg agrees with", async () => {
      for (let i = 0; i < 4; i++) {
        const fromWg = wgKeyPair();
        expect(publicKeyOf(fromWg.privateKey)).toBe(fromWg.publicKey);
        const ours = generateKeyPair();
        expect(execFileSync("wg", ["pubkey"], { input: ours.privateKey }).toString().trim()).toBe(
          ours.publicKey,
        );
      }
    });
  },
  { tools: ["wg-quick", "bash"] },
);
