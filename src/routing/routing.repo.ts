/** Drizzle queries of routing: the asking node, and the online relays of its network. */
import { and, asc, eq, ne } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { nodes } from "../db/index.js";

export type RoutingNodeRow = Pick<
  typeof nodes.$inferSelect,
  | "id"
  | "networkId"
  | "name"
  | "publicKey"
  | "ip4"
  | "endpoint"
  | "endpointCandidates"
  | "natType"
  | "capabilities"
  | "location"
  | "metrics"
>;

const columns = {
  id: nodes.id,
  networkId: nodes.networkId,
  name: nodes.name,
  publicKey: nodes.publicKey,
  ip4: nodes.ip4,
  endpoint: nodes.endpoint,
  endpointCandidates: nodes.endpointCandidates,
  natType: nodes.natType,
  capabilities: nodes.capabilities,
  location: nodes.location,
  metrics: nodes.metrics,
};

export async function getRoutingNode(exec: Executor, id: string): Promise<RoutingNodeRow | undefined> {
  const [row] = await exec.select(columns).from(nodes).where(eq(nodes.id, id));
  return row;
}

/** The nodes of `networkId` with role relay that are online, but `exceptId`, by id. */
export async function onlineRelays(
  exec: Executor,
  networkId: string,
  exceptId: string,
): Promise<RoutingNodeRow[]> {
  return exec
    .select(columns)
    .from(nodes)
    .where(
      and(
        eq(nodes.networkId, networkId),
        eq(nodes.role, "relay"),
        eq(nodes.status, "online"),
        ne(nodes.id, exceptId),
      ),
    )
    .orderBy(asc(nodes.id));
}
