import cron from "node-cron";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../../src/db/index.js";
import {
  emails,
  events,
  networks,
  syncRuns,
  usageHourly,
  usageMonthly,
  webhookAttempts,
  webhookDeliveries,
  webhooks,
} from "../../../src/db/index.js";
import { createLogger } from "../../../src/logger.js";
import { createRetention } from "../../../src/retention/index.js";
import { startScheduler } from "../../../workers/scheduler.js";
import type { TestDatabase } from "../../support/db.js";
import { createTestDatabase } from "../../support/db.js";
import { insertFleetNodes } from "../../support/fleet.js";
import { captureLogger } from "../../support/logs.js";

const NOW = new Date("2026-12-01T12:00:00Z");
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);
const OLD = daysAgo(100);
const RECENT = daysAgo(10);
const CUTOFF = daysAgo(90);

/** A scheduler without timers whose retention tick the test runs (`pruneHistory`). */
const retentionScheduler = (db: Db, retention: { days: number; usageHourDays?: number }) =>
  startScheduler({
    sync: undefined as never,
    liveness: undefined as never,
    settings: undefined as never,
    logger: createLogger({ level: "silent", pretty: false }),
    staleRunCheckCron: "* * * * *",
    nodeOfflineAfterSeconds: 180,
    timers: false,
    retention: { ...retention, service: createRetention({ db }) },
  });

