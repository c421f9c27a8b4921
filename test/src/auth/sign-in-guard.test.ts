import { afterAll, describe, expect, it, vi } from "vitest";
import { createSignInGuard } from "../../../src/auth/index.js";
import { sha256Hex as sha } from "../../../src/crypto/index.js";
import { createRedis } from "../../../src/queue/index.js";
import { TEST_REDIS_URL } from "../../support/env.js";
import { deletePrefix, testPrefix } from "../../support/redis.js";

/** A password check the test finishes when it likes, recording when it started. */
function heldCheck(name: string, started: string[]) {
  let finish!: (failed: boolean) => void;
  const done = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  return {
    check: async () => {
      started.push(name);
      return { failed: await done };
    },
    finish: (failed = true) => finish(failed),
  };
}

const isFailure = (r: { failed: boolean }) => r.failed;

describe("the sign-in guard's hashing gate", () => {
  const prefix = testPrefix();
  const redis = createRedis(TEST_REDIS_URL, "producer");
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it("hashes one at a time here, queues one more, and refuses the next at once", async () => {
    const guard = createSignInGuard({
      redis,
      prefix: `${prefix}-a`,
      limits: { hashConcurrency: 1, maxQueued: 1, sourceConcurrency: 5 },
    });
    const started: string[] = [];
    const [a, b] = [heldCheck("a", started), heldCheck("b", started)];
    const first = guard.attempt({ source: "192.0.2.1", counted: "on-failure" }, a.check, isFailure);
    const second = guard.attempt({ source: "192.0.2.2", counted: "on-failure" }, b.check, isFailure);
    await vi.waitFor(() => expect(started).toEqual(["a"]));
    await expect(
      guard.attempt(
        { source: "192.0.2.3", counted: "on-failure" },
        async () => ({ failed: false }),
        isFailure,
      ),
    ).rejects.toMatchObject({ code: "TOO_MANY_ATTEMPTS", context: { retryAfterSeconds: 1, limit: "busy" } });
    a.finish();
    await first;
    await vi.waitFor(() => expect(started).toEqual(["a", "b"]));
    b.finish();
    await second;
  });

  it("lets an address without failures go ahead of one that keeps failing", async () => {
    const guard = createSignInGuard({
      redis,
      prefix: `${prefix}-b`,
      limits: { hashConcurrency: 1, maxQueued: 5, sourceConcurrency: 5 },
    });
    // 192.0.2.9 has failed before.
    await guard.attempt(
      { source: "192.0.2.9", counted: "on-failure" },
      async () => ({ failed: true }),
      isFailure,
    );
    const started: string[] = [];
    const [busy, guesser, clean] = [
      heldCheck("busy", started),
      heldCheck("guesser", started),
      heldCheck("clean", started),
    ];
    const running = guard.attempt({ source: "192.0.2.8", counted: "on-failure" }, busy.check, isFailure);
    await vi.waitFor(() => expect(started).toEqual(["busy"]));
    const waiting = guard.attempt({ source: "192.0.2.9", counted: "on-failure" }, guesser.check, isFailure);
    const fresh = guard.attempt({ source: "198.51.100.1", counted: "on-failure" }, clean.check, isFailure);
    // Both are in line (their Redis counts are taken) before the slot frees.
    await vi.waitFor(async () =>
      expect(Number(await redis.get(`${prefix}-b:{sign-in}:source:${sha("198.51.100.1")}`))).toBe(1),
    );
    await vi.waitFor(async () =>
      expect(Number(await redis.get(`${prefix}-b:{sign-in}:source:${sha("192.0.2.9")}`))).toBe(2),
    );
    // One more round trip: whatever those counts' replies set going has run by its answer.
    await redis.ping();
    busy.finish();
    await running;
    await vi.waitFor(() => expect(started).toEqual(["busy", "clean"]));
    clean.finish(false);
    await fresh;
    await vi.waitFor(() => expect(started).toEqual(["busy", "clean", "guesser"]));
    guesser.finish();
    await waiting;
  });
});
