import { describe, expect, it } from "vitest";
import { networkRangeProblem, parseCidr } from "../../../src/mesh/index.js";

const problem = (cidr: string) => networkRangeProblem(parseCidr(cidr));

describe("networkRangeProblem", () => {
  it.each([
    ["0.0.0.0/8", /0\.0\.0\.0\/8, the unspecified/],
    ["0.0.0.0/0", /overlaps 0\.0\.0\.0\/8/],
    ["64.0.0.0/2", /overlaps 127\.0\.0\.0\/8, the loopback range/],
    ["128.0.0.0/2", /overlaps 169\.254\.0\.0\/16, the link-local range/],
    ["127.0.0.0/8", /the loopback range/],
    ["127.1.2.0/24", /the loopback range/],
    ["169.254.0.0/16", /the link-local range/],
    ["224.0.0.0/24", /the multicast range/],
    ["239.255.255.0/24", /the multicast range/],
    ["255.255.255.252/30", /the broadcast address/],
    ["::/128", /the unspecified address/],
    ["::/64", /the unspecified address/],
    ["::1/128", /the loopback address/],
    ["::ffff:0:0/96", /the IPv4-mapped range/],
    ["::ffff:10.0.0.0/120", /the IPv4-mapped range/],
    ["fe80::/10", /the link-local range/],
    ["fe80:1::/64", /the link-local range/],
    ["ff02::/16", /the multicast range/],
    ["10.0.0.1/32", /no room for the hub and one node; use a \/31/],
    ["fd00::/127", /no room for the hub and one node; use a \/126/],
    ["fd00::1/128", /no room/],
  ])("refuses %s", (cidr, expected) => {
    expect(problem(cidr)).toMatch(expected);
  });

  it.each([
    "10.0.0.0/8",
    "10.10.0.0/24",
    "172.16.0.0/12",
    "192.168.1.0/30",
    "10.0.0.0/31", // hub and one node (RFC 3021)
    "100.64.0.0/10",
    "1.0.0.0/8",
    "128.0.0.0/3", // 128.0.0.0 to 159.255.255.255: short of 169.254.0.0/16
    "fd00::/8",
    "fd00:10::/64",
    "fd00::/126",
    "2001:db8::/32",
  ])("takes %s", (cidr) => {
    expect(problem(cidr)).toBeUndefined();
  });
});
