import { describe, expect, it } from "vitest";
import type { ActualLink, DesiredLink } from "../../../src/wireguard/index.js";
import {
  buildForwardRuleset,
  cidrWithin,
  isEmptyLinkPlan,
  planLink,
  routesFor,
} from "../../../src/wireguard/index.js";

const actual = (fields: Partial<ActualLink> = {}): ActualLink => ({
  addresses: ["10.0.0.1/24"],
  mtu: 1420,
  routes: [],
  ...fields,
});
const desired = (fields: Partial<DesiredLink> = {}): DesiredLink => ({
  addresses: ["10.0.0.1/24"],
  mtu: null,
  routes: [],
  ...fields,
});

describe("planLink", () => {
  it.each([
    ["an interface that matches needs nothing", desired(), actual(), {}],
    ["no MTU in the database leaves the interface's own", desired({ mtu: null }), actual({ mtu: 1380 }), {}],
    [
      "a network MTU the interface does not have is set",
      desired({ mtu: 1380 }),
      actual({ mtu: 1420 }),
      { setMtu: 1380, drift: [{ field: "mtu", desired: "1380", actual: "1420" }] },
    ],
    [
      "a missing address is added, an extra one stays",
      desired({ addresses: ["10.0.0.1/24", "FD00::1/64"] }),
      actual({ addresses: ["10.0.0.1/24", "192.168.9.9/24"] }),
      { addAddresses: ["fd00::1/64"], drift: [{ field: "address", desired: "fd00::1/64", actual: null }] },
    ],
    [
      "a route behind a node is added, and wiresync's route nobody carries any more is removed",
      desired({ routes: ["192.168.50.7/24"] }),
      actual({ routes: ["172.16.0.0/16"] }),
      {
        addRoutes: ["192.168.50.0/24"],
        removeRoutes: ["172.16.0.0/16"],
        drift: [
          { field: "route", desired: "192.168.50.0/24", actual: null },
          { field: "route", desired: null, actual: "172.16.0.0/16" },
        ],
      },
    ],
  ])("%s", (_name, want, have, expected) => {
    const plan = planLink(want, have);
    expect(plan).toEqual({
      setMtu: null,
      addAddresses: [],
      addRoutes: [],
      removeRoutes: [],
      drift: [],
      ...expected,
    });
    expect(isEmptyLinkPlan(plan)).toBe(Object.keys(expected).length === 0);
  });
});

describe("routesFor", () => {
  it("routes only what the interface's own subnets do not cover, without default routes", () => {
    expect(
      routesFor(
        ["10.0.0.2/24", "fd00:1::2/64"],
        [
          "10.0.0.0/24",
          "fd00:1::/64",
          "10.0.0.9/32",
          "192.168.50.0/24",
          "192.168.50.0/24",
          "0.0.0.0/0",
          "fd99::/48",
          "::/0",
        ],
      ),
    ).toEqual(["192.168.50.0/24", "fd99::/48"]);
  });

  it.each([
    ["10.0.0.9/32", "10.0.0.0/24", true],
    ["10.0.1.0/24", "10.0.0.0/24", false],
    ["10.0.0.0/16", "10.0.0.0/24", false],
    ["fd00:1::5/128", "fd00:1::/64", true],
    ["fd00:2::/64", "fd00:1::/64", false],
    ["10.0.0.1/32", "fd00::/8", false],
  ])("%s lies within %s: %s", (inner, outer, within) => {
    expect(cidrWithin(inner, outer)).toBe(within);
  });
});

describe("buildForwardRuleset", () => {
  it("forwards within each interface, never between two, and nowhere else where the host forwards nothing", () => {
    expect(buildForwardRuleset(["wsb", "wsa", "wsa"], { ipv4: false, ipv6: true })).toBe(
      [
        "table inet wiresync {}",
        "delete table inet wiresync",
        "table inet wiresync {",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        '    iifname "wsa" oifname "wsa" accept',
        '    iifname "wsb" oifname "wsb" accept',
        '    iifname { "wsa", "wsb" } oifname { "wsa", "wsb" } drop',
        '    meta nfproto ipv4 iifname { "wsa", "wsb" } drop',
        "  }",
        "}",
        "",
      ].join("\n"),
    );
  });
});
