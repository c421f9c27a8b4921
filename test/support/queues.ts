/** Waiting on wiresync's job queues in tests. */
import { expect, vi } from "vitest";
import type { Platform } from "../../src/platform.js";

/**
 * Resolves once no peer-sync job waits or runs: the syncs that enrollments, adoptions and changes
 * queued have finished. Drift made by hand before that may be repaired by one of them.
 */
export function peerSyncIdle(platform: Platform, wait = { timeout: 45_000, interval: 100 }): Promise<void> {
  return vi.waitFor(async () => {
    const counts = await platform.queue.queues["peer-sync"].getJobCounts(
      "waiting",
      "active",
      "delayed",
      "prioritized",
    );
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  }, wait);
}
