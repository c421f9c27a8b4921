import { describe, expect, it } from "vitest";
import type { AdoptCandidate, AdoptTarget } from "../../../src/mesh/index.js";
import { adoptedName, planAdoption } from "../../../src/mesh/index.js";

const key = (n: number) => Buffer.alloc(32, n).toString("base64");

const target: AdoptTarget = {
  cidr4: "10.8.0.0/24",
  cidr6: "fd08::/64",
  hubIp4: "10.8.0.1",
  hubIp6: "fd08::1",
  hubPublicKey: key(99),
  nodes: [
    {
      publicKey: key(90),
      name: "gateway",
      ip4: "10.8.0.2",
      ip6: "fd08::2",
      extraAllowedIps: ["192.168.10.0/24"],
    },
  ],
};

const peer = (n: number, allowedIps: string[], comment: string | null = null): AdoptCandidate => ({
  publicKey: key(n),
  allowedIps,
  endpoint: null,
  hasPresharedKey: false,
  comment,
});

describe("planAdoption", () => {
  it.each([
    [
      "a /32 inside the range becomes the node address",
      ["10.8.0.9/32"],
      { ip4: "10.8.0.9", ip6: null, extraAllowedIps: [] },
    ],
    [
      "a /128 inside the IPv6 range becomes its IPv6 address",
      ["10.8.0.9/32", "fd08::9/128"],
      { ip4: "10.8.0.9", ip6: "fd08::9", extraAllowedIps: [] },
    ],
    [
      "other allowed IPs become routes, canonical",
      ["10.8.0.9/32", "172.16.0.0/16", "2001:db8::/48", "203.0.113.5/32"],
      { ip4: "10.8.0.9", extraAllowedIps: ["172.16.0.0/16", "2001:db8::/48", "203.0.113.5/32"] },
    ],
  ])("adopts: %s", (_what, allowedIps, expected) => {
    const plan = planAdoption(target, [peer(1, allowedIps)]);
    expect(plan.refuse).toEqual([]);
    expect(plan.adopt).toHaveLength(1);
    expect(plan.adopt[0]).toMatchObject(expected);
  });

  it.each([
    ["a key that is a node's already", peer(90, ["10.8.0.9/32"]), "ALREADY_A_NODE"],
    ["the hub's own key", peer(99, ["10.8.0.9/32"]), "HUB_KEY"],
    ["no host address at all", peer(1, ["172.16.0.0/16"]), "NO_ADDRESS"],
    ["no allowed IPs", peer(1, []), "NO_ADDRESS"],
    ["a host address outside the range only", peer(1, ["10.9.0.9/32"]), "OUTSIDE_NETWORK"],
    ["an IPv6 address but no IPv4 one", peer(1, ["fd08::9/128"]), "OUTSIDE_NETWORK"],
    ["two IPv4 addresses in the range", peer(1, ["10.8.0.9/32", "10.8.0.10/32"]), "SEVERAL_ADDRESSES"],
    ["a prefix inside the range", peer(1, ["10.8.0.9/32", "10.8.0.128/25"]), "ROUTE_IN_NETWORK"],
    ["the whole range", peer(1, ["10.8.0.0/24"]), "ROUTE_IN_NETWORK"],
    ["the network address", peer(1, ["10.8.0.0/32"]), "ROUTE_IN_NETWORK"],
    ["the broadcast address", peer(1, ["10.8.0.255/32"]), "ROUTE_IN_NETWORK"],
    ["the hub's address", peer(1, ["10.8.0.1/32"]), "ADDRESS_TAKEN"],
    ["a node's address", peer(1, ["10.8.0.2/32"]), "ADDRESS_TAKEN"],
    ["a node's IPv6 address", peer(1, ["10.8.0.9/32", "fd08::2/128"]), "ADDRESS_TAKEN"],
    ["a node's route", peer(1, ["10.8.0.9/32", "192.168.10.128/25"]), "ROUTE_TAKEN"],
  ])("refuses %s", (_what, candidate, reason) => {
    const plan = planAdoption(target, [candidate]);
    expect(plan.adopt).toEqual([]);
    expect(plan.refuse.map((r) => r.reason)).toEqual([reason]);
  });

  it("refuses every peer of one import that claims one address or overlapping routes, and adopts the rest", () => {
    const plan = planAdoption(target, [
      peer(1, ["10.8.0.9/32"], "a"),
      peer(2, ["10.8.0.9/32"], "b"),
      peer(3, ["10.8.0.10/32", "172.16.0.0/16"], "c"),
      peer(4, ["10.8.0.11/32", "172.16.5.0/24"], "d"),
      peer(5, ["10.8.0.12/32"], "e"),
    ]);
    expect(plan.adopt.map((a) => a.name)).toEqual(["e"]);
    expect(plan.refuse.map((r) => [r.name, r.reason])).toEqual([
      ["a", "ADDRESS_COLLISION"],
      ["b", "ADDRESS_COLLISION"],
      ["c", "ROUTE_TAKEN"],
      ["d", "ROUTE_TAKEN"],
    ]);
  });

  it("gives names unique in the network, a node's name and each other's", () => {
    const plan = planAdoption(target, [
      peer(1, ["10.8.0.9/32"], "gateway"),
      peer(2, ["10.8.0.10/32"], "laptop"),
      peer(3, ["10.8.0.11/32"], "laptop"),
      peer(4, ["10.8.0.12/32"], "laptop"),
    ]);
    expect(plan.adopt.map((a) => a.name)).toEqual(["gateway-2", "laptop", "laptop-2", "laptop-3"]);
  });

  it("in a network without an IPv6 range, a /128 is a route", () => {
    const plan = planAdoption({ ...target, cidr6: null, hubIp6: null }, [
      peer(1, ["10.8.0.9/32", "fd08::9/128"]),
    ]);
    expect(plan.adopt[0]).toMatchObject({ ip6: null, extraAllowedIps: ["fd08::9/128"] });
  });
});

describe("adoptedName", () => {
  it.each([
    ["alice laptop", "alice laptop"],
    ["Bob's phone (work)", "Bob-s phone -work-"],
    ["  -- desk 2 ", "desk 2"],
    ["über", "ber"],
    ["x".repeat(80), "x".repeat(63)],
  ])("%j becomes %j", (comment, name) => {
    expect(adoptedName(comment, key(1))).toBe(name);
  });

  it.each([[null], [""], ["!!!"], ["日本"]])("falls back to a name from the key for %j", (comment) => {
    expect(adoptedName(comment, "ab+/CDefGHij0123456789012345678901234567890=")).toBe("peer-abcdefgh");
  });
});
