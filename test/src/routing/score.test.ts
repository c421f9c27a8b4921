import { describe, expect, it } from "vitest";
import type { ClientFacts, RelayFacts } from "../../../src/routing/index.js";
import { freeBandwidthMbps, rankRelays } from "../../../src/routing/index.js";

const client: ClientFacts = { natType: "port-restricted-cone", region: "eu-west", country: "NL" };

/** A relay with every fact known: 20 ms, 45 of 50 slots free, 400 Mbps free, no NAT, client's region. */
const relay = (id: string, facts: Partial<RelayFacts> = {}): RelayFacts => ({
  id,
  name: `relay-${id}`,
  natType: "none",
  latencyMs: 20,
  connections: 5,
  maxConnections: 50,
  bandwidthMbps: { up: 500, down: 1_000 },
  bandwidthUsedMbps: { up: 100, down: 50 },
  region: "eu-west",
  country: "NL",
  ...facts,
});

describe("rankRelays", () => {
  it("scores each part by its documented rule and explains it in the reason", () => {
    const { ranked, rejected } = rankRelays(client, {}, [relay("a")]);
    expect(rejected).toEqual([]);
    expect(ranked).toEqual([
      {
        id: "a",
        name: "relay-a",
        // 35 × (1 − 20/500) = 33.6; 25 × 45/50 = 22.5; 20 × 400/1000 = 8; none: 10; same region: 10.
        score: 84.1,
        breakdown: { latency: 33.6, capacity: 22.5, bandwidth: 8, nat: 10, region: 10 },
        reason:
          "latency 20 ms: 33.6/35; 45 of 50 connections free: 22.5/25; 400 Mbps free: 8/20; relay NAT none: 10/10; same region eu-west: 10/10",
      },
    ]);
  });

  it.each<[string, Partial<RelayFacts>, Partial<Record<string, number>>, string]>([
    ["unknown latency earns half", { latencyMs: undefined }, { latency: 17.5 }, "latency unknown: 17.5/35"],
    ["500 ms and more earns none", { latencyMs: 900 }, { latency: 0 }, "latency 900 ms: 0/35"],
    [
      "unknown capacity earns half",
      { maxConnections: undefined },
      { capacity: 12.5 },
      "capacity unknown: 12.5/25",
    ],
    [
      "unknown bandwidth earns half",
      { bandwidthMbps: undefined },
      { bandwidth: 10 },
      "bandwidth unknown: 10/20",
    ],
    [
      "2 Gbps free is capped at full points",
      { bandwidthMbps: { up: 3_000 }, bandwidthUsedMbps: undefined },
      { bandwidth: 20 },
      "3000 Mbps free: 20/20",
    ],
    [
      "a restricted-cone relay earns 7",
      { natType: "restricted-cone" },
      { nat: 7 },
      "relay NAT restricted-cone: 7/10",
    ],
    ["an unregistered NAT type counts as unknown", { natType: null }, { nat: 5 }, "relay NAT unknown: 5/10"],
    ["the same country earns half", { region: "eu-central" }, { region: 5 }, "same country NL: 5/10"],
    [
      "another region earns none",
      { region: "us-east", country: "US" },
      { region: 0 },
      "other region us-east: 0/10",
    ],
    [
      "no location earns none",
      { region: undefined, country: undefined },
      { region: 0 },
      "region unknown: 0/10",
    ],
  ])("%s", (_, facts, parts, words) => {
    const [ranked] = rankRelays(client, {}, [relay("a", facts)]).ranked;
    expect(ranked!.breakdown).toMatchObject(parts);
    expect(ranked!.reason).toContain(words);
    const sum = Object.values(ranked!.breakdown).reduce((a, b) => a + b, 0);
    expect(ranked!.score).toBeCloseTo(sum, 9);
  });

  it("ranks best first and breaks equal scores by id, whatever the input order", () => {
    const relays = [
      relay("c", { latencyMs: 200 }),
      relay("b"),
      relay("a"),
      relay("d", { latencyMs: 5, region: "us-east", country: "US" }),
    ];
    const first = rankRelays(client, {}, relays);
    expect(first.ranked.map((r) => [r.id, r.score])).toEqual([
      ["a", 84.1],
      ["b", 84.1],
      // 35 × (1 − 5/500) = 34.65, shown as 34.7; no region points.
      ["d", 75.2],
      // 35 × (1 − 200/500) = 21.
      ["c", 71.5],
    ]);
    expect(rankRelays(client, {}, [...relays].reverse())).toEqual(first);
  });

  it.each<[string, Partial<RelayFacts>, { minBandwidthMbps?: number; maxLatencyMs?: number }, string]>([
    [
      "latency above the maximum",
      { latencyMs: 120 },
      { maxLatencyMs: 100 },
      "latency 120 ms is above the 100 ms asked",
    ],
    [
      "no latency when a maximum is asked",
      { latencyMs: undefined },
      { maxLatencyMs: 100 },
      "reports no latency, and at most 100 ms was asked",
    ],
    [
      "free bandwidth below the minimum",
      {},
      { minBandwidthMbps: 401 },
      "400 Mbps free is below the 401 Mbps asked",
    ],
    [
      "no bandwidth when a minimum is asked",
      { bandwidthMbps: undefined },
      { minBandwidthMbps: 1 },
      "reports no bandwidth, and 1 Mbps was asked",
    ],
    ["every slot in use", { connections: 50 }, {}, "full: 50 of 50 connections in use"],
    [
      "NAT types without a UDP path",
      { natType: "symmetric" },
      {},
      "a port-restricted-cone client cannot reach a relay behind symmetric NAT",
    ],
  ])("rejects a relay for %s, saying so", (_, facts, requirements, reason) => {
    const ok = relay("ok", { bandwidthMbps: { up: 2_000, down: 2_000 } });
    const result = rankRelays(client, requirements, [relay("x", facts), ok]);
    expect(result.ranked.map((r) => r.id)).toEqual(["ok"]);
    expect(result.rejected).toEqual([{ id: "x", name: "relay-x", reason }]);
  });

  it("keeps a relay exactly at a limit, and names every refusal of one that fails several", () => {
    const atLimits = rankRelays(client, { maxLatencyMs: 20, minBandwidthMbps: 400 }, [relay("a")]);
    expect(atLimits.ranked.map((r) => r.id)).toEqual(["a"]);
    const worst = rankRelays({ natType: "symmetric" }, { maxLatencyMs: 10 }, [
      relay("z", { latencyMs: 11, connections: 60, natType: "port-restricted-cone" }),
    ]);
    expect(worst.ranked).toEqual([]);
    expect(worst.rejected[0]!.reason).toBe(
      "latency 11 ms is above the 10 ms asked; full: 60 of 50 connections in use; a symmetric client cannot reach a relay behind port-restricted-cone NAT",
    );
  });
});

describe("freeBandwidthMbps", () => {
  it.each<[string, Partial<RelayFacts>, number | undefined]>([
    ["the smaller capacity less the larger use", {}, 400],
    ["one direction named", { bandwidthMbps: { down: 300 }, bandwidthUsedMbps: undefined }, 300],
    ["never below zero", { bandwidthUsedMbps: { up: 900 } }, 0],
    ["none without a capacity", { bandwidthMbps: {} }, undefined],
  ])("%s", (_, facts, expected) => {
    expect(freeBandwidthMbps(relay("a", facts))).toBe(expected);
  });
});
