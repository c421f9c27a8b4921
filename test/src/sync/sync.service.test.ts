import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskHandler, TaskHandlers } from "../../../src/sync/index.js";
import { syncTaskHandlers } from "../../../src/sync/index.js";
import { insertNetworks } from "../../support/networks.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

/** More networks than a run keeps item lines for (MAX_ITEM_LINES = 500). */
const NETWORKS = 520;

describe("sync.executeRun", () => {
  let t: TestPlatform;
  let real: TaskHandlers;
  beforeAll(async () => {
    t = await createTestPlatform();
    await insertNetworks(t.platform.database.db, NETWORKS);
    const { peerSync, configs, quota } = t.platform.services;
    real = syncTaskHandlers({ peerSync, configs, quota, logger: t.platform.logger });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Task handlers are the service's port to the data plane: these fail for chosen networks. */
  function failingFor(names: readonly string[]): TaskHandlers {
    const peers: TaskHandler = async (task, run) =>
      names.includes(task.networkName)
        ? { ok: false, note: "interface refused the peers" }
        : real.peers(task, run);
    return { ...real, peers };
  }

  async function newRun() {
    const { run } = await t.platform.services.sync.requestRun({ type: "peers" });
    await t.platform.queue.remove("peer-sync", run.jobId!);
    return run.id;
  }

  it("COMPLETES a run whose every task succeeded, counting them all", async () => {
    const done = await t.platform.services.sync.executeRun(await newRun(), real);
    expect(done).toMatchObject({
      status: "COMPLETED",
      itemsTotal: NETWORKS,
      itemsSynced: NETWORKS,
      itemsFailed: 0,
    });
    expect(done?.items).toHaveLength(500);
  });

  it("FAILS a run with a failed task, naming the first failure", async () => {
    const done = await t.platform.services.sync.executeRun(
      await newRun(),
      failingFor(["net-00003", "net-00007"]),
    );
    expect(done).toMatchObject({ status: "FAILED", itemsSynced: NETWORKS - 2, itemsFailed: 2 });
    expect(done?.error).toBe("2 of 520 tasks failed; first: peers net-00003: interface refused the peers");
  });

  it("FAILS a run whose only failure comes after the last kept item line", async () => {
    const done = await t.platform.services.sync.executeRun(await newRun(), failingFor(["net-00510"]));
    expect(done).toMatchObject({ status: "FAILED", itemsSynced: NETWORKS - 1, itemsFailed: 1 });
    expect(done?.error).toBe("1 of 520 tasks failed; first: peers net-00510: interface refused the peers");
  });

  it("records a handler that throws as a failed task, not a failed job", async () => {
    const throwing: TaskHandlers = {
      ...real,
      peers: async (task, run) => {
        if (task.networkName === "net-00001") throw new Error("socket closed");
        return real.peers(task, run);
      },
    };
    const done = await t.platform.services.sync.executeRun(await newRun(), throwing);
    expect(done).toMatchObject({ status: "FAILED", itemsFailed: 1 });
    expect(done?.error).toContain("net-00001: failed: socket closed");
  });

  it("returns undefined for a run that already finished (a duplicate job)", async () => {
    const id = await newRun();
    await t.platform.services.sync.cancelRun(id);
    expect(await t.platform.services.sync.executeRun(id, real)).toBeUndefined();
  });
});