describe("retention", () => {
  let t: TestDatabase;
  let db: Db;
  const ids: Record<string, string> = {};

  /** An event of `createdAt`, relayed or not, with a delivery of `status` (and one attempt) if given. */
  async function event(
    name: string,
    createdAt: Date,
    relayed: boolean,
    delivery?: "pending" | "delivered" | "failed",
  ) {
    const [row] = await db
      .insert(events)
      .values({ type: "node.enrolled", createdAt, relayedAt: relayed ? createdAt : null })
      .returning();
    ids[name] = row!.id;
    if (delivery) {
      const [d] = await db
        .insert(webhookDeliveries)
        .values({ webhookId: ids.webhook!, eventId: row!.id, status: delivery, createdAt })
        .returning();
      ids[`${name}.delivery`] = d!.id;
      await db
        .insert(webhookAttempts)
        .values({ deliveryId: d!.id, startedAt: createdAt, durationMs: 5, outcome: "retry" });
    }
  }
  async function email(name: string, createdAt: Date, status: "queued" | "sent", eventName?: string) {
    const [row] = await db
      .insert(emails)
      .values({
        to: `${name}@example.com`,
        template: "welcome",
        status,
        createdAt,
        eventId: eventName ? ids[eventName]! : null,
      })
      .returning();
    ids[name] = row!.id;
  }
  async function run(name: string, createdAt: Date, status: "RUNNING" | "COMPLETED" | "FAILED") {
    const [row] = await db.insert(syncRuns).values({ type: "full", status, createdAt }).returning();
    ids[name] = row!.id;
  }
  const left = async () => ({
    events: (await db.select({ id: events.id }).from(events)).map((r) => r.id),
    deliveries: (await db.select({ id: webhookDeliveries.id }).from(webhookDeliveries)).map((r) => r.id),
    attempts: (await db.select({ id: webhookAttempts.deliveryId }).from(webhookAttempts)).map((r) => r.id),
    emails: (await db.select({ id: emails.id }).from(emails)).map((r) => r.id),
    runs: (await db.select({ id: syncRuns.id }).from(syncRuns)).map((r) => r.id),
  });

  beforeAll(async () => {
    t = await createTestDatabase(2);
    db = t.database.db;
    const [hook] = await db
      .insert(webhooks)
      .values({
        name: "ops",
        type: "GENERIC",
        urlEnc: "x",
        urlDisplay: "https://example.com",
        secretEnc: "x",
      })
      .returning();
    ids.webhook = hook!.id;
    await event("oldDone", OLD, true, "delivered");
    await event("oldFailed", OLD, true, "failed");
    await event("oldPendingDelivery", OLD, true, "pending");
    await event("oldUnrelayed", OLD, false);
    await event("oldMailQueued", OLD, true);
    await event("recent", RECENT, true, "delivered");
    await email("oldSent", OLD, "sent", "oldDone");
    await email("oldQueued", OLD, "queued", "oldMailQueued");
    await email("oldSentUnrelayed", OLD, "sent", "oldUnrelayed");
    await email("recentSent", RECENT, "sent");
    await run("oldCompleted", OLD, "COMPLETED");
    await run("oldFailedRun", OLD, "FAILED");
    await run("oldRunning", OLD, "RUNNING");
    await run("recentRun", RECENT, "COMPLETED");
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("removes only finished history older than the cutoff, deliveries and attempts with their event", async () => {
    // Batches of one: every kind takes several statements, as a large backlog would.
    const gone = await createRetention({ db, batchSize: 1 }).prune(CUTOFF);
    expect(gone).toEqual({ events: 2, syncRuns: 2, emails: 1 });
    const now = await left();
    expect(now.events.sort()).toEqual(
      [ids.oldPendingDelivery, ids.oldUnrelayed, ids.oldMailQueued, ids.recent].sort(),
    );
    expect(now.deliveries.sort()).toEqual(
      [ids["oldPendingDelivery.delivery"], ids["recent.delivery"]].sort(),
    );
    expect(now.attempts.sort()).toEqual([ids["oldPendingDelivery.delivery"], ids["recent.delivery"]].sort());
    expect(now.emails.sort()).toEqual([ids.oldQueued, ids.oldSentUnrelayed, ids.recentSent].sort());
    expect(now.runs.sort()).toEqual([ids.oldRunning, ids.recentRun].sort());
    // A second prune finds nothing more.
    expect(await createRetention({ db }).prune(CUTOFF)).toEqual({ events: 0, syncRuns: 0, emails: 0 });
  });

  it("is what the scheduler runs every hour, and keeps everything with 0 days", async () => {
    await run("olderStill", daysAgo(400), "COMPLETED");
    const scheduler = (days: number) => retentionScheduler(db, { days });
    const keepAll = scheduler(0);
    await keepAll.pruneHistory(NOW);
    expect((await left()).runs).toContain(ids.olderStill);
    const year = scheduler(365);
    await year.pruneHistory(NOW);
    expect((await left()).runs).not.toContain(ids.olderStill);
    expect((await left()).runs).toContain(ids.oldRunning);
    await Promise.all([keepAll.stop(), year.stop()]);
  });
});

describe("retention through node-cron", () => {
  let t: TestDatabase;
  afterAll(async () => {
    await t?.drop();
  });

  it("prunes what is older than RETENTION_DAYS when node-cron runs the hourly task, and keeps the rest", async () => {
    t = await createTestDatabase(2);
    const db = t.database.db;
    const now = Date.now();
    const old = new Date(now - 91 * 86_400_000);
    const recent = new Date(now - 89 * 86_400_000);
    const [hook] = await db
      .insert(webhooks)
      .values({
        name: "ops",
        type: "GENERIC",
        urlEnc: "x",
        urlDisplay: "https://example.com",
        secretEnc: "x",
      })
      .returning();
    for (const createdAt of [old, old, recent]) {
      const [e] = await db
        .insert(events)
        .values({ type: "node.enrolled", createdAt, relayedAt: createdAt })
        .returning();
      await db
        .insert(webhookDeliveries)
        .values({ webhookId: hook!.id, eventId: e!.id, status: "delivered", createdAt });
    }
    for (const createdAt of [old, old, old, recent, recent])
      await db.insert(syncRuns).values({ type: "full", status: "COMPLETED", createdAt });
    for (const createdAt of [old, old, recent])
      await db
        .insert(emails)
        .values({ to: "ops@example.com", template: "welcome", status: "sent", createdAt });

    const { logger, logs } = captureLogger("info");
    const scheduler = startScheduler({
      sync: undefined as never,
      liveness: undefined as never,
      settings: undefined as never,
      logger,
      staleRunCheckCron: "0 0 1 1 *",
      nodeOfflineAfterSeconds: 180,
      retention: { days: 90, service: createRetention({ db }) },
    });
    try {
      const task = [...cron.getTasks().values()].find((task) => task.name === "retention");
      expect(task?.getPattern()).toBe("17 * * * *");
      // node-cron's own way of running a task: with its context object as the argument, as every hour.
      await task!.execute();
      const count = async (table: typeof events | typeof syncRuns | typeof emails) =>
        (await db.select({ id: table.id }).from(table)).length;
      expect({
        events: await count(events),
        deliveries: (await db.select({ id: webhookDeliveries.id }).from(webhookDeliveries)).length,
        syncRuns: await count(syncRuns),
        emails: await count(emails),
      }).toEqual({ events: 1, deliveries: 1, syncRuns: 2, emails: 1 });
      const pruned = logs.parsed().filter((l) => l.msg === "pruned finished history");
      expect(pruned.map(({ events, syncRuns, emails }) => ({ events, syncRuns, emails }))).toEqual([
        { events: 2, syncRuns: 3, emails: 2 },
      ]);
      expect(logs.parsed().filter((l) => l.msg === "pruning finished history failed")).toEqual([]);
    } finally {
      await scheduler.stop();
    }
  });
});

describe("hourly usage retention", () => {
  let t: TestDatabase;
  let db: Db;
  const HOUR = 3_600_000;
  afterAll(async () => {
    await t?.drop();
  });

  /** Two networks of two nodes, each node with an hourly row at each of `ages` (days before NOW) and one monthly row. */
  async function seed(ages: readonly number[]) {
    const nodeIds: string[] = [];
    for (const [n, cidr4] of ["10.61.0.0/24", "10.62.0.0/24"].entries()) {
      const [net] = await db
        .insert(networks)
        .values({
          name: `usage-${n}`,
          cidr4,
          hubIp4: cidr4.replace(/0\/24$/, "1"),
          hubPublicKey: `${"k".repeat(43)}=`,
          hubPrivateKeyEnc: "v1.test.x.y.z",
        })
        .returning();
      const ids = await insertFleetNodes(db, net!.id, [{ name: "a" }, { name: "b" }], {
        firstAddress: (i) => cidr4.replace(/0\/24$/, String(10 + i)),
        seed: 100 * n,
      });
      for (const nodeId of ids) {
        nodeIds.push(nodeId);
        await db.insert(usageHourly).values(
          ages.map((days) => ({
            nodeId,
            networkId: net!.id,
            hour: new Date(daysAgo(days).getTime() - (daysAgo(days).getTime() % HOUR)),
            rxBytes: 1,
            txBytes: 2,
          })),
        );
        await db.insert(usageMonthly).values({
          nodeId,
          networkId: net!.id,
          publicKey: nodeId,
          month: "2026-08",
          rxBytes: 5,
          txBytes: 6,
        });
      }
    }
    return nodeIds;
  }
  const hourlyAges = async () =>
    (await db.select({ hour: usageHourly.hour }).from(usageHourly))
      .map((r) => Math.round((NOW.getTime() - r.hour.getTime()) / 86_400_000))
      .sort((a, b) => a - b);

  it("deletes the hours before the cutoff in every network, in batches, and keeps monthly totals", async () => {
    t = await createTestDatabase(2);
    db = t.database.db;
    await seed([100, 95, 91, 89, 1]);
    // Batches of two: each network's six old rows take three statements (and a fourth finds none).
    expect(await createRetention({ db, batchSize: 2 }).pruneUsageHours(CUTOFF)).toBe(12);
    // 4 nodes x the 2 hours younger than 90 days.
    expect(await hourlyAges()).toEqual([1, 1, 1, 1, 89, 89, 89, 89]);
    const monthly = await db.select({ rx: usageMonthly.rxBytes }).from(usageMonthly);
    expect(monthly.map((m) => m.rx)).toEqual([5, 5, 5, 5]);
    expect(await createRetention({ db }).pruneUsageHours(CUTOFF)).toBe(0);
  });

  it("runs on the retention tick with its own days, also when history is kept forever; 0 keeps hours", async () => {
    const scheduler = (days: number, usageHourDays: number) =>
      retentionScheduler(db, { days, usageHourDays });
    const keep = scheduler(90, 0);
    await keep.pruneHistory(NOW);
    expect(await hourlyAges()).toEqual([1, 1, 1, 1, 89, 89, 89, 89]);
    const month = scheduler(0, 32);
    await month.pruneHistory(NOW);
    expect(await hourlyAges()).toEqual([1, 1, 1, 1]);
    await Promise.all([keep.stop(), month.stop()]);
  });
});
