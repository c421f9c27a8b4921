/**
 * One slow receiver must delay only itself: with a receiver that holds every answer (slow or dead)
 * and another that answers at once, the fast one's deliveries all complete while the slow one's are
 * still pending, and the slow one never has more than `maxInFlight` requests open. Condition-based:
 * the slow receiver answers nothing until the test lets it, and the webhook timeout is long enough
 * that no attempt of it ends by itself meanwhile.
 */
import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { webhookDeliveries } from "../../src/db/index.js";
import { emitEvent } from "../../src/events/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { StandIn } from "../support/stand-ins.js";
import { startStandIn } from "../support/stand-ins.js";
import { startNotifyWorkers } from "../support/workers.js";

const EVENTS = 12;
const MAX_IN_FLIGHT = 2;
const CONCURRENCY = 4;

describe("a slow webhook receiver", () => {
  let t: TestPlatform;
  let workers: WorkerRuntime;
  let slow: StandIn;
  let fast: StandIn;
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });

  beforeAll(async () => {
    slow = await startStandIn(() => ({ status: 204, hold: held }));
    fast = await startStandIn();
    t = await createTestPlatform({
      notify: { webhooks: { timeoutMs: 60_000, maxInFlight: MAX_IN_FLIGHT } },
    });
    workers = startNotifyWorkers(t.platform, ["webhook"], CONCURRENCY);
  });
  afterAll(async () => {
    release();
    await workers.close(1_000);
    await t.close();
    await Promise.all([slow.close(), fast.close()]);
  });

  async function createHook(name: string, url: string) {
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name, type: "GENERIC", webhookUrl: `${url}/hook`, events: ["node.offline"] },
    });
    expect(res.status).toBe(201);
    return (await json(res)).data.id as string;
  }

  async function deliveries(webhookId: string, status: "pending" | "delivered") {
    const [row] = await t.platform.database.db
      .select({ n: count() })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.status, status)));
    return row!.n;
  }

  it("delivers every event to the fast receiver while the slow one's are still pending", async () => {
    // Created first, so its deliveries come first in every batch and queue ahead of the fast one's.
    const slowId = await createHook("slow", slow.url);
    const fastId = await createHook("fast", fast.url);
    await t.platform.database.db.transaction(async (tx) => {
      for (let i = 0; i < EVENTS; i++)
        await emitEvent(tx, { type: "node.offline", data: { node: { id: `n${i}`, name: `node-${i}` } } });
    });
    await t.platform.services.relay.run();

    await vi.waitFor(async () => expect(await deliveries(fastId, "delivered")).toBe(EVENTS), {
      timeout: 30_000,
      interval: 100,
    });
    expect(fast.received).toHaveLength(EVENTS);
    expect(await deliveries(slowId, "pending")).toBe(EVENTS);
    // The slow receiver holds exactly its bound of requests; the rest wait without a worker slot.
    await vi.waitFor(() => expect(slow.received).toHaveLength(MAX_IN_FLIGHT), { timeout: 10_000 });

    release();
    await vi.waitFor(async () => expect(await deliveries(slowId, "delivered")).toBe(EVENTS), {
      timeout: 60_000,
      interval: 100,
    });
    // Each delivery reached the slow receiver once: stepping aside is not an attempt.
    const ids = slow.received.map((r) => String(r.headers["x-wiresync-delivery"]));
    expect(new Set(ids).size).toBe(EVENTS);
    expect(ids).toHaveLength(EVENTS);
  }, 120_000);
});
