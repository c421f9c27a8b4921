import { describe, expect, it } from "vitest";
import { createProgressMonitor, HealthCheckError } from "../../../src/health/index.js";

describe("progress monitor", () => {
  it("reports an activity as stuck only once it has run longer than the bound", () => {
    let now = 1_000;
    const monitor = createProgressMonitor(500, () => now);
    const end = monitor.begin("webhook job");
    now += 500;
    expect(monitor.stuck()).toEqual([]);
    now += 1;
    expect(monitor.stuck()).toEqual([{ activity: "webhook job", runningMs: 501 }]);
    end();
    expect(monitor.stuck()).toEqual([]);
  });

  it("lists stuck activities longest-running first and ignores finished ones", () => {
    let now = 0;
    const monitor = createProgressMonitor(100, () => now);
    const endRelay = monitor.begin("outbox-relay tick");
    now = 50;
    monitor.begin("webhook job");
    const endQuick = monitor.begin("webhook job");
    endQuick();
    now = 400;
    expect(monitor.stuck()).toEqual([
      { activity: "outbox-relay tick", runningMs: 400 },
      { activity: "webhook job", runningMs: 350 },
    ]);
    endRelay();
    endRelay(); // a second call changes nothing
    expect(monitor.stuck()).toEqual([{ activity: "webhook job", runningMs: 350 }]);
  });

  it("fails its readiness check with a safe message while something is stuck, and passes after", async () => {
    let now = 0;
    const monitor = createProgressMonitor(1_000, () => now);
    await expect(monitor.check()).resolves.toBeUndefined();
    const end = monitor.begin("reconcile tick");
    monitor.begin("reconcile tick");
    now = 1_001;
    const failure = await monitor.check().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(HealthCheckError);
    expect((failure as Error).message).toBe("no progress: 2 running longer than 1000 ms (reconcile tick)");
    end();
    now = 1_002;
    await expect(monitor.check()).rejects.toThrow("no progress: 1 running");
  });
});
