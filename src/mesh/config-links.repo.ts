/** Queries of one-time config links (executor first; the service owns transactions). */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { nodeConfigLinks } from "../db/index.js";

export type ConfigLinkRow = typeof nodeConfigLinks.$inferSelect;

/** The link of `tokenHash` of `nodeId` while it is neither used nor revoked. */
const openLink = (nodeId: string, tokenHash: string) =>
  and(
    eq(nodeConfigLinks.tokenHash, tokenHash),
    eq(nodeConfigLinks.nodeId, nodeId),
    isNull(nodeConfigLinks.usedAt),
    isNull(nodeConfigLinks.revokedAt),
  );

export async function insertConfigLink(
  exec: Executor,
  values: { nodeId: string; tokenHash: string; expiresAt: Date; createdBy: string },
): Promise<ConfigLinkRow> {
  const [row] = await exec.insert(nodeConfigLinks).values(values).returning();
  return row!;
}

/**
 * Marks the link of `tokenHash` used, if it belongs to `nodeId` and is unused, unrevoked and
 * unexpired. One statement: of two requests at once, exactly one gets the row (the other waits on
 * its lock, then finds `used_at` set). Undefined when the link cannot be used.
 */
export async function claimConfigLink(
  exec: Executor,
  nodeId: string,
  tokenHash: string,
): Promise<ConfigLinkRow | undefined> {
  const [row] = await exec
    .update(nodeConfigLinks)
    .set({ usedAt: sql`now()` })
    .where(and(openLink(nodeId, tokenHash), gt(nodeConfigLinks.expiresAt, sql`now()`)))
    .returning();
  return row;
}

/** Revokes the unused, unrevoked link of `tokenHash` of `nodeId`; undefined when there is none. */
export async function revokeConfigLink(
  exec: Executor,
  nodeId: string,
  tokenHash: string,
): Promise<ConfigLinkRow | undefined> {
  const [row] = await exec
    .update(nodeConfigLinks)
    .set({ revokedAt: sql`now()` })
    .where(openLink(nodeId, tokenHash))
    .returning();
  return row;
}

/** The link of `tokenHash` of `nodeId`, whatever its state (to say why it cannot be used). */
export async function findConfigLink(
  exec: Executor,
  nodeId: string,
  tokenHash: string,
): Promise<ConfigLinkRow | undefined> {
  const [row] = await exec
    .select()
    .from(nodeConfigLinks)
    .where(and(eq(nodeConfigLinks.tokenHash, tokenHash), eq(nodeConfigLinks.nodeId, nodeId)));
  return row;
}
