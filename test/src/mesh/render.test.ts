import { describe, expect, it } from "vitest";
import type { NetworkSpec, NodeSpec } from "../../../src/mesh/render.js";
import {
  configHash,
  configPeers,
  desiredHubPeers,
  renderNodeConfig,
  routesBehindNodes,
} from "../../../src/mesh/render.js";
import { desiredSet } from "../../../src/wireguard/index.js";

const network: NetworkSpec = {
  id: "net",
  name: "office",
  cidr4: "10.10.0.0/24",
  cidr6: null,
  listenPort: 51820,
  endpoint: "vpn.example.com:51820",
  topology: "hub",
  dns: [],
  mtu: null,
  persistentKeepalive: null,
  hubPublicKey: Buffer.alloc(32, 1).toString("base64"),
  hubIp4: "10.10.0.1",
  hubIp6: null,
};

const node = (n: number, extraAllowedIps: string[] = [], status = "active"): NodeSpec => ({
  id: `node-${n}`,
  name: `node-${n}`,
  publicKey: Buffer.alloc(32, n + 10).toString("base64"),
  ip4: `10.10.0.${n + 1}`,
  ip6: null,
  endpoint: null,
  extraAllowedIps,
  status,
});

describe("configPeers in hub topology", () => {
  it("routes every other active node's routes through the hub, in node order, and not a node's own", () => {
    const all = [
      node(1, ["192.168.1.0/24"]),
      node(2),
      node(3, ["192.168.3.0/24", "10.10.0.0/24"]), // the network's own range: routed already
      node(4, ["192.168.4.0/24"], "disabled"),
      node(5, ["192.168.5.0/24"]),
    ];
    const hubRoutes = (n: NodeSpec) => configPeers(network, n, all)[0]!.allowedIps;
    expect(hubRoutes(all[0]!)).toEqual(["10.10.0.0/24", "192.168.3.0/24", "192.168.5.0/24"]);
    expect(hubRoutes(all[1]!)).toEqual([
      "10.10.0.0/24",
      "192.168.1.0/24",
      "192.168.3.0/24",
      "192.168.5.0/24",
    ]);
    expect(hubRoutes(all[2]!)).toEqual(["10.10.0.0/24", "192.168.1.0/24", "192.168.5.0/24"]);
    expect(hubRoutes(all[4]!)).toEqual(["10.10.0.0/24", "192.168.1.0/24", "192.168.3.0/24"]);
    // Another list of the same nodes, with node 1's route gone: read afresh, not from the first list.
    const changed = [node(1), ...all.slice(1)];
    expect(configPeers(network, changed[1]!, changed)[0]!.allowedIps).toEqual([
      "10.10.0.0/24",
      "192.168.3.0/24",
      "192.168.5.0/24",
    ]);
  });
});

describe("the hub's desired peers", () => {
  it("are the data plane's peer shape, checked once by desiredSet as they come from the database", () => {
    const nodes = [
      { ...node(1, ["192.168.1.0/24"]), endpoint: "192.0.2.7:51820" },
      node(2),
      node(3, [], "disabled"),
    ];
    const peers = desiredHubPeers(nodes);
    expect(peers).toEqual([
      {
        publicKey: nodes[0]!.publicKey,
        allowedIps: ["10.10.0.2/32", "192.168.1.0/24"],
        endpoint: "192.0.2.7:51820",
      },
      { publicKey: nodes[1]!.publicKey, allowedIps: ["10.10.0.3/32"], endpoint: null },
    ]);
    const set = desiredSet(peers);
    expect(set.peers).toEqual([
      {
        publicKey: nodes[0]!.publicKey,
        allowedIps: ["10.10.0.2/32", "192.168.1.0/24"],
        endpoint: "192.0.2.7:51820",
      },
      { publicKey: nodes[1]!.publicKey, allowedIps: ["10.10.0.3/32"] },
    ]);
    // The next sync's identical peers, read afresh, reuse the checked set whole.
    expect(desiredSet(desiredHubPeers(nodes), set)).toBe(set);
  });
});

describe("rendering is pure", () => {
  it("renders from a list as it is now, however often it rendered from that list before", () => {
    const all = [node(1), node(2, ["192.168.2.0/24"])];
    const input = { network, node: all[0]!, nodes: all };
    expect(configPeers(network, all[0]!, all)[0]!.allowedIps).toEqual(["10.10.0.0/24", "192.168.2.0/24"]);
    const before = configHash(input);
    all.push(node(3, ["192.168.3.0/24"]));
    expect(configPeers(network, all[0]!, all)[0]!.allowedIps).toEqual([
      "10.10.0.0/24",
      "192.168.2.0/24",
      "192.168.3.0/24",
    ]);
    expect(configHash(input)).not.toBe(before);
    expect(renderNodeConfig(input)).toContain("AllowedIPs = 10.10.0.0/24, 192.168.2.0/24, 192.168.3.0/24\n");
  });

  it("renders the same config with the routes computed once by the caller as without them", () => {
    const all = [
      node(1, ["192.168.1.0/24"]),
      node(2, ["192.168.2.0/24"]),
      node(3),
      node(4, ["192.168.4.0/24"], "disabled"),
    ];
    const routesBehind = routesBehindNodes(all);
    expect(routesBehind).toEqual([
      { id: "node-1", route: "192.168.1.0/24" },
      { id: "node-2", route: "192.168.2.0/24" },
    ]);
    for (const n of all) {
      expect(renderNodeConfig({ network, node: n, nodes: all, routesBehind })).toBe(
        renderNodeConfig({ network, node: n, nodes: all }),
      );
    }
  });
});

