import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { count, eq } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { emails, webhookDeliveries } from "../../src/db/index.js";
import { emitEvent } from "../../src/events/index.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../src/notify/index.js";
import type { RedisHandle } from "../../src/queue/index.js";
import { ensureRedis } from "../../src/queue/index.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { ResendStandIn, StandIn } from "../support/stand-ins.js";
import { startResendStandIn, startStandIn } from "../support/stand-ins.js";
import type { WorkerChild } from "../support/worker-process.js";
import { bundleWorkerEntry, startWorkerChild, workerChildEnv } from "../support/worker-process.js";
import { startNotifyWorkers } from "../support/workers.js";

const RESEND_KEY = `re_fault_${randomUUID().replaceAll("-", "")}`;

/** Emits `n` node.offline events (each causes one webhook delivery and one email), 50 per transaction. */
async function emitOffline(t: TestPlatform, n: number, tag: string): Promise<void> {
  const { db } = t.platform.database;
  for (let start = 0; start < n; start += 50) {
    await db.transaction(async (tx) => {
      for (let i = start; i < Math.min(n, start + 50); i++) {
        await emitEvent(tx, {
          type: "node.offline",
          data: { node: { id: randomUUID(), name: `${tag}-${i}`, email: `owner-${tag}-${i}@example.com` } },
        });
      }
    });
  }
}

async function settled(t: TestPlatform) {
  const { db } = t.platform.database;
  const [[delivered], [sent]] = await Promise.all([
    db.select({ n: count() }).from(webhookDeliveries).where(eq(webhookDeliveries.status, "delivered")),
    db.select({ n: count() }).from(emails).where(eq(emails.status, "sent")),
  ]);
  return { delivered: delivered!.n, sent: sent!.n };
}

async function createGenericHook(t: TestPlatform, url: string) {
  const res = await t.request("/api/admin/settings/webhooks", {
    method: "POST",
    body: {
      name: "ops",
      type: "GENERIC",
      webhookUrl: `${url}/hooks/ops-token-123`,
      events: ["node.offline"],
    },
  });
  expect(res.status).toBe(201);
  return (await json(res)).data as { id: string; secret: string };
}

