/**
 * `npm start` on the embedded database: the scheduler claims every tick's periods in PGlite as it
 * would in Postgres, and the relay runs without a lock of its own (there is one process).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TEST_REDIS_URL } from "../support/env.js";
import { deletePrefix, testPrefix } from "../support/redis.js";
import type { SpawnedProcess } from "../support/spawn.js";
import { freePort, spawnEntry } from "../support/spawn.js";

const WAIT = { timeout: 90_000, interval: 250 };
const TICKS = ["stale-run-check", "node-liveness", "retention", "quota-restore", "outbox-relay"] as const;

describe("the scheduler of npm start (embedded database)", () => {
  let dataDir: string;
  const prefix = testPrefix();
  let child: SpawnedProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-embedded-ticks-"));
    child = spawnEntry("apps/standalone/main.ts", {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      DATABASE_URL: undefined,
      API_KEY: undefined,
      JWT_SECRET: undefined,
      ENCRYPTION_KEY: undefined,
      PUBLIC_URL: undefined,
      LOG_LEVEL: "debug",
      STALE_RUN_CHECK_CRON: "* * * * * *",
      NODE_LIVENESS_CRON: "* * * * * *",
      QUOTA_RESTORE_CRON: "* * * * * *",
      RETENTION_CRON: "* * * * * *",
      OUTBOX_RELAY_INTERVAL_MS: "500",
    });
    await child.waitForOutput(/wiresync is running/, 100_000);
  }, 120_000);
  afterAll(async () => {
    await child?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  const lines = () =>
    child.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; tick?: string; slot?: string; level: number });

  it("claims and does each tick's periods, each once, the scheduled reconcile included", {
    timeout: 120_000,
  }, async () => {
    const ran = (tick: string) => lines().filter((l) => l.msg === "tick ran" && l.tick === tick);
    await vi.waitFor(() => {
      for (const tick of TICKS)
        expect(new Set(ran(tick).map((l) => l.slot)).size, tick).toBeGreaterThanOrEqual(3);
      // Automatic sync is on every 5 minutes by default: the slot under way is claimed at start.
      expect(ran("reconcile")).toHaveLength(1);
      expect(lines().some((l) => l.msg === "outbox relay ran")).toBe(true);
    }, WAIT);
    for (const tick of [...TICKS, "reconcile"]) {
      const slots = ran(tick).map((l) => l.slot);
      expect(new Set(slots).size, tick).toBe(slots.length);
    }
    expect(lines().filter((l) => l.level >= 50)).toEqual([]);
    expect(lines().filter((l) => l.msg === "outbox relay busy in another process")).toEqual([]);
    child.child.kill("SIGTERM");
    expect(await child.waitForExit(20_000), child.stderr).toEqual({ code: 0, signal: null });
  });
});
