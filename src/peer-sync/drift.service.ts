import type { Principal } from "../auth/index.js";
import { DomainError } from "../errors.js";
import type { NetworkService } from "../mesh/index.js";
import type { JobQueue } from "../queue/index.js";
import type { RunRequested, SyncService } from "../sync/index.js";
import type { DriftCheck } from "./peer-sync.service.js";

const SECOND_MS = 1_000;

export type DriftService = ReturnType<typeof createDriftService>;

/**
 * Drift for the API: the live interface lives on the peer-sync worker's host, so a check is a job
 * the API waits for, and a fix is a sync run that also removes peers the database does not know.
 */
export function createDriftService(deps: {
  queue: JobQueue;
  sync: SyncService;
  networks: NetworkService;
  timeoutMs?: number;
}) {
  const timeoutMs = deps.timeoutMs ?? 10 * SECOND_MS;
  return {
    /**
     * Compares the database with the live interface. Throws NETWORK_NOT_FOUND, INTERFACE_NOT_MANAGED
     * (409: no worker owns an interface for it), HUB_OWNER_ABSENT (503: the hub host that held it
     * stopped renewing its lease and none took over), DEPENDENCY_UNAVAILABLE (503: no worker answered).
     * The check runs on the hub host holding the network, whichever process asks.
     */
    async check(networkId: string): Promise<DriftCheck> {
      const network = await deps.networks.getNetwork(networkId);
      let result: unknown;
      try {
        result = await deps.queue.runAndWait(
          "drift-check",
          { networkId },
          { priority: "critical", timeoutMs },
        );
      } catch (err) {
        // HUB_OWNER_ABSENT: the network's hub host is gone, so there is nobody to ask.
        if (err instanceof DomainError) throw err;
        throw new DomainError(
          "DEPENDENCY_UNAVAILABLE",
          `no peer-sync worker completed the drift check of ${network.name} within ${timeoutMs / SECOND_MS} s (${(err as Error).message})`,
          { cause: err },
        );
      }
      const check = result as DriftCheck;
      if (!check.managed) {
        throw new DomainError(
          "INTERFACE_NOT_MANAGED",
          `no worker manages a WireGuard interface for network ${network.name}; set WG_INTERFACES=${network.name}=<interface> on the hub's peer-sync worker`,
        );
      }
      return check;
    },

    /** Starts a drift-fix run for the network. Throws NETWORK_NOT_FOUND. */
    async fix(networkId: string, principal?: Principal): Promise<RunRequested> {
      await deps.networks.getNetwork(networkId);
      return deps.sync.requestRun(
        { type: "drift-fix", options: { networkId, removeUnknown: true }, priority: "critical" },
        principal,
      );
    },
  };
}
