import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { emitEvent } from "../../src/events/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import type { Scheduler } from "../../workers/scheduler.js";
import { startScheduler } from "../../workers/scheduler.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { StandIn } from "../support/stand-ins.js";
import { startStandIn } from "../support/stand-ins.js";
import { startNotifyWorkers } from "../support/workers.js";

describe("the scheduler's relay loop", () => {
  let t: TestPlatform;
  let receiver: StandIn;
  let workers: WorkerRuntime;
  let scheduler: Scheduler;

  beforeAll(async () => {
    t = await createTestPlatform();
    receiver = await startStandIn();
    workers = startNotifyWorkers(t.platform);
    scheduler = startScheduler({
      sync: t.platform.services.sync,
      liveness: t.platform.services.liveness,
      settings: t.platform.services.settings,
      logger: t.platform.logger,
      staleRunCheckCron: "0 0 1 1 *",
      nodeOfflineAfterSeconds: 180,
      timers: false,
      // A timer far away: only the commit's NOTIFY can make this relay run in time.
      relay: {
        relay: t.platform.services.relay,
        intervalMs: 60 * 60_000,
        listen: (channel, onNotify) => t.platform.database.listen(channel, onNotify),
      },
    });
  });
  afterAll(async () => {
    await scheduler.stop();
    await workers.close(1_000);
    await receiver.close();
    await t.close();
  });

  it("relays an event as soon as its transaction commits (LISTEN/NOTIFY), not on the next tick", async () => {
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: "n", type: "GENERIC", webhookUrl: `${receiver.url}/n`, events: ["node.online"] },
    });
    expect(res.status).toBe(201);
    // Let the LISTEN connection settle before the event that must wake it.
    await vi.waitFor(async () => {
      await scheduler.kickRelay();
      expect(receiver.received).toHaveLength(0);
    });
    const started = performance.now();
    await t.platform.database.db.transaction((tx) =>
      emitEvent(tx, { type: "node.online", data: { node: { id: "n1", name: "edge" } } }),
    );
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), { timeout: 5_000, interval: 10 });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
