/** The queries of config delivery (`ConfigPusher`). */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { nodes } from "../db/index.js";

/** A node's current config version; undefined when the node is gone. */
export async function configVersionOf(db: Db, nodeId: string): Promise<number | undefined> {
  const [node] = await db.select({ version: nodes.configVersion }).from(nodes).where(eq(nodes.id, nodeId));
  return node?.version;
}

/** Records that `version` was announced, never lowering what an overtaking push recorded. */
export async function recordPushedVersion(db: Db, nodeId: string, version: number): Promise<void> {
  await db
    .update(nodes)
    .set({ configPushedVersion: sql`greatest(${nodes.configPushedVersion}, ${version})` })
    .where(eq(nodes.id, nodeId));
}
