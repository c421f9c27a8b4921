import { describe, expect, it } from "vitest";
import type { EndpointFacts, NodeEndpointCandidates } from "../../../src/mesh/endpoints.js";
import {
  addressScope,
  chooseEndpoint,
  heartbeatCandidates,
  isBehindNat,
  keepaliveFor,
  normaliseCandidates,
  reflexiveCandidate,
} from "../../../src/mesh/endpoints.js";

const candidates = (c: Partial<NodeEndpointCandidates>): NodeEndpointCandidates => ({
  listenPort: 51000,
  addresses: [],
  reported: null,
  reflexive: null,
  ...c,
});
const agent = (c: Partial<NodeEndpointCandidates>, endpoint: string | null = null): EndpointFacts => ({
  endpoint,
  candidates: candidates(c),
});

describe("chooseEndpoint", () => {
  const lanViewer = agent({ addresses: ["192.168.50.7/24"] });
  it.each<[string, EndpointFacts, EndpointFacts | undefined, string | null, string | null]>([
    [
      "an operator-set endpoint wins over everything the agent reported",
      agent({ reported: "198.51.100.9:4000", addresses: ["192.168.50.2/24"] }, "vpn.example.com:51820"),
      lanViewer,
      "vpn.example.com:51820",
      "operator",
    ],
    [
      "a reported public endpoint comes next, even for a viewer on the same LAN",
      agent({ reported: "198.51.100.9:4000", addresses: ["192.168.50.2/24"] }),
      lanViewer,
      "198.51.100.9:4000",
      "reported",
    ],
    [
      "a public address on the node's own interface is a reported public address, with its listen port",
      agent({ addresses: ["10.0.0.2/8", "203.0.113.5/24"], reflexive: "198.51.100.1" }),
      lanViewer,
      "203.0.113.5:51000",
      "reported",
    ],
    [
      "a public IPv6 address is written in brackets",
      agent({ addresses: ["2001:db8::5/64"] }),
      undefined,
      "[2001:db8::5]:51000",
      "reported",
    ],
    [
      "two agents sharing a subnet talk over the LAN, ahead of the reflexive address",
      agent({ addresses: ["192.168.50.2/24"], reflexive: "198.51.100.1" }),
      agent({ addresses: ["192.168.50.7/24"], reflexive: "198.51.100.1" }),
      "192.168.50.2:51000",
      "lan",
    ],
    [
      "a shared subnet seen from two different public addresses is two sites: the reflexive address wins",
      agent({ addresses: ["192.168.1.2/24"], reflexive: "198.51.100.1" }),
      agent({ addresses: ["192.168.1.7/24"], reflexive: "203.0.113.99" }),
      "198.51.100.1:51000",
      "reflexive",
    ],
    [
      "without a shared subnet, the reflexive address with the reported listen port",
      agent({ addresses: ["192.168.50.2/24"], reflexive: "198.51.100.1" }),
      agent({ addresses: ["10.9.0.7/24"] }),
      "198.51.100.1:51000",
      "reflexive",
    ],
    [
      "a viewer without an agent gets no LAN choice: it falls back to the reflexive address",
      agent({ addresses: ["192.168.50.2/24"], reflexive: "198.51.100.1" }),
      undefined,
      "198.51.100.1:51000",
      "reflexive",
    ],
    [
      "a node with only private addresses and no reflexive one is unreachable for a viewer elsewhere",
      agent({ addresses: ["192.168.50.2/24"] }),
      agent({ addresses: ["10.9.0.7/24"] }),
      null,
      null,
    ],
    [
      "a node that never reported (no agent) and has no operator endpoint has none",
      { endpoint: null, candidates: null },
      lanViewer,
      null,
      null,
    ],
    [
      "an agent that reported no listen port gets no address-based endpoint",
      agent({ listenPort: null, addresses: ["203.0.113.5/24"], reflexive: "198.51.100.1" }),
      lanViewer,
      null,
      null,
    ],
    [
      "the viewer's own address on the subnet is not taken for the target's",
      agent({ addresses: ["192.168.50.7/24"] }),
      agent({ addresses: ["192.168.50.7/24"] }),
      null,
      null,
    ],
  ])("%s", (_name, target, viewer, endpoint, source) => {
    const chosen = chooseEndpoint(target, viewer);
    expect(chosen?.endpoint ?? null).toBe(endpoint);
    expect(chosen?.source ?? null).toBe(source);
  });
});

