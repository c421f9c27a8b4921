import { afterAll, describe, expect, it, vi } from "vitest";
import { redisStreamSlots } from "../../../src/mesh/index.js";
import { createRedis } from "../../../src/queue/index.js";
import { TEST_REDIS_URL } from "../../support/env.js";
import { deletePrefix, testPrefix } from "../../support/redis.js";

describe("redisStreamSlots", () => {
  const prefix = testPrefix();
  const redis = createRedis(TEST_REDIS_URL, "producer");
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it("holds `max` leases per node, shared by every process on the prefix, and frees a released one", async () => {
    const [a, b] = [redisStreamSlots(redis, prefix, 3), redisStreamSlots(redis, prefix, 3)];
    const held = [await a.acquire("n1"), await b.acquire("n1"), await a.acquire("n1")];
    await expect(b.acquire("n1")).rejects.toMatchObject({
      code: "TOO_MANY_STREAMS",
      context: { nodeId: "n1", max: 3, retryAfterSeconds: 30 },
    });
    // Another node has its own count.
    const other = await b.acquire("n2");
    await held[1]!.release();
    await held[1]!.release();
    held[1] = await a.acquire("n1");
    await expect(a.acquire("n1")).rejects.toMatchObject({ code: "TOO_MANY_STREAMS" });
    for (const lease of [...held, other]) await lease.release();
    expect(await redis.zcard(`${prefix}:config-streams:n1`)).toBe(0);
  });

  it("gives back the slots of a process that died holding them once their leases lapse; renewed ones stay", async () => {
    const slots = redisStreamSlots(redis, prefix, 2, 1_500);
    const renewed = await slots.acquire("n3");
    await slots.acquire("n3"); // never renewed nor released: its process "died"
    await expect(slots.acquire("n3")).rejects.toMatchObject({ code: "TOO_MANY_STREAMS" });
    await vi.waitFor(
      async () => {
        await renewed.renew();
        const again = await slots.acquire("n3");
        await again.release();
      },
      { timeout: 10_000, interval: 200 },
    );
    // The renewed lease still counts: one more fits, two do not.
    const one = await slots.acquire("n3");
    await expect(slots.acquire("n3")).rejects.toMatchObject({ code: "TOO_MANY_STREAMS" });
    await Promise.all([one.release(), renewed.release()]);
  });
});
