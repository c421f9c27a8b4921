import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RedisHandle } from "../../../src/queue/index.js";
import { ensureRedis, redisAnswers } from "../../../src/queue/index.js";
import { TEST_REDIS_URL } from "../../support/env.js";
import { freePort } from "../../support/spawn.js";

const hasRedisServer =
  (await import("node:child_process")).spawnSync("sh", ["-c", "command -v redis-server"]).status === 0;

describe("ensureRedis", () => {
  let dataDir: string;
  const handles: RedisHandle[] = [];
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-redis-"));
  });
  afterAll(async () => {
    for (const handle of handles) await handle.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("uses the Redis at REDIS_URL when it answers, and starts nothing", async () => {
    const handle = await ensureRedis(TEST_REDIS_URL, dataDir);
    expect(handle.url).toBe(TEST_REDIS_URL);
    expect(handle.child).toBeUndefined();
  });

  describe.skipIf(!hasRedisServer)("with redis-server on the PATH and nothing at REDIS_URL", () => {
    it("starts a private one that stop() ends", async () => {
      const handle = await ensureRedis(`redis://127.0.0.1:${await freePort()}`, dataDir);
      handles.push(handle);
      expect(handle.child?.pid).toBeGreaterThan(0);
      expect(await redisAnswers(handle.url)).toBe(true);
      await handle.stop();
      expect(handle.child?.exitCode ?? handle.child?.signalCode).not.toBeNull();
      expect(await redisAnswers(handle.url)).toBe(false);
    });

    it("first ends a private one left running on the same data directory (a killed wiresync's)", async () => {
      const closed = `redis://127.0.0.1:${await freePort()}`;
      const orphan = await ensureRedis(closed, dataDir);
      handles.push(orphan);
      expect(orphan.child?.pid).toBeGreaterThan(0);
      const fresh = await ensureRedis(closed, dataDir);
      handles.push(fresh);
      await vi.waitFor(() => expect(orphan.child?.exitCode ?? orphan.child?.signalCode).not.toBeNull());
      expect(await redisAnswers(orphan.url)).toBe(false);
      expect(await redisAnswers(fresh.url)).toBe(true);
    });
  });
});
