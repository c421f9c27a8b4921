import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { WorkerRuntime } from "../../../../../workers/runtime.js";
import { json } from "../../../../support/http.js";
import { insertNetworks } from "../../../../support/networks.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";
import { getRun, requestSync, waitForRun } from "../../../../support/sync.js";
import { startTestWorkers } from "../../../../support/workers.js";

const NETWORKS = 3;

describe("sync runs through a real worker", () => {
  let t: TestPlatform;
  let workers: WorkerRuntime;
  let networkIds: string[];

  beforeAll(async () => {
    t = await createTestPlatform();
    networkIds = await insertNetworks(t.platform.database.db, NETWORKS);
    workers = await startTestWorkers(t.platform);
  });
  afterAll(async () => {
    await workers?.close();
    await t.close();
  });

  it("POST /api/v1/sync/full answers 202 PENDING and the run reaches COMPLETED with counters", async () => {
    const res = await t.request("/api/v1/sync/full", { method: "POST" });
    expect(res.status).toBe(202);
    const body = await json(res);
    expect(body).toEqual({
      success: true,
      data: { sync_log_id: expect.any(String), task_id: expect.any(String), status: "PENDING" },
      message: expect.stringContaining(`/api/v1/sync/status/${body.data.sync_log_id}`),
    });
    expect(body.data.task_id).toBe(`run-${body.data.sync_log_id}`);

    const run = await waitForRun(t, body.data.sync_log_id, "COMPLETED");
    expect(run).toMatchObject({
      id: body.data.sync_log_id,
      type: "full",
      itemsTotal: NETWORKS * 3,
      itemsSynced: NETWORKS * 3,
      itemsFailed: 0,
      error: null,
      requestedBy: "api-key:bootstrap",
      taskId: body.data.task_id,
      cancelRequested: false,
    });
    expect(Date.parse(run.startedAt)).toBeLessThanOrEqual(Date.parse(run.completedAt));
    expect(Date.parse(run.createdAt)).toBeLessThanOrEqual(Date.parse(run.startedAt));
    expect(run.items).toHaveLength(NETWORKS * 3);
    expect(new Set(run.items.map((i: { kind: string }) => i.kind))).toEqual(
      new Set(["peers", "configs", "usage"]),
    );
    expect(run.items.every((i: { ok: boolean }) => i.ok)).toBe(true);
  });

  it("GET /api/v1/sync/status/:id has the documented shape", async () => {
    const { sync_log_id } = await requestSync(t, "full", { requested_by: "alice", skip_usage: true });
    const run = await waitForRun(t, sync_log_id, "COMPLETED");
    for (const field of [
      "id",
      "type",
      "status",
      "itemsTotal",
      "itemsSynced",
      "itemsFailed",
      "error",
      "startedAt",
      "completedAt",
      "requestedBy",
    ]) {
      expect(run, field).toHaveProperty(field);
    }
    expect(run).toMatchObject({
      requestedBy: "alice",
      itemsTotal: NETWORKS * 2,
      options: { skipUsage: true },
    });
  });

  it.each(["peers", "configs", "usage"])(
    "POST /api/v1/sync/%s runs one kind of task per network",
    async (type) => {
      const { sync_log_id } = await requestSync(t, type);
      const run = await waitForRun(t, sync_log_id, "COMPLETED");
      expect(run).toMatchObject({ type, itemsTotal: NETWORKS, itemsSynced: NETWORKS, itemsFailed: 0 });
      expect(run.items.every((i: { kind: string }) => i.kind === type)).toBe(true);
    },
  );

  it("a partial sync can be limited to one network", async () => {
    const { sync_log_id } = await requestSync(t, "peers", { network_id: networkIds[1] });
    const run = await waitForRun(t, sync_log_id, "COMPLETED");
    expect(run).toMatchObject({ itemsTotal: 1, itemsSynced: 1, options: { networkId: networkIds[1] } });
    expect(run.items[0].id).toBe(networkIds[1]);
  });

  it("the admin forms start a full sync and show the recent runs", async () => {
    const res = await t.request("/api/admin/sync", { method: "POST", body: { requested_by: "admin-form" } });
    expect(res.status).toBe(202);
    const { data } = await json(res);
    expect(data.status).toBe("PENDING");
    await waitForRun(t, data.sync_log_id, "COMPLETED");
    const overview = await json(await t.request("/api/admin/sync"));
    expect(overview.data.running).toBeNull();
    expect(overview.data.recent[0]).toMatchObject({
      id: data.sync_log_id,
      requestedBy: "admin-form",
      type: "full",
    });
  });

  it("a duplicate trigger of a finished run changes nothing", async () => {
    const { sync_log_id, task_id } = await requestSync(t, "usage");
    const before = await waitForRun(t, sync_log_id, "COMPLETED");
    // The run is finished in Postgres a moment before its job is in BullMQ: only then can it be removed.
    await vi.waitFor(async () =>
      expect(await t.platform.queue.state("peer-sync", task_id)).toBe("completed"),
    );
    expect(await t.platform.queue.remove("peer-sync", task_id)).toBe(true);
    await t.platform.queue.enqueue(
      "sync-run",
      { syncRunId: sync_log_id },
      { priority: "default", jobId: task_id },
    );
    await vi.waitFor(async () => {
      const job = await t.platform.queue.queues["peer-sync"].getJob(task_id);
      expect(await job?.getState()).toBe("completed");
      expect(job?.returnvalue).toEqual({ status: "skipped" });
    });
    expect(await getRun(t, sync_log_id)).toEqual(before);
  });
});

describe("sync logs", () => {
  let t: TestPlatform;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await createTestPlatform();
    // No worker: the runs stay PENDING, which is all paging needs.
    for (const type of ["full", "peers", "full", "usage", "configs", "full"])
      ids.push((await requestSync(t, type)).sync_log_id);
  });
  afterAll(async () => {
    await t.close();
  });

  const page = async (query: string) => (await json(await t.request(`/api/v1/sync/logs${query}`))).data;

  it("pages newest first with limit, offset and total", async () => {
    const newestFirst = [...ids].reverse();
    const first = await page("?limit=4");
    expect(first).toMatchObject({ total: 6, limit: 4, offset: 0 });
    expect(first.items.map((r: { id: string }) => r.id)).toEqual(newestFirst.slice(0, 4));
    const second = await page("?limit=4&offset=4");
    expect(second.items.map((r: { id: string }) => r.id)).toEqual(newestFirst.slice(4));
    expect((await page("?offset=10")).items).toEqual([]);
    expect((await page("")).limit).toBe(50);
  });

  it("filters by type, with the total of that type", async () => {
    const full = await page("?type=full&limit=2");
    expect(full.total).toBe(3);
    expect(full.items).toHaveLength(2);
    expect(full.items.every((r: { type: string }) => r.type === "full")).toBe(true);
    expect(full.items.map((r: { id: string }) => r.id)).toEqual([ids[5], ids[2]]);
    expect((await page("?type=drift-fix")).total).toBe(0);
  });
});
