import { describe, expect, it } from "vitest";
import type { NetworkSpec, NodeSpec } from "../../../src/mesh/render.js";
import { configPeers } from "../../../src/mesh/render.js";

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
