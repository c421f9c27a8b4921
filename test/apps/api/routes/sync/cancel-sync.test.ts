import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkerRuntime } from "../../../../../workers/runtime.js";
import { json } from "../../../../support/http.js";
import { insertNetworks } from "../../../../support/networks.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";
import { getRun, requestSync, waitForRun } from "../../../../support/sync.js";
import { startTestWorkers } from "../../../../support/workers.js";

/** Enough networks that a full run is still going when the test cancels it. */
const MANY_NETWORKS = 2_000;

describe("cancelling a waiting run (no worker running)", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("marks it CANCELLED and removes its job from the queue", async () => {
    const { sync_log_id, task_id } = await requestSync(t, "full");
    expect(await t.platform.queue.state("peer-sync", task_id)).toBe("prioritized");

    const res = await t.request(`/api/v1/sync/cancel/${sync_log_id}`, { method: "POST" });
    expect(res.status).toBe(200);
    const { data } = await json(res);
    expect(data).toMatchObject({
      id: sync_log_id,
      status: "CANCELLED",
      error: "cancelled before it started",
    });
    expect(data.completedAt).not.toBeNull();
    expect(data.startedAt).toBeNull();
    expect(await t.platform.queue.state("peer-sync", task_id)).toBeUndefined();
  });

  it("a worker started later does not run it", async () => {
    const { sync_log_id } = await requestSync(t, "peers");
    await t.request(`/api/v1/sync/cancel/${sync_log_id}`, { method: "POST" });
    const workers = await startTestWorkers(t.platform);
    try {
      const control = await requestSync(t, "peers");
      await waitForRun(t, control.sync_log_id, "COMPLETED");
      expect((await getRun(t, sync_log_id)).status).toBe("CANCELLED");
    } finally {
      await workers.close();
    }
  });

  it("409 SYNC_RUN_FINISHED when cancelling it again", async () => {
    const { sync_log_id } = await requestSync(t, "usage");
    expect((await t.request(`/api/v1/sync/cancel/${sync_log_id}`, { method: "POST" })).status).toBe(200);
    const res = await t.request(`/api/v1/sync/cancel/${sync_log_id}`, { method: "POST" });
    expect(res.status).toBe(409);
    expect((await json(res)).code).toBe("SYNC_RUN_FINISHED");
  });
});

describe("cancelling a running run", () => {
  let t: TestPlatform;
  let workers: WorkerRuntime;
  let networkIds: string[];
  beforeAll(async () => {
    t = await createTestPlatform();
    networkIds = await insertNetworks(t.platform.database.db, MANY_NETWORKS);
    workers = await startTestWorkers(t.platform);
  });
  afterAll(async () => {
    await workers?.close();
    await t.close();
  });

  const isUnderway = (run: { status: string; itemsSynced: number }) =>
    run.status === "RUNNING" && run.itemsSynced > 0;

  it("stops it at its next checkpoint: CANCELLED with partial counters", async () => {
    const { sync_log_id } = await requestSync(t, "full");
    await waitForRun(t, sync_log_id, "RUNNING", { accept: isUnderway });

    const res = await t.request(`/api/v1/sync/cancel/${sync_log_id}`, { method: "POST" });
    expect(res.status).toBe(200);
    expect((await json(res)).data).toMatchObject({ cancelRequested: true });

    const run = await waitForRun(t, sync_log_id, "CANCELLED");
    expect(run.error).toBe("cancelled while running");
    expect(run.itemsTotal).toBe(MANY_NETWORKS * 3);
    expect(run.itemsSynced).toBeGreaterThan(0);
    expect(run.itemsSynced + run.itemsFailed).toBeLessThan(run.itemsTotal);
    expect(run.completedAt).not.toBeNull();
  });

  it("POST /api/admin/sync/cancel cancels the newest running run", async () => {
    const { sync_log_id } = await requestSync(t, "peers");
    await waitForRun(t, sync_log_id, "RUNNING", { accept: isUnderway });
    const overview = await json(await t.request("/api/admin/sync"));
    expect(overview.data.running?.id).toBe(sync_log_id);

    const res = await t.request("/api/admin/sync/cancel", { method: "POST" });
    expect(res.status).toBe(200);
    expect((await json(res)).data.id).toBe(sync_log_id);
    await waitForRun(t, sync_log_id, "CANCELLED");
  });

  it("409 SYNC_RUN_FINISHED for a run that COMPLETED, which stays COMPLETED", async () => {
    const { sync_log_id } = await requestSync(t, "peers", { network_id: networkIds[0] });
    await waitForRun(t, sync_log_id, "COMPLETED");
    const res = await t.request(`/api/v1/sync/cancel/${sync_log_id}`, { method: "POST" });
    expect(res.status).toBe(409);
    expect((await json(res)).code).toBe("SYNC_RUN_FINISHED");
    expect((await getRun(t, sync_log_id)).status).toBe("COMPLETED");
  });
});
