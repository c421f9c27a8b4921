/**
 * SIGKILL of a worker process with webhook deliveries in flight: the receiver has every request of
 * the worker's full slots and answers none of them before the kill. Another worker process then
 * delivers everything: every event arrives at least once, and the only duplicates are the requests
 * in flight at the kill, each sent again exactly once with the same `X-Wiresync-Delivery` id (and
 * `delivery_id` in the body), so a receiver that de-duplicates on it sees each event once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { webhookDeliveries } from "../../src/db/index.js";
import { emitEvent } from "../../src/events/index.js";
import { DELIVERY_HEADER } from "../../src/notify/index.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { StandIn } from "../support/stand-ins.js";
import { startStandIn } from "../support/stand-ins.js";
import type { WorkerChild } from "../support/worker-process.js";
import { bundleWorkerEntry, startWorkerChild, workerChildEnv } from "../support/worker-process.js";

const EVENTS = 30;
/** Webhook jobs the first worker runs at once, all of them held by the receiver at the kill. */
const SLOTS = 8;

describe("SIGKILL of a worker with webhook deliveries in flight", () => {
  let t: TestPlatform;
  let receiver: StandIn;
  let entry: string;
  let dataDir: string;
  const children: WorkerChild[] = [];
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });

  beforeAll(async () => {
    entry = bundleWorkerEntry();
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-webhook-kill-"));
    receiver = await startStandIn(() => ({ status: 204, hold: held }));
    t = await createTestPlatform();
  });
  afterAll(async () => {
    release();
    for (const c of children) c.process.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    await t.close();
    await receiver.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(entry, { force: true });
  });

  it("delivers every event at least once; duplicates carry the same delivery id", async () => {
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: "ops", type: "GENERIC", webhookUrl: `${receiver.url}/hook`, events: ["node.offline"] },
    });
    expect(res.status).toBe(201);
    await t.platform.database.db.transaction(async (tx) => {
      for (let i = 0; i < EVENTS; i++)
        await emitEvent(tx, { type: "node.offline", data: { node: { id: `n${i}`, name: `node-${i}` } } });
    });
    const env = workerChildEnv(t, dataDir, {
      WORKER_QUEUES: "webhook",
      WEBHOOK_CONCURRENCY: String(SLOTS),
      WEBHOOK_MAX_IN_FLIGHT: String(SLOTS),
      WORKER_LOCK_DURATION_MS: "2000",
      SCHEDULER_ENABLED: "true",
      OUTBOX_RELAY_INTERVAL_MS: "300",
      OUTBOX_SWEEP_GRACE_MS: "1000",
      WEBHOOK_TIMEOUT_MS: "3000",
      NOTIFY_BACKOFF_BASE_MS: "100",
      NOTIFY_BACKOFF_MAX_MS: "1000",
    });

    const first = startWorkerChild(entry, env);
    children.push(first);
    await vi.waitFor(() => expect(receiver.received).toHaveLength(SLOTS), { timeout: 60_000, interval: 20 });
    first.process.kill("SIGKILL");
    await first.exited;
    const inFlightAtKill = new Set(receiver.received.map((r) => String(r.headers["x-wiresync-delivery"])));
    expect(inFlightAtKill.size).toBe(SLOTS);
    receiver.reply(() => ({ status: 204 }));
    release();

    children.push(startWorkerChild(entry, env));
    const { db } = t.platform.database;
    await vi.waitFor(
      async () => {
        const rows = await db.select({ status: webhookDeliveries.status }).from(webhookDeliveries);
        expect(rows.filter((r) => r.status === "delivered")).toHaveLength(EVENTS);
      },
      { timeout: 120_000, interval: 250 },
    );

    const deliveries = await db
      .select({ id: webhookDeliveries.id, eventId: webhookDeliveries.eventId })
      .from(webhookDeliveries);
    expect(deliveries).toHaveLength(EVENTS);
    const eventOf = new Map(deliveries.map((d) => [d.id, d.eventId]));
    const sends = new Map<string, number>();
    for (const r of receiver.received) {
      const id = String(r.headers[DELIVERY_HEADER.toLowerCase()]);
      const body = JSON.parse(r.body) as { id: string; delivery_id: string };
      // The header, the body and the database agree on which delivery of which event this is.
      expect(body.delivery_id).toBe(id);
      expect(eventOf.get(id)).toBe(body.id);
      sends.set(id, (sends.get(id) ?? 0) + 1);
    }
    expect(sends.size).toBe(EVENTS);
    const duplicated = [...sends].filter(([, n]) => n > 1);
    expect(new Set(duplicated.map(([id]) => id))).toEqual(inFlightAtKill);
    expect(duplicated.every(([, n]) => n === 2)).toBe(true);
    expect(receiver.received).toHaveLength(EVENTS + SLOTS);
  }, 240_000);
});