describe("SIGKILL of worker processes mid-send", () => {
  const EVENTS = 500;
  const KILLS = 50;
  const POOL = 4;
  let t: TestPlatform;
  let receiver: StandIn;
  let resend: ResendStandIn;
  let entry: string;
  let dataDir: string;
  const children: WorkerChild[] = [];
  // The kill gate: once another 1/KILLS of the sends has arrived, the stand-ins hold every answer
  // until the next kill, so each kill lands while requests are in flight (mid-send).
  const STEP = (2 * EVENTS) / (KILLS + 1);
  let kills = 0;
  let heldAtKill = 0;
  let release: () => void = () => {};
  let gate = Promise.resolve();
  let held = 0;
  const progress = () => receiver.received.length + resend.received.length;
  const isGateShut = () => kills < KILLS && progress() >= (kills + 1) * STEP;
  const pace = (): { hold?: Promise<unknown> } => {
    if (!isGateShut()) return {};
    held += 1;
    return { hold: gate };
  };
  function openGateAfterKill() {
    heldAtKill += held > 0 ? 1 : 0;
    held = 0;
    release();
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
  }

  beforeAll(async () => {
    entry = bundleWorkerEntry();
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-fault-"));
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    receiver = await startStandIn(() => ({ status: 204, ...pace() }));
    resend = await startResendStandIn(RESEND_KEY, pace);
    t = await createTestPlatform({
      notify: { email: { resendApiKey: RESEND_KEY, resendBaseUrl: resend.url } },
    });
  });
  afterAll(async () => {
    release();
    for (const c of children) c.process.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    await t.close();
    await Promise.all([receiver.close(), resend.close()]);
    await rm(dataDir, { recursive: true, force: true });
    await rm(entry, { force: true });
  });

  it(`delivers every one of ${EVENTS} events and sends every email exactly once despite ${KILLS} kills`, async () => {
    const hook = await createGenericHook(t, receiver.url);
    const started = performance.now();
    await emitOffline(t, EVENTS, "k");
    const env = workerChildEnv(t, dataDir, {
      WORKER_QUEUES: "webhook,email",
      WORKER_CONCURRENCY: "4",
      WORKER_LOCK_DURATION_MS: "2000",
      SCHEDULER_ENABLED: "true",
      OUTBOX_RELAY_INTERVAL_MS: "500",
      OUTBOX_SWEEP_GRACE_MS: "3000",
      WEBHOOK_TIMEOUT_MS: "3000",
      WEBHOOK_MAX_FAILURES: "1000",
      // The in-flight bound is not what this test checks (webhook-slow-receiver.test.ts does). At the
      // default of 2, a kill of the worker holding both leases stopped every delivery of the one
      // webhook until they expired (WEBHOOK_TIMEOUT_MS + the 5 s margin), which was most of this
      // test's time; with 8, a killed worker's leases still have to expire before their deliveries
      // are sent again, while the others' go on.
      WEBHOOK_MAX_IN_FLIGHT: "8",
      NOTIFY_MAX_ATTEMPTS: "20",
      NOTIFY_BACKOFF_BASE_MS: "100",
      NOTIFY_BACKOFF_MAX_MS: "1000",
      RESEND_API_KEY: RESEND_KEY,
      RESEND_BASE_URL: resend.url,
    });
    const spawnOne = () => children.push(startWorkerChild(entry, env));
    for (let i = 0; i < POOL; i++) spawnOne();

    const live = () =>
      children.filter((c) => c.isReady() && c.process.exitCode === null && !c.process.killed);
    await vi.waitFor(
      () => {
        if (isGateShut()) {
          const victims = live();
          if (victims.length > 0) {
            victims[Math.floor(Math.random() * victims.length)]!.process.kill("SIGKILL");
            kills += 1;
            openGateAfterKill();
            spawnOne();
          }
        }
        expect(kills).toBe(KILLS);
      },
      // Bounded by process starts (about 1 s of CPU each, half of it importing BullMQ): ~30 s on an idle
      // 2-core machine, minutes when other work shares it.
      { timeout: 600_000, interval: 20 },
    );
    release();
    const killedAt = performance.now();

    await vi.waitFor(async () => expect(await settled(t)).toEqual({ delivered: EVENTS, sent: EVENTS }), {
      timeout: 180_000,
      interval: 250,
    });
    const done = performance.now();

    // Webhooks: every delivery arrived, signed; duplicates (a kill after sending, before recording) are counted.
    const { db } = t.platform.database;
    const deliveries = await db.select({ id: webhookDeliveries.id }).from(webhookDeliveries);
    const seen = new Map<string, number>();
    const now = Math.floor(Date.now() / 1000);
    for (const r of receiver.received) {
      const id = String(r.headers["x-wiresync-delivery"]);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      const input = {
        timestamp: String(r.headers[TIMESTAMP_HEADER.toLowerCase()]),
        signature: String(r.headers[SIGNATURE_HEADER.toLowerCase()]),
        body: r.body,
      };
      expect(verifySignature(hook.secret, input, now, 600)).toBe(true);
    }
    expect(deliveries).toHaveLength(EVENTS);
    for (const d of deliveries) expect(seen.get(d.id) ?? 0).toBeGreaterThanOrEqual(1);
    const webhookDuplicates = receiver.received.length - seen.size;

    // Emails: one accepted send per outbox row; every retry carried the same key and was deduplicated.
    const rows = await db.select({ id: emails.id, providerId: emails.providerId }).from(emails);
    expect(rows).toHaveLength(EVENTS);
    expect(resend.accepted.size).toBe(EVENTS);
    for (const row of rows) expect(row.providerId).toBe(resend.accepted.get(row.id)?.id);
    expect([...resend.requestsByKey.keys()].every((k) => resend.accepted.has(k))).toBe(true);
    const emailRetriesDeduplicated = resend.received.length - resend.accepted.size;

    // No secret in any child's log or in the API's.
    const logs = [...children.flatMap((c) => c.output), t.logs.text].join("\n");
    for (const secret of [hook.secret, RESEND_KEY, "ops-token-123", t.encryptionKey.toString("hex")]) {
      expect(logs).not.toContain(secret);
    }

    const figures = {
      events: EVENTS,
      kills,
      killsWithAnswersHeld: heldAtKill,
      childrenStarted: children.length,
      webhookRequests: receiver.received.length,
      webhookDuplicates,
      resendRequests: resend.received.length,
      emailRetriesDeduplicated,
      emailsDuplicated: 0,
      secondsUntilLastKill: Math.round((killedAt - started) / 100) / 10,
      secondsUntilAllSettled: Math.round((done - started) / 100) / 10,
    };
    console.log(`notify fault test: ${JSON.stringify(figures)}`);
  }, 900_000);
});

