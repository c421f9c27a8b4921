import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { emails, events, webhookDeliveries } from "../../../src/db/index.js";
import { emitEvent } from "../../../src/events/index.js";
import type { RelayOptions } from "../../../src/notify/index.js";
import { createRelay } from "../../../src/notify/index.js";
import type { JobQueue } from "../../../src/queue/index.js";
import { jobIds } from "../../../src/queue/index.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

const options: RelayOptions = {
  batchSize: 50,
  sweepGraceMs: 60_000,
  alertRecipients: ["ops@example.com", "oncall@example.com"],
};

describe("the relay", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
    const hook = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: "hook", type: "GENERIC", webhookUrl: "http://127.0.0.1:9/hook", events: ["sync.failed"] },
    });
    expect(hook.status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
  });

  it("queues each new row's job once its transaction committed, and counts the triggers it could not queue", async () => {
    const { db } = t.platform.database;
    const real = t.platform.queue;
    // Events of the set-up relayed first, so the batch below holds only the one event emitted here.
    await createRelay({ db, queue: real, options }).run();

    const asked: { name: string; committed: boolean }[] = [];
    let refused = 0;
    let deliveryId = "";
    const queue: JobQueue = {
      remove: (q, id) => real.remove(q, id),
      state: (q, id) => real.state(q, id),
      runAndWait: (name, payload, opts) => real.runAndWait(name, payload, opts),
      async enqueue(name, payload, opts) {
        const { deliveryId: delivery, outboxId } = payload as { deliveryId?: string; outboxId?: string };
        // Read on the pool, outside the relay's transaction: only a committed row is seen there.
        const rows = delivery
          ? await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery))
          : await db.select().from(emails).where(eq(emails.id, outboxId!));
        asked.push({ name, committed: rows.length === 1 });
        if (name === "send-email") {
          refused++;
          throw new Error("Redis is unavailable");
        }
        // The webhook's trigger settles after both refused ones: a count kept with `+= await` by
        // the two after-commit tasks would keep the later task's view and lose the failures.
        await vi.waitFor(() => expect(refused).toBe(2), { timeout: 10_000, interval: 5 });
        await new Promise((r) => setImmediate(r));
        deliveryId = delivery!;
        return real.enqueue(name, payload, opts);
      },
    };
    const emitted = await db.transaction((tx) =>
      emitEvent(tx, { type: "sync.failed", data: { run: { id: "relay-test" }, error: "boom" } }),
    );

    const result = await createRelay({ db, queue, options }).relayBatch();

    expect(result).toEqual({ events: 1, deliveries: 1, emails: 2, requeued: 0, enqueueFailures: 2 });
    expect(asked.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "deliver-webhook", committed: true },
      { name: "send-email", committed: true },
      { name: "send-email", committed: true },
    ]);
    expect(await real.state("webhook", jobIds.webhook(deliveryId))).toBeDefined();
    // The failed triggers changed nothing committed: the event is relayed, its rows wait for the sweep.
    const [event] = await db.select().from(events).where(eq(events.id, emitted.id));
    expect(event!.relayedAt).toBeInstanceOf(Date);
    const queued = await db.select().from(emails).where(eq(emails.eventId, emitted.id));
    expect(queued.map((e) => e.to).sort()).toEqual(["oncall@example.com", "ops@example.com"]);
  });
});
