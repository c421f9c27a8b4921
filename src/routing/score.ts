/**
 * Relay scoring: which relays can serve a client, and how well, as plain numbers with the words that
 * explain them. Pure: same input, same answer (ties broken by id); no clock, no I/O.
 *
 * A relay is **rejected** when it cannot serve the client at all: its latency is above the client's
 * `maxLatencyMs` (or unknown when one is asked), its free bandwidth is below `minBandwidthMbps` (or
 * unknown when one is asked), it is full, or no UDP path can exist between the two NAT types. The
 * others get a **score** out of 100, the sum of five parts:
 *
 * | part      | points | full points for                       | unknown |
 * | --------- | ------ | ------------------------------------- | ------- |
 * | latency   | 35     | 0 ms, falling linearly to 0 at 500 ms | half    |
 * | capacity  | 25     | every connection slot free            | half    |
 * | bandwidth | 20     | 1000 Mbps free or more                | half    |
 * | NAT       | 10     | relay not behind NAT (see NAT_POINTS) | 5       |
 * | region    | 10     | same region (same country: 5)         | 0       |
 */
import type { NatType } from "../nat/index.js";
import { canReachRelay } from "../nat/index.js";

export const WEIGHTS = { latency: 35, capacity: 25, bandwidth: 20, nat: 10, region: 10 } as const;
/** Latency at which a relay's latency points reach zero. */
export const LATENCY_ZERO_MS = 500;
/** Free bandwidth that earns every bandwidth point. */
export const BANDWIDTH_FULL_MBPS = 1_000;
/** Points of a relay's own NAT type: the more open, the more clients reach it and the sooner. */
export const NAT_POINTS: Record<NatType, number> = {
  none: 10,
  "full-cone": 9,
  "restricted-cone": 7,
  "port-restricted-cone": 6,
  unknown: 5,
  symmetric: 3,
  "udp-blocked": 0,
};

/** What the scorer needs of a relay, from its registration and its last heartbeat. */
export interface RelayFacts {
  id: string;
  name: string;
  natType: NatType | null;
  latencyMs?: number | undefined;
  connections?: number | undefined;
  maxConnections?: number | undefined;
  /** Link capacity each way, megabits per second. */
  bandwidthMbps?: { up?: number | undefined; down?: number | undefined } | undefined;
  /** In use each way, megabits per second. */
  bandwidthUsedMbps?: { up?: number | undefined; down?: number | undefined } | undefined;
  region?: string | undefined;
  country?: string | undefined;
}

export interface ClientFacts {
  natType: NatType;
  region?: string | undefined;
  country?: string | undefined;
}

export interface Requirements {
  minBandwidthMbps?: number | undefined;
  maxLatencyMs?: number | undefined;
}

export interface ScoreBreakdown {
  latency: number;
  capacity: number;
  bandwidth: number;
  nat: number;
  region: number;
}

export interface RankedRelay {
  id: string;
  name: string;
  /** Out of 100, one decimal. */
  score: number;
  /** Each part's facts and points, in the order of `breakdown`. */
  reason: string;
  breakdown: ScoreBreakdown;
}

