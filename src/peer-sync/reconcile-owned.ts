/**
 * A worker's start: create or adopt every interface it owns and reconcile each now, so a restart
 * does not wait for the next scheduled reconcile.
 */
import type { InterfaceBinding } from "../config.js";
import type { NetworkService } from "../mesh/index.js";
import type { SyncOptions, SyncOutcome } from "./peer-sync.service.js";

/** One owned interface's result at start: its sync, its error, or `missing` when no network matches. */
export interface OwnedOutcome {
  binding: InterfaceBinding;
  outcome?: SyncOutcome;
  error?: unknown;
  missing?: boolean;
}

/**
 * Creates or adopts every interface this worker owns and reconciles it now (peers, settings,
 * forwarding), one after another; for a worker's start, so a restart does not wait for the next
 * scheduled reconcile. Never throws: each binding's outcome or error is returned.
 */
export async function reconcileOwned(
  deps: { bindings: readonly InterfaceBinding[]; networks: NetworkService },
  syncNetwork: (networkId: string, options: SyncOptions) => Promise<SyncOutcome>,
): Promise<OwnedOutcome[]> {
  const results: OwnedOutcome[] = [];
  for (const binding of deps.bindings) {
    try {
      const network = await deps.networks.findNetwork(binding.network);
      if (!network) {
        results.push({ binding, missing: true });
        continue;
      }
      const outcome = await syncNetwork(network.id, {
        removeUnknown: false,
        reportDrift: false,
        checkSettings: true,
      });
      results.push({ binding, outcome });
    } catch (error) {
      results.push({ binding, error });
    }
  }
  return results;
}
