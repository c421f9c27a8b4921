import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startScheduler } from "../../workers/scheduler.js";
import { badLogLines, duplicateKeys } from "../support/json-lines.js";
import { captureLogger } from "../support/logs.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";

describe("duplicateKeys (the check the log tests rely on)", () => {
  it.each([
    ['{"a":1,"b":{"a":2}}', []],
    ['{"a":1,"a":2}', ["a"]],
    ['{"x":{"k":"\\"k\\":","k":1,"k":[{"k":1}]}}', ["k", "k"]],
    ['{"a":["a","a"],"s":"a:b"}', []],
  ])("finds in %s: %j", (json, expected) => {
    expect(duplicateKeys(json)).toEqual(expected);
  });
});

describe("scheduler logs", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("sends node-cron's own warnings (a missed run) to our JSON log, never to the console", async () => {
    const consoleCalls = (["log", "info", "warn", "error", "debug"] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => {}),
    );
    const { logger, logs } = captureLogger("info");
    // The every-second task; the every-5-seconds reconcile may report a missed run of its own first.
    const missedStaleRunCheck = (l: Record<string, unknown>) =>
      /missed execution/.test(String(l.msg)) && l.task === "stale-run-check";
    const scheduler = startScheduler({
      sync: t.platform.services.sync,
      liveness: t.platform.services.liveness,
      settings: t.platform.services.settings,
      // As `boot` builds it: the process's logger with its own binding, the scheduler's child under it.
      logger: logger.child({ role: "standalone" }),
      staleRunCheckCron: "* * * * * *",
      nodeOfflineAfterSeconds: 180,
    });
    try {
      // A stall of the event loop (a CPU-bound moment) makes node-cron miss its every-second slots.
      await vi.waitFor(
        () => {
          const until = Date.now() + 2_500;
          while (Date.now() < until) {
            // busy: the stall being simulated
          }
          expect(logs.parsed().some(missedStaleRunCheck)).toBe(true);
        },
        { timeout: 20_000, interval: 100 },
      );
      const missed = logs.parsed().find(missedStaleRunCheck)!;
      expect(missed).toMatchObject({
        level: 40,
        component: "scheduler",
        role: "standalone",
        task: "stale-run-check",
      });
      for (const spy of consoleCalls) expect(spy).not.toHaveBeenCalled();
      expect(badLogLines(logs.lines)).toEqual([]);
    } finally {
      await scheduler.stop();
      for (const spy of consoleCalls) spy.mockRestore();
    }
  });
});
