import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncRuns } from "../../../src/db/index.js";
import { insertNetworks } from "../../support/networks.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { deletePrefix } from "../../support/redis.js";
import { getRun, requestSync, waitForRun } from "../../support/sync.js";
import { startTestWorkers } from "../../support/workers.js";

const MINUTE_MS = 60_000;
const later = (ms: number) => new Date(Date.now() + ms);

describe("the stale-run check (sync.checkStaleRuns)", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
    await insertNetworks(t.platform.database.db, 2);
  });
  afterAll(async () => {
    await t.close();
  });

  it("fails a RUNNING run whose job is gone, once it has made no progress for a while", async () => {
    const { sync_log_id, task_id } = await requestSync(t, "full");
    // What a worker that died mid-run leaves behind once Redis lost the job: RUNNING and no job.
    await t.platform.database.db
      .update(syncRuns)
      .set({ status: "RUNNING", startedAt: new Date() })
      .where(eq(syncRuns.id, sync_log_id));
    expect(await t.platform.queue.remove("peer-sync", task_id)).toBe(true);

    const early = await t.platform.services.sync.checkStaleRuns(later(MINUTE_MS / 2));
    expect(early.failed).not.toContain(sync_log_id);
    expect((await getRun(t, sync_log_id)).status).toBe("RUNNING");

    const result = await t.platform.services.sync.checkStaleRuns(later(2 * MINUTE_MS));
    expect(result).toEqual({ requeued: [], failed: [sync_log_id] });
    const run = await getRun(t, sync_log_id);
    expect(run.status).toBe("FAILED");
    expect(run.error).toContain("lost");
    expect(run.completedAt).not.toBeNull();
  });

  it("leaves alone a run whose job is still queued", async () => {
    const { sync_log_id } = await requestSync(t, "peers");
    const result = await t.platform.services.sync.checkStaleRuns(later(10 * MINUTE_MS));
    expect(result.requeued).not.toContain(sync_log_id);
    expect(result.failed).not.toContain(sync_log_id);
    expect((await getRun(t, sync_log_id)).status).toBe("PENDING");
    await t.request(`/api/v1/sync/cancel/${sync_log_id}`, { method: "POST" });
  });

  it("re-queues a PENDING run whose job was deleted from Redis, and it then completes", async () => {
    const { sync_log_id, task_id } = await requestSync(t, "full");
    // Flush this test's Redis keys: the trigger is lost, the run in Postgres is not.
    await deletePrefix(t.prefix);
    expect(await t.platform.queue.state("peer-sync", task_id)).toBeUndefined();

    const fresh = await t.platform.services.sync.checkStaleRuns();
    expect(fresh.requeued, "a run younger than the grace period is left to its job").toEqual([]);

    const result = await t.platform.services.sync.checkStaleRuns(later(MINUTE_MS));
    expect(result.requeued).toEqual([sync_log_id]);
    expect(await t.platform.queue.state("peer-sync", task_id)).toBeDefined();

    const workers = await startTestWorkers(t.platform);
    try {
      const run = await waitForRun(t, sync_log_id, "COMPLETED");
      expect(run).toMatchObject({ itemsTotal: 6, itemsSynced: 6, itemsFailed: 0 });
    } finally {
      await workers.close();
    }
  });
});
