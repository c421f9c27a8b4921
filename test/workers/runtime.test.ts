import type { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { QUEUE_NAMES } from "../../src/queue/index.js";
import { startWorkers } from "../../workers/runtime.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";

const OUTBOX_ID = "00000000-0000-4000-8000-000000000001";

describe("worker runtime close()", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("returns at its deadline with forced: true when a job ignores its abort signal", async () => {
    let started = false;
    let aborted = false;
    const never = new Promise<never>(() => {});
    const runtime = startWorkers({
      queues: ["email"],
      processors: {
        email: async (_job: Job, _token, signal) => {
          started = true;
          signal?.addEventListener("abort", () => {
            aborted = true;
          });
          return never;
        },
      },
      connection: t.platform.workerConnection(),
      prefix: t.prefix,
      concurrency: { default: 1 },
      logger: t.platform.logger,
    });
    await t.platform.queue.enqueue("send-email", { outboxId: OUTBOX_ID }, { priority: "default" });
    await vi.waitFor(() => expect(started).toBe(true));

    expect(await runtime.close(300)).toEqual({ forced: true });
    expect(aborted, "the job was asked to stop before the runtime gave up on it").toBe(true);
  });

  it("closes at once, unforced, when nothing is in flight", async () => {
    const runtime = startWorkers({
      queues: QUEUE_NAMES,
      processors: { email: async () => "sent" },
      connection: t.platform.workerConnection(),
      prefix: t.prefix,
      concurrency: { default: 1 },
      logger: t.platform.logger,
    });
    expect([...runtime.workers.keys()]).toEqual(["email"]);
    expect(runtime.isHealthy()).toBe(true);
    expect(await runtime.close()).toEqual({ forced: false });
    expect(runtime.isHealthy()).toBe(false);
  });
});
