/**
 * Quota enforcement: after usage is collected, each node whose monthly usage newly reached 80 % or
 * 100 % of its quota gets one event per threshold and month (and an audit row); at 100 % it is
 * disabled (reason `quota`) through the mesh's normal path, so its peer leaves the hub at the sync
 * that follows. At the month's turn, nodes disabled for their quota come back.
 */
import { recordAudit } from "../audit/index.js";
import type { MeshCore, NodeEventType } from "../mesh/index.js";
import { setNodeDisabled } from "../mesh/index.js";
import { monthOf } from "../usage/index.js";
import * as repo from "./quota.repo.js";
import type { QuotaThreshold } from "./thresholds.js";
import { newCrossings, QUOTA_LIMIT } from "./thresholds.js";

/** A threshold a node newly reached, as recorded. */
export interface QuotaCrossing {
  nodeId: string;
  threshold: QuotaThreshold;
  usedBytes: number;
  quotaBytes: number;
  /** True when this crossing disabled the node. */
  disabled: boolean;
}

const EVENT_OF: Record<QuotaThreshold, NodeEventType> = {
  80: "node.quota-warning",
  100: "node.quota-exceeded",
};

/** Nodes restored per scheduler tick; the next tick takes the rest. */
const RESTORE_BATCH = 500;

export type QuotaService = ReturnType<typeof createQuotaService>;

export function createQuotaService(core: MeshCore) {
  const { db } = core;

  /** Records one node's new crossings, and disables it at the limit, in one unit of work. */
  async function cross(
    nodeId: string,
    month: string,
    standing: repo.QuotaStanding,
    thresholds: readonly QuotaThreshold[],
  ): Promise<QuotaCrossing[]> {
    return core.commitAndDispatch(`node ${nodeId} quota`, async (tx, effects) => {
      const node = await core.requireNode(tx, nodeId, true);
      const network = await core.requireNetwork(tx, node.networkId);
      const done: QuotaCrossing[] = [];
      for (const threshold of thresholds) {
        const { usedBytes, quotaBytes } = standing;
        if (!(await repo.recordCrossing(tx, { nodeId, month, threshold, usedBytes, quotaBytes }))) continue;
        // An operator's disable stands as it is: the quota does not take it over.
        const disables = threshold === QUOTA_LIMIT && node.status !== "disabled";
        const after = disables ? await setNodeDisabled(core, tx, effects, node, network, "quota") : node;
        const quota = { month, thresholdPercent: threshold, usedBytes, limitBytes: quotaBytes };
        await recordAudit(tx, {
          actor: "system",
          action: EVENT_OF[threshold],
          entityType: "node",
          entityId: nodeId,
          details: { ...quota, disabled: disables },
        });
        await core.emitNodeEvent(
          tx,
          EVENT_OF[threshold],
          after,
          network,
          { quota, disabled: disables },
          "quota",
        );
        done.push({ nodeId, threshold, usedBytes, quotaBytes, disabled: disables });
      }
      return done;
    });
  }

  return {
    /**
     * Compares the network's nodes' usage this month (as collected) with their quotas; records each
     * newly reached threshold once (`node.quota-warning` at 80 %, `node.quota-exceeded` at 100 %,
     * each audited) and disables a node at 100 % (reason `quota`; a sync of the network is queued).
     * Safe to run concurrently and again: a crossing already recorded does nothing. Returns the
     * crossings this call recorded.
     */
    async checkNetwork(networkId: string, now = new Date()): Promise<QuotaCrossing[]> {
      const month = monthOf(now);
      const crossings: QuotaCrossing[] = [];
      for (const standing of await repo.standings(db, networkId, month)) {
        const thresholds = newCrossings(standing.usedBytes, standing.quotaBytes, standing.recorded);
        if (thresholds.length === 0) continue;
        crossings.push(...(await cross(standing.nodeId, month, standing, thresholds)));
      }
      return crossings;
    },

    /**
     * Enables again every node disabled for its quota whose month has turned (no limit reached in
     * the month of `now`), each with an audit row (`node.quota-restored`) and a `node.updated` event;
     * their peers rejoin the hub at the sync that follows. Returns their ids.
     */
    async restoreForNewMonth(now = new Date()): Promise<string[]> {
      const month = monthOf(now);
      const restored: string[] = [];
      for (const { id } of await repo.restorable(db, month, RESTORE_BATCH)) {
        const done = await core.commitAndDispatch(`node ${id} quota restored`, async (tx, effects) => {
          const node = await core.requireNode(tx, id, true);
          // Enabled (or disabled by an operator) since it was listed: nothing to restore.
          if (node.status !== "disabled" || node.disabledReason !== "quota") return false;
          const network = await core.requireNetwork(tx, node.networkId);
          const after = await setNodeDisabled(core, tx, effects, node, network, null);
          await recordAudit(tx, {
            actor: "system",
            action: "node.quota-restored",
            entityType: "node",
            entityId: id,
            details: { month },
          });
          await core.emitNodeEvent(
            tx,
            "node.updated",
            after,
            network,
            { changed: ["status"], reason: "quota month turned" },
            "quota",
          );
          return true;
        });
        if (done) restored.push(id);
      }
      return restored;
    },
  };
}