describe("Redis FLUSHALL with undelivered notifications", () => {
  const EVENTS = 200;
  let redis: RedisHandle;
  let dir: string;
  let t: TestPlatform;
  let receiver: StandIn;
  let resend: ResendStandIn;

  beforeAll(async () => {
    // A private redis-server: FLUSHALL on the shared one would wipe other test files' queues.
    dir = await mkdtemp(path.join(tmpdir(), "wiresync-flush-"));
    redis = await ensureRedis("redis://127.0.0.1:1", dir);
    receiver = await startStandIn();
    resend = await startResendStandIn(RESEND_KEY);
    t = await createTestPlatform({
      redisUrl: redis.url,
      notify: { email: { resendApiKey: RESEND_KEY, resendBaseUrl: resend.url } },
    });
  });
  afterAll(async () => {
    await t.close();
    await redis.stop();
    await Promise.all([receiver.close(), resend.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it(`delivers all ${EVENTS} events once the relay runs again`, async () => {
    await createGenericHook(t, receiver.url);
    await emitOffline(t, EVENTS / 2, "queued");
    const first = await t.platform.services.relay.run();
    expect(first).toMatchObject({ events: EVENTS / 2, deliveries: EVENTS / 2, emails: EVENTS / 2 });
    await emitOffline(t, EVENTS / 2, "unrelayed");
    expect(await t.platform.queue.queues.webhook.count()).toBe(EVENTS / 2);

    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    expect(await t.platform.queue.queues.webhook.count()).toBe(0);
    expect(await t.platform.queue.queues.email.count()).toBe(0);

    const started = performance.now();
    const second = await t.platform.services.relay.run();
    // Workers start after the sweep: one that settles a row between the sweep's read of it and its
    // look at the row's job would make that row count as requeued too (harmlessly: the job finds it
    // settled), and deliveries that wait their turn behind WEBHOOK_MAX_IN_FLIGHT widen that window.
    const workers = startNotifyWorkers(t.platform);
    try {
      expect(second).toMatchObject({ events: EVENTS / 2, requeued: EVENTS });
      await vi.waitFor(async () => expect(await settled(t)).toEqual({ delivered: EVENTS, sent: EVENTS }), {
        timeout: 60_000,
        interval: 100,
      });
      const seconds = (performance.now() - started) / 1000;
      expect(receiver.received).toHaveLength(EVENTS);
      expect(resend.accepted.size).toBe(EVENTS);
      console.log(
        `notify flush test: ${JSON.stringify({ events: EVENTS, requeued: second.requeued, seconds: Math.round(seconds * 10) / 10, deliveriesPerSecond: Math.round((2 * EVENTS) / seconds) })}`,
      );
    } finally {
      await workers.close(1_000);
    }
  });
});
