/** Drizzle queries counting nodes, for the metrics' gauges. The executor comes first. */
import { eq, sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { networks, nodes } from "../db/index.js";

/**
 * Nodes by network (name) and status, with the connections the online ones reported in their last
 * heartbeat (`metrics.connections`), ordered by network and status.
 */
export async function nodeStatusCounts(
  exec: Executor,
): Promise<{ network: string; status: string; count: number; connections: number }[]> {
  return exec
    .select({
      network: networks.name,
      status: nodes.status,
      count: sql<number>`count(*)::int`,
      connections: sql<number>`coalesce(sum((${nodes.metrics}->>'connections')::bigint) filter (where ${nodes.status} = 'online'), 0)::float8`,
    })
    .from(nodes)
    .innerJoin(networks, eq(networks.id, nodes.networkId))
    .groupBy(networks.name, nodes.status)
    .orderBy(networks.name, nodes.status);
}
