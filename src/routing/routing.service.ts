/** Routing requests: which relays of its network can serve a node, ranked by `rankRelays`. */
import type { Db } from "../db/index.js";
import { DomainError, notFound } from "../errors.js";
import { addressOnly, chooseEndpoint } from "../mesh/index.js";
import type { NatType } from "../nat/index.js";
import { canonicalNatType } from "../nat/index.js";
import type { RoutingNodeRow } from "./routing.repo.js";
import { getRoutingNode, onlineRelays } from "./routing.repo.js";
import type { RoutingRequestInput } from "./routing.schema.js";
import type { RankedRelay, RejectedRelay, RelayFacts } from "./score.js";
import { freeBandwidthMbps, rankRelays } from "./score.js";

export type RoutingService = ReturnType<typeof createRoutingService>;

/** A relay offered to the client: where to reach it, what it reported, and its score. */
export interface OfferedRelay extends RankedRelay {
  publicKey: string;
  ip4: string;
  /** Where the client reaches it (as a mesh config would name it for the client); null if unknown. */
  endpoint: string | null;
  natType: NatType | null;
  latencyMs: number | null;
  connections: number | null;
  maxConnections: number | null;
  freeBandwidthMbps: number | null;
}

export interface RoutingAnswer {
  clientId: string;
  networkId: string;
  client: { natType: NatType; region: string | null; country: string | null };
  relays: OfferedRelay[];
  /** Online relays that cannot serve the client, with why. */
  rejected: RejectedRelay[];
}

const natOf = (row: Pick<RoutingNodeRow, "natType">): NatType | null =>
  row.natType === null ? null : (canonicalNatType(row.natType) ?? "unknown");

function relayFacts(row: RoutingNodeRow): RelayFacts {
  return {
    id: row.id,
    name: row.name,
    natType: natOf(row),
    latencyMs: row.metrics.latencyMs,
    connections: row.metrics.connections,
    maxConnections: row.capabilities.maxConnections,
    bandwidthMbps: row.capabilities.bandwidth,
    bandwidthUsedMbps: row.metrics.bandwidthUsed,
    region: row.location.region,
    country: row.location.country,
  };
}

/** Routing requests over the database. */
export function createRoutingService(deps: { db: Db }) {
  const { db } = deps;
  return {
    /**
     * The relays of the client node's network (role relay, online, not the client) that can serve
     * it, best first, with the ones that cannot and why. The client's NAT type is the one asked
     * with, else its registered one, else unknown; its region is its registered location. A node
     * (`asker.nodeId`) may ask only for itself. Reads only; the same request over the same rows
     * gives the same answer. Throws FORBIDDEN (another node's id), NODE_NOT_FOUND,
     * NO_RELAY_AVAILABLE (no relay online) and NO_RELAY_FITS (every relay rejected, in `details`).
     */
    async requestRoute(
      input: RoutingRequestInput,
      asker: { nodeId?: string | undefined },
    ): Promise<RoutingAnswer> {
      if (asker.nodeId !== undefined && asker.nodeId !== input.clientId) {
        throw new DomainError(
          "FORBIDDEN",
          "a node's token asks routes for its own node only: send your own node id as clientId",
        );
      }
      const client = await getRoutingNode(db, input.clientId);
      if (!client) throw notFound("NODE_NOT_FOUND", "node", input.clientId);
      const clientFacts = {
        natType: input.clientNetworkInfo.natType ?? natOf(client) ?? "unknown",
        region: client.location.region,
        country: client.location.country,
      };
      const rows = await onlineRelays(db, client.networkId, client.id);
      if (rows.length === 0) {
        throw new DomainError(
          "NO_RELAY_AVAILABLE",
          `no relay of network ${client.networkId} is online: enroll a node with role relay, or wait for one to send a heartbeat`,
          { context: { networkId: client.networkId } },
        );
      }
      const requirements = {
        minBandwidthMbps: input.requirements.minBandwidth,
        maxLatencyMs: input.requirements.maxLatency,
      };
      const { ranked, rejected } = rankRelays(clientFacts, requirements, rows.map(relayFacts));
      if (ranked.length === 0) {
        throw new DomainError(
          "NO_RELAY_FITS",
          `none of the ${rows.length} online relays can serve this client: ${rejected.map((r) => `${r.name}: ${r.reason}`).join(" | ")}`,
          { context: { networkId: client.networkId, rejected } },
        );
      }
      const byId = new Map(rows.map((r) => [r.id, r]));
      const clientReach = { endpoint: client.endpoint, candidates: client.endpointCandidates };
      return {
        clientId: client.id,
        networkId: client.networkId,
        client: {
          natType: clientFacts.natType,
          region: clientFacts.region ?? null,
          country: clientFacts.country ?? null,
        },
        relays: ranked.map((r) => {
          const row = byId.get(r.id)!;
          const facts = relayFacts(row);
          const reach = { endpoint: row.endpoint, candidates: row.endpointCandidates };
          return {
            ...r,
            publicKey: row.publicKey,
            ip4: addressOnly(row.ip4),
            endpoint: chooseEndpoint(reach, clientReach)?.endpoint ?? null,
            natType: facts.natType,
            latencyMs: facts.latencyMs ?? null,
            connections: facts.connections ?? null,
            maxConnections: facts.maxConnections ?? null,
            freeBandwidthMbps: freeBandwidthMbps(facts) ?? null,
          };
        }),
        rejected,
      };
    },
  };
}
