import { describe, expect, it } from "vitest";
import type { NatType } from "../../../src/nat/index.js";
import { canonicalNatType, canReachDirectly, canReachRelay, NAT_TYPES } from "../../../src/nat/index.js";

describe("canonicalNatType", () => {
  it.each([
    ["FullCone", "full-cone"],
    ["full_cone", "full-cone"],
    ["FULL CONE", "full-cone"],
    ["RestrictedCone", "restricted-cone"],
    ["AddressRestrictedCone", "restricted-cone"],
    ["PortRestrictedCone", "port-restricted-cone"],
    ["Symmetric", "symmetric"],
    ["Open", "none"],
    ["None", "none"],
    ["NoNAT", "none"],
    ["Blocked", "udp-blocked"],
    ["Unknown", "unknown"],
  ])("reads %j as %j", (spelling, canonical) => {
    expect(canonicalNatType(spelling)).toBe(canonical);
  });

  it("reads every canonical form as itself", () => {
    for (const t of NAT_TYPES) expect(canonicalNatType(t)).toBe(t);
  });

  it.each(["cone", "Symmetrical", "", "constructor", "__proto__", "toString"])("refuses %j", (spelling) => {
    expect(canonicalNatType(spelling)).toBeUndefined();
  });
});

describe("canReachRelay and canReachDirectly", () => {
  const impossible: [NatType, NatType][] = [
    ["symmetric", "symmetric"],
    ["symmetric", "port-restricted-cone"],
    ["port-restricted-cone", "symmetric"],
  ];
  it("finds a UDP path for every pair but the impossible ones and those without UDP", () => {
    for (const client of NAT_TYPES)
      for (const relay of NAT_TYPES) {
        const blocked = client === "udp-blocked" || relay === "udp-blocked";
        const hard = impossible.some(([c, r]) => c === client && r === relay);
        expect(canReachRelay(client, relay), `${client} → ${relay}`).toBe(!blocked && !hard);
        expect(canReachDirectly(client, relay), `${client} ↔ ${relay}`).toBe(!blocked && !hard);
      }
  });
});