describe("configPeers and renderNodeConfig in mesh topology", () => {
  const mesh: NetworkSpec = { ...network, topology: "mesh", persistentKeepalive: null };
  const agentNode = (n: number, candidates: NodeSpec["candidates"]): NodeSpec => ({ ...node(n), candidates });

  it("names each peer's chosen endpoint, and gives a node behind NAT keepalive on every peer", () => {
    const a = agentNode(1, {
      listenPort: 51001,
      addresses: ["192.168.5.2/24"],
      reported: null,
      reflexive: "198.51.100.1",
    });
    const b = agentNode(2, {
      listenPort: 51002,
      addresses: ["192.168.5.3/24"],
      reported: null,
      reflexive: "198.51.100.1",
    });
    const c = { ...node(3), endpoint: "c.example.com:51820" };
    const peers = configPeers(mesh, a, [a, b, c]);
    expect(peers.map((p) => [p.comment, p.endpoint, p.persistentKeepalive])).toEqual([
      ["hub of office", "vpn.example.com:51820", 25],
      ["node-2", "192.168.5.3:51002", 25],
      ["node-3", "c.example.com:51820", 25],
    ]);
  });

  it("tells a node without an agent whom it reaches directly, and keeps its paths open", () => {
    const a = agentNode(1, {
      listenPort: 51001,
      addresses: ["203.0.113.7/24"],
      reported: null,
      reflexive: null,
    });
    const b = agentNode(2, {
      listenPort: 51002,
      addresses: ["192.168.5.3/24"],
      reported: null,
      reflexive: null,
    });
    const phone = node(3);
    const text = renderNodeConfig({ network: mesh, node: phone, nodes: [a, b, phone] });
    expect(text).toContain(
      [
        '# wiresync: node "node-3" in network "office"',
        "# No agent reports this node's addresses, so peers learn them only from its packets;",
        "# PersistentKeepalive keeps those paths open once it has reached them.",
        "# Reaches directly (endpoint known): node-1",
        "# Reaches only after they reached it (no endpoint known): node-2",
        "[Interface]",
      ].join("\n"),
    );
    expect(text).toContain(
      `PublicKey = ${a.publicKey}\nAllowedIPs = 10.10.0.2/32\nEndpoint = 203.0.113.7:51001\nPersistentKeepalive = 25`,
    );
    // An agent's own config carries no such notes, and no keepalive when it is not behind NAT.
    const own = renderNodeConfig({ network: mesh, node: a, nodes: [a, b, phone] });
    expect(own).not.toContain("# No agent");
    expect(own).not.toContain("PersistentKeepalive");
  });

  it("gives a node behind NAT in a hub network keepalive towards the hub, and leaves others as they were", () => {
    const natted = agentNode(1, {
      listenPort: 51001,
      addresses: ["192.168.5.2/24"],
      reported: null,
      reflexive: "198.51.100.1",
    });
    expect(configPeers(network, natted, [natted])[0]!.persistentKeepalive).toBe(25);
    expect(configPeers(network, node(2), [node(2)])[0]!.persistentKeepalive).toBeNull();
    expect(renderNodeConfig({ network, node: node(2), nodes: [node(2)] })).not.toContain("# No agent");
  });
});

describe("preshared keys in configs and hub peers", () => {
  const psk = Buffer.alloc(32, 7).toString("base64");

  it("puts the node's preshared key in its hub [Peer] only, in a mesh too, and changes the config's hash", () => {
    const all = [node(1), node(2), node(3)];
    const mesh = { ...network, topology: "mesh" as const };
    const text = renderNodeConfig({ network: mesh, node: all[0]!, nodes: all, presharedKey: psk });
    const sections = text.split("[Peer]");
    expect(sections).toHaveLength(4);
    expect(sections[1]).toContain(`PublicKey = ${network.hubPublicKey}`);
    expect(sections[1]).toContain(`PresharedKey = ${psk}`);
    expect(text.split("PresharedKey").length).toBe(2);
    const without = renderNodeConfig({ network: mesh, node: all[0]!, nodes: all });
    expect(without).not.toContain("PresharedKey");
    const hashOf = (presharedKey?: string) =>
      configHash({ network, node: all[0]!, nodes: all, presharedKey });
    expect(hashOf(psk)).not.toBe(hashOf());
    expect(hashOf(psk)).not.toBe(hashOf(Buffer.alloc(32, 8).toString("base64")));
    expect(hashOf(psk)).toBe(hashOf(psk));
  });

  it("gives each hub peer its key, none, or leaves the interface's (a node wiresync does not manage it for)", () => {
    const all = [node(1), node(2), node(3)];
    const keys = new Map<string, string | null>([
      [all[0]!.id, psk],
      [all[1]!.id, null],
    ]);
    const peers = desiredHubPeers(all, (n) => keys.get(n.id));
    expect(peers.map((p) => p.presharedKey)).toEqual([psk, null, undefined]);
    expect("presharedKey" in peers[2]!).toBe(false);
    expect(desiredSet(peers).peers.map((p) => p.presharedKey)).toEqual([psk, null, undefined]);
  });
});