describe("addressScope and reflexive candidates", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["10.1.2.3", "private"],
    ["172.31.0.1", "private"],
    ["172.32.0.1", "public"],
    ["192.168.0.1", "private"],
    ["100.64.0.1", "private"],
    ["fd00::1", "private"],
    ["198.51.100.1", "public"],
    ["2001:db8::1", "public"],
    ["::ffff:203.0.113.5", "public"],
    ["0.0.0.0", "unusable"],
    ["not-an-ip", "unusable"],
  ])("%s is %s", (ip, scope) => {
    expect(addressScope(ip)).toBe(scope);
  });

  it.each<[string | undefined, string | null]>([
    ["::ffff:198.51.100.7", "198.51.100.7"],
    ["192.168.1.9", "192.168.1.9"],
    ["127.0.0.1", null],
    ["::1", null],
    ["fe80::1", null],
    [undefined, null],
  ])("a heartbeat from %s gives the reflexive candidate %s", (remote, expected) => {
    expect(reflexiveCandidate(remote)).toBe(expected);
  });
});

describe("stored candidates", () => {
  it("are canonical, de-duplicated and sorted, without loopback, link-local or the tunnel's addresses", () => {
    expect(
      normaliseCandidates({
        listenPort: 51000,
        addresses: [
          "192.168.1.5/24",
          "127.0.0.1/8",
          "fe80::1/64",
          "2001:DB8::5/64",
          "192.168.1.5/24",
          "10.9.9.9",
        ],
        reported: null,
        reflexive: "198.51.100.1",
        excludeRanges: ["10.9.9.9/32"],
      }),
    ).toEqual({
      listenPort: 51000,
      addresses: ["192.168.1.5/24", "2001:db8::5/64"],
      reported: null,
      reflexive: "198.51.100.1",
    });
  });

  it("are left as they are by a heartbeat that says nothing of them (an agent from before candidates)", () => {
    expect(heartbeatCandidates({ ip4: "10.0.0.2", ip6: null }, {}, "198.51.100.1")).toBeUndefined();
    expect(
      heartbeatCandidates(
        { ip4: "10.0.0.2/32", ip6: null },
        { candidates: { listenPort: 5, addresses: ["10.0.0.2/24", "192.168.1.5/24"] } },
        "::ffff:198.51.100.1",
      ),
    ).toEqual({ listenPort: 5, addresses: ["192.168.1.5/24"], reported: null, reflexive: "198.51.100.1" });
  });
});

describe("NAT and keepalive", () => {
  it.each<[string, NodeEndpointCandidates | null, boolean]>([
    [
      "a node seen from an address that is none of its own is behind NAT",
      candidates({ addresses: ["192.168.1.5/24"], reflexive: "198.51.100.1" }),
      true,
    ],
    [
      "a node seen from its own public address is not",
      candidates({ addresses: ["198.51.100.1/24"], reflexive: "198.51.100.1" }),
      false,
    ],
    [
      "a node seen from loopback (no reflexive address) is not known to be",
      candidates({ addresses: ["192.168.1.5/24"] }),
      false,
    ],
    ["a node without candidates is not known to be", null, false],
  ])("%s", (_name, c, expected) => {
    expect(isBehindNat(c)).toBe(expected);
  });

  it.each<[string, number | null, NodeEndpointCandidates | null, boolean, number | null]>([
    [
      "behind NAT without a network keepalive: 25 s",
      null,
      candidates({ reflexive: "198.51.100.1" }),
      false,
      25,
    ],
    [
      "behind NAT with a network keepalive: the network's",
      10,
      candidates({ reflexive: "198.51.100.1" }),
      false,
      10,
    ],
    [
      "behind NAT with keepalive 0 (off) in the network: still 25 s",
      0,
      candidates({ reflexive: "198.51.100.1" }),
      false,
      25,
    ],
    ["not behind NAT: the network's, none", null, candidates({}), false, null],
    ["a config-only node in a mesh: 25 s", null, null, true, 25],
  ])("%s", (_name, network, c, configOnly, expected) => {
    expect(keepaliveFor(network, { endpoint: null, candidates: c }, { configOnly })).toBe(expected);
  });
});
