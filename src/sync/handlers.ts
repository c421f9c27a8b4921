import type { Logger } from "../logger.js";
import { F } from "../logger.js";
import type { ConfigService } from "../mesh/index.js";
import type { PeerSyncService } from "../peer-sync/index.js";
import { driftCount } from "../peer-sync/index.js";
import type { QuotaService } from "../quota/index.js";
import type { SyncTask, TaskHandlers, TaskResult } from "./tasks.js";

/**
 * What each task of a sync run does, on this worker's interfaces: peers through the peer sync (drift
 * it finds is logged), configs announced to agents, usage collected and held against quotas.
 */
export function syncTaskHandlers(deps: {
  peerSync: PeerSyncService;
  configs: Pick<ConfigService, "pushConfigs">;
  quota: Pick<QuotaService, "checkNetwork">;
  logger: Logger;
  /**
   * Runs a task on another hub host when the network is served there (src/hubs); undefined from it
   * means the task runs here.
   */
  delegate?: (task: SyncTask, run: { id: string; removeUnknown: boolean }) => Promise<TaskResult | undefined>;
}): TaskHandlers {
  const { peerSync, configs } = deps;
  const log = deps.logger.child({ [F.component]: "peer-sync" });
  return {
    async peers(task, run) {
      const elsewhere = await deps.delegate?.(task, run);
      if (elsewhere) return elsewhere;
      const outcome = await peerSync.syncNetwork(task.networkId, {
        removeUnknown: run.removeUnknown,
        reportDrift: true,
      });
      if (driftCount(outcome.drift) > 0) {
        log.warn(
          {
            [F.networkId]: task.networkId,
            [F.syncRunId]: run.id,
            iface: outcome.iface,
            missing: outcome.drift.missing.length,
            unexpected: outcome.drift.unexpected.length,
            mismatched: outcome.drift.mismatched.length,
          },
          "drift detected",
        );
      }
      return { ok: true, note: outcome.note };
    },
    async configs(task) {
      const announced = await configs.pushConfigs(task.networkId);
      return { ok: true, note: `${announced} node config versions announced to agents` };
    },
    async usage(task, run) {
      const elsewhere = await deps.delegate?.(task, run);
      if (elsewhere) return elsewhere;
      const { managed, note } = await peerSync.collectUsage(task.networkId);
      if (!managed) return { ok: true, note };
      const crossings = await deps.quota.checkNetwork(task.networkId);
      if (crossings.length === 0) return { ok: true, note };
      const disabled = crossings.filter((c) => c.disabled).length;
      return {
        ok: true,
        note: `${note}; ${crossings.length} quota thresholds reached${disabled > 0 ? `, ${disabled} nodes disabled` : ""}`,
      };
    },
  };
}
