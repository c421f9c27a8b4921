import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_REDIS_URL } from "../support/env.js";
import { insertNetworks } from "../support/networks.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { SpawnedProcess } from "../support/spawn.js";
import { spawnEntry } from "../support/spawn.js";
import { getRun, requestSync, waitForRun } from "../support/sync.js";
import { startTestWorkers } from "../support/workers.js";

/** Enough work that a peers run is still going when the worker is told to stop. */
const MANY_NETWORKS = 1_000;

describe("workers/main.ts", () => {
  let t: TestPlatform;
  let dataDir: string;
  const children: SpawnedProcess[] = [];

  beforeAll(async () => {
    t = await createTestPlatform();
    await insertNetworks(t.platform.database.db, MANY_NETWORKS, "net", t.platform.secrets);
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-worker-"));
  });
  afterAll(async () => {
    for (const child of children) await child.stop();
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function startWorkerProcess() {
    const child = spawnEntry("workers/main.ts", {
      DATABASE_URL: t.db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: t.prefix,
      API_KEY: t.adminKey,
      JWT_SECRET: t.jwtSecret,
      ENCRYPTION_KEY: t.encryptionKey.toString("hex"),
      DATA_DIR: dataDir,
      SCHEDULER_ENABLED: "false",
      // All of it for handing back: the run is stopped at its next checkpoint rather than awaited.
      WORKER_SHUTDOWN_TIMEOUT_MS: "2000",
    });
    children.push(child);
    return child;
  }

  it("on SIGTERM hands a running sync run back to the queue, exits 0, and the next worker finishes it", async () => {
    const worker = startWorkerProcess();
    await worker.waitForOutput(/"msg":"workers started"/);

    const { sync_log_id, task_id } = await requestSync(t, "peers");
    await waitForRun(t, sync_log_id, "RUNNING", {
      accept: (run) => run.status === "RUNNING" && run.itemsSynced > 0,
    });
    worker.child.kill("SIGTERM");
    const exit = await worker.waitForExit(15_000);
    expect(exit, worker.stderr).toEqual({ code: 0, signal: null });
    expect(worker.stdout).toContain('"msg":"workers stopped"');

    const peerSync = t.platform.queue.queues["peer-sync"];
    expect(await peerSync.getActiveCount(), "no job may be left locked by the dead worker").toBe(0);
    // Handed back at its next checkpoint: the job waits for the next worker (no 30 s lock expiry, no
    // stall), and the run says nobody works on it.
    expect(["waiting", "prioritized"]).toContain(await t.platform.queue.state("peer-sync", task_id));
    const handedBack = await getRun(t, sync_log_id);
    expect(handedBack.status).toBe("PENDING");
    expect(handedBack.itemsSynced).toBeGreaterThan(0);
    expect(await t.platform.services.sync.checkStaleRuns(new Date(Date.now() + 10 * 60_000))).toEqual({
      requeued: [],
      failed: [],
    });

    const workers = await startTestWorkers(t.platform);
    try {
      await waitForRun(t, sync_log_id, "COMPLETED", { timeoutMs: 60_000 });
    } finally {
      await workers.close();
    }
    const done = await getRun(t, sync_log_id);
    expect(done).toMatchObject({ itemsTotal: MANY_NETWORKS, itemsSynced: MANY_NETWORKS, itemsFailed: 0 });
    expect(worker.stdout).toContain('"forced":false');
  });
});
