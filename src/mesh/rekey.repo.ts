/** Drizzle queries of key rotation: the keys a hub keeps for a moment after a node's key changed. */
import { and, eq, isNotNull, ne, or, sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { nodes } from "../db/index.js";

/** A node's previous key that its hub still holds, with where to reach it. */
export interface RotatingKeyRow {
  previousPublicKey: string;
  endpoint: string | null;
}

/**
 * The previous keys of a network's active nodes whose new key the hub has not yet seen shake hands
 * since the rotation. The hub's own handshake record is whole seconds, so the rotation time is
 * compared at that precision: a handshake in the second of the rotation counts (the previous key
 * carries no addresses any more, so retiring it a little early drops no traffic).
 */
export async function rotatingKeys(exec: Executor, networkId: string): Promise<RotatingKeyRow[]> {
  const rows = await exec
    .select({ previousPublicKey: nodes.previousPublicKey, endpoint: nodes.endpoint })
    .from(nodes)
    .where(
      and(
        eq(nodes.networkId, networkId),
        isNotNull(nodes.previousPublicKey),
        ne(nodes.status, "disabled"),
        or(
          sql`${nodes.lastHandshakeAt} is null`,
          sql`${nodes.lastHandshakeAt} < date_trunc('second', ${nodes.keyRotatedAt})`,
        ),
      ),
    );
  return rows.map((r) => ({ previousPublicKey: r.previousPublicKey!, endpoint: r.endpoint }));
}