export interface RejectedRelay {
  id: string;
  name: string;
  /** Why it cannot serve the client. */
  reason: string;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const clamp01 = (n: number) => Math.min(1, Math.max(0, n));

/** Free megabits per second: the smaller capacity of the directions it names, less their larger use. */
export function freeBandwidthMbps(relay: RelayFacts): number | undefined {
  const caps = [relay.bandwidthMbps?.up, relay.bandwidthMbps?.down].filter((v) => v !== undefined);
  if (caps.length === 0) return undefined;
  const used = [relay.bandwidthUsedMbps?.up, relay.bandwidthUsedMbps?.down].filter((v) => v !== undefined);
  return Math.max(0, Math.min(...caps) - Math.max(0, ...used));
}

type Part = { points: number; says: string } | { reject: string };

function latencyPart(relay: RelayFacts, req: Requirements): Part {
  const w = WEIGHTS.latency;
  if (relay.latencyMs === undefined) {
    if (req.maxLatencyMs !== undefined)
      return { reject: `reports no latency, and at most ${req.maxLatencyMs} ms was asked` };
    return { points: w / 2, says: "latency unknown" };
  }
  if (req.maxLatencyMs !== undefined && relay.latencyMs > req.maxLatencyMs)
    return { reject: `latency ${relay.latencyMs} ms is above the ${req.maxLatencyMs} ms asked` };
  return {
    points: w * clamp01(1 - relay.latencyMs / LATENCY_ZERO_MS),
    says: `latency ${relay.latencyMs} ms`,
  };
}

function capacityPart(relay: RelayFacts): Part {
  const w = WEIGHTS.capacity;
  const max = relay.maxConnections;
  if (max === undefined || max <= 0) return { points: w / 2, says: "capacity unknown" };
  const used = relay.connections ?? 0;
  const free = max - used;
  if (free <= 0) return { reject: `full: ${used} of ${max} connections in use` };
  return { points: (w * free) / max, says: `${free} of ${max} connections free` };
}

function bandwidthPart(relay: RelayFacts, req: Requirements): Part {
  const w = WEIGHTS.bandwidth;
  const free = freeBandwidthMbps(relay);
  if (free === undefined) {
    if (req.minBandwidthMbps !== undefined)
      return { reject: `reports no bandwidth, and ${req.minBandwidthMbps} Mbps was asked` };
    return { points: w / 2, says: "bandwidth unknown" };
  }
  if (req.minBandwidthMbps !== undefined && free < req.minBandwidthMbps)
    return { reject: `${free} Mbps free is below the ${req.minBandwidthMbps} Mbps asked` };
  return { points: w * clamp01(free / BANDWIDTH_FULL_MBPS), says: `${free} Mbps free` };
}

function natPart(relay: RelayFacts, client: ClientFacts): Part {
  const relayNat = relay.natType ?? "unknown";
  if (!canReachRelay(client.natType, relayNat))
    return { reject: `a ${client.natType} client cannot reach a relay behind ${relayNat} NAT` };
  return { points: NAT_POINTS[relayNat], says: `relay NAT ${relayNat}` };
}

const same = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();

function regionPart(relay: RelayFacts, client: ClientFacts): Part {
  const w = WEIGHTS.region;
  if (same(relay.region, client.region)) return { points: w, says: `same region ${relay.region}` };
  if (same(relay.country, client.country)) return { points: w / 2, says: `same country ${relay.country}` };
  if (!(relay.region ?? relay.country) || !(client.region ?? client.country))
    return { points: 0, says: "region unknown" };
  return { points: 0, says: `other region ${relay.region ?? relay.country}` };
}

/**
 * Ranks `relays` for `client`: those that can serve it, best first (score descending, then id), each
 * with its score, breakdown and reason; and those that cannot, by id, each with why.
 */
export function rankRelays(
  client: ClientFacts,
  requirements: Requirements,
  relays: readonly RelayFacts[],
): { ranked: RankedRelay[]; rejected: RejectedRelay[] } {
  const ranked: RankedRelay[] = [];
  const rejected: RejectedRelay[] = [];
  for (const relay of relays) {
    const parts = {
      latency: latencyPart(relay, requirements),
      capacity: capacityPart(relay),
      bandwidth: bandwidthPart(relay, requirements),
      nat: natPart(relay, client),
      region: regionPart(relay, client),
    };
    const refusals = Object.values(parts).flatMap((p) => ("reject" in p ? [p.reject] : []));
    if (refusals.length > 0) {
      rejected.push({ id: relay.id, name: relay.name, reason: refusals.join("; ") });
      continue;
    }
    const breakdown = {} as ScoreBreakdown;
    const words: string[] = [];
    for (const key of Object.keys(parts) as (keyof ScoreBreakdown)[]) {
      const part = parts[key] as { points: number; says: string };
      breakdown[key] = round1(part.points);
      words.push(`${part.says}: ${breakdown[key]}/${WEIGHTS[key]}`);
    }
    const score = round1(Object.values(breakdown).reduce((a, b) => a + b, 0));
    ranked.push({ id: relay.id, name: relay.name, score, reason: words.join("; "), breakdown });
  }
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  ranked.sort((a, b) => b.score - a.score || byId(a, b));
  rejected.sort(byId);
  return { ranked, rejected };
}
