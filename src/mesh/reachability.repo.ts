/**
 * Drizzle queries of reachability: handshakes agents report with their mesh peers, and nodes seen
 * through the hub's handshakes. Every function takes the executor first; services own transactions.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Executor, NodeStatus } from "../db/index.js";
import { nodeReachability, nodes, rowsOf } from "../db/index.js";
import { pgErrorCode } from "../errors.js";
import type { PeerHandshakeReport, ReachNode } from "./reachability.js";

const SECOND_MS = 1_000;

/** A handshake as an agent reports it: with whom, and how many seconds before its heartbeat. */
export interface ReportedHandshake {
  publicKey: string;
  ageSeconds: number;
}

/**
 * Stores the handshakes a node's agent reported with peers of its network, dated `now` minus their
 * age (so the node's clock does not matter). Keys that are no node of the network, and the node's
 * own, are ignored. A stored handshake is rewritten only when the report is newer by more than a
 * second (an idle pair reports the same handshake, give or take the rounding, every heartbeat).
 * Returns how many peers were known (0 when the node or a peer was deleted meanwhile).
 */
export async function recordPeerHandshakes(
  exec: Executor,
  node: { id: string; networkId: string },
  handshakes: readonly ReportedHandshake[],
  now: Date,
): Promise<number> {
  if (handshakes.length === 0) return 0;
  const keys = [...new Set(handshakes.map((h) => h.publicKey))];
  const peers = await exec
    .select({ id: nodes.id, publicKey: nodes.publicKey })
    .from(nodes)
    .where(and(eq(nodes.networkId, node.networkId), inArray(nodes.publicKey, keys)));
  const idOf = new Map(peers.map((p) => [p.publicKey, p.id]));
  const rows = new Map<string, typeof nodeReachability.$inferInsert>();
  for (const h of handshakes) {
    const peerId = idOf.get(h.publicKey);
    if (!peerId || peerId === node.id) continue;
    const at = new Date(Math.floor(now.getTime() / SECOND_MS - h.ageSeconds) * SECOND_MS);
    const seen = rows.get(peerId);
    if (seen && seen.lastHandshakeAt >= at) continue;
    rows.set(peerId, {
      networkId: node.networkId,
      nodeId: node.id,
      peerId,
      lastHandshakeAt: at,
      reportedAt: now,
    });
  }
  if (rows.size === 0) return 0;
  try {
    await exec
      .insert(nodeReachability)
      .values([...rows.values()])
      .onConflictDoUpdate({
        target: [nodeReachability.nodeId, nodeReachability.peerId],
        set: { lastHandshakeAt: sql`excluded.last_handshake_at`, reportedAt: sql`excluded.reported_at` },
        setWhere: sql`excluded.last_handshake_at > ${nodeReachability.lastHandshakeAt} + interval '1 second'`,
      });
  } catch (err) {
    // The node or a peer was deleted since it was read: its pairs are gone with it.
    if (pgErrorCode(err) === "23503") return 0;
    throw err;
  }
  return rows.size;
}

/** What a network's reachability report is made of: its nodes (by address) and the agents' reports. */
export async function reachabilityInputs(
  exec: Executor,
  networkId: string,
): Promise<{ nodes: ReachNode[]; reports: PeerHandshakeReport[] }> {
  const [members, reports] = await Promise.all([
    exec
      .select({
        id: nodes.id,
        name: nodes.name,
        status: nodes.status,
        lastSeenAt: nodes.lastSeenAt,
        hubHandshakeAt: nodes.lastHandshakeAt,
      })
      .from(nodes)
      .where(eq(nodes.networkId, networkId))
      .orderBy(asc(nodes.ip4)),
    exec
      .select({
        nodeId: nodeReachability.nodeId,
        peerId: nodeReachability.peerId,
        lastHandshakeAt: nodeReachability.lastHandshakeAt,
      })
      .from(nodeReachability)
      .where(eq(nodeReachability.networkId, networkId)),
  ]);
  return { nodes: members, reports };
}

/** A node the hub's handshakes showed alive, with the status it had before. */
export interface SeenNode {
  id: string;
  previousStatus: NodeStatus;
}

const BATCH = 1_000;

/**
 * Records that the hub shook hands recently with nodes of a network (the caller passes only recent
 * handshakes): each node that is not disabled and whose last sign of life is older than its handshake
 * gets the handshake's time as `lastSeenAt` and status `online`, in one statement per thousand nodes
 * (rows locked by the update). Returns the nodes that were not online before.
 */
export async function markSeenThroughHub(
  exec: Executor,
  networkId: string,
  handshakes: readonly { publicKey: string; at: Date }[],
): Promise<SeenNode[]> {
  const wentOnline: SeenNode[] = [];
  for (let i = 0; i < handshakes.length; i += BATCH) {
    const values = handshakes
      .slice(i, i + BATCH)
      .map((h) => sql`(${h.publicKey}::text, ${h.at.toISOString()}::timestamptz)`);
    const result = await exec.execute(sql`
      with v(key, at) as (values ${sql.join(values, sql`, `)}),
      target as (
        select ${nodes.id} as id, ${nodes.status} as previous_status, v.at
        from ${nodes} join v on ${nodes.publicKey} = v.key
        where ${nodes.networkId} = ${networkId} and ${nodes.status} <> 'disabled'
          and (${nodes.lastSeenAt} is null or ${nodes.lastSeenAt} < v.at)
        for update of ${nodes}
      )
      update ${nodes} set last_seen_at = target.at, status = 'online', updated_at = now()
      from target where ${nodes.id} = target.id
      returning target.id, target.previous_status`);
    const rows = rowsOf<{ id: string; previous_status: NodeStatus }>(result);
    for (const r of rows)
      if (r.previous_status !== "online") wentOnline.push({ id: r.id, previousStatus: r.previous_status });
  }
  return wentOnline;
}
