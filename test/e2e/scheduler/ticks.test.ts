/**
 * The scheduler in three worker processes on one database and one Redis prefix, with every tick on a
 * short period: each period's work is done once, by one of them. Each tick's work is counted where it
 * lands (runs, events, deliveries at a receiver, audit entries, pruned rows), and each process logs
 * every period it did (`"tick ran"`, at debug), so a slot done twice shows.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { and, eq, inArray, isNotNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { auditLog, events, nodes, syncRuns, transaction } from "../../../src/db/index.js";
import { emitEvent } from "../../../src/events/index.js";
import { createNetwork, createNode, heartbeat } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import type { StandIn } from "../../support/stand-ins.js";
import { startStandIn } from "../../support/stand-ins.js";
import { requestSync } from "../../support/sync.js";
import { bundleWorkerEntry, spawnBundle, workerChildEnv } from "../../support/worker-process.js";

const PROCESSES = 3;
const WAIT = { timeout: 150_000, interval: 250 };
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const SILENT_NODES = 3;
const QUOTA_NODES = 2;
const OLD_RUNS = 5;
const NOTICED_EVENTS = 30;
/** Ticks claimed per slot, with the distinct slots each must reach before the counts are read. */
const CLAIMED_TICKS = {
  "stale-run-check": 3,
  "node-liveness": 3,
  retention: 3,
  "quota-restore": 3,
  reconcile: 2,
  "outbox-relay": 3,
};

interface LogLine {
  msg: string;
  tick?: string;
  slot?: string;
  holder?: string;
  [key: string]: unknown;
}

describe("the scheduler in three worker processes", () => {
  let t: TestPlatform;
  let receiver: StandIn;
  let dataDir: string;
  let entry: string;
  const children: SpawnedProcess[] = [];
  const silent: string[] = [];
  const disabled: string[] = [];
  let lostRunId: string;
  let lostJobId: string;

  beforeAll(async () => {
    t = await createTestPlatform();
    receiver = await startStandIn();
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-ticks-"));
    entry = bundleWorkerEntry();
    const db = t.platform.database.db;

    const hook = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: {
        name: "all",
        type: "GENERIC",
        webhookUrl: `${receiver.url}/hook`,
        events: ["node.online", "node.offline", "node.updated"],
      },
    });
    expect(hook.status).toBe(201);
    const net = await createNetwork(t);
    // Nodes that were online and fell silent ten minutes ago: the liveness tick takes them offline.
    for (let i = 0; i < SILENT_NODES; i++) {
      const { node, token } = await createNode(t, net.id);
      await heartbeat(t, node.id, token);
      silent.push(node.id);
    }
    await db
      .update(nodes)
      .set({ lastSeenAt: new Date(Date.now() - 10 * MINUTE_MS) })
      .where(inArray(nodes.id, silent));
    // Nodes disabled for last month's quota: this month has no quota notice, so the tick restores them.
    for (let i = 0; i < QUOTA_NODES; i++) disabled.push((await createNode(t, net.id)).node.id);
    await db
      .update(nodes)
      .set({ status: "disabled", disabledReason: "quota" })
      .where(inArray(nodes.id, disabled));
    // Finished history past `RETENTION_DAYS`.
    const old = new Date(Date.now() - 3 * DAY_MS);
    await db.insert(syncRuns).values(
      Array.from({ length: OLD_RUNS }, () => ({
        type: "full" as const,
        status: "COMPLETED" as const,
        requestedBy: "old",
        createdAt: old,
        updatedAt: old,
      })),
    );
    // A run whose job was lost two minutes ago.
    const lost = await requestSync(t, "configs");
    lostRunId = lost.sync_log_id;
    lostJobId = lost.task_id;
    expect(await t.platform.queue.remove("peer-sync", lostJobId)).toBe(true);
    await db
      .update(syncRuns)
      .set({ updatedAt: new Date(Date.now() - 2 * MINUTE_MS) })
      .where(eq(syncRuns.id, lostRunId));
    const settings = await t.request("/api/admin/sync/settings", {
      method: "POST",
      body: { autoSyncEnabled: true, autoSyncInterval: 30 },
    });
    expect(settings.status).toBe(200);

    for (let i = 0; i < PROCESSES; i++) {
      children.push(
        spawnBundle(
          entry,
          workerChildEnv(t, dataDir, {
            LOG_LEVEL: "debug",
            // Workers without WireGuard: the runs the scheduler requests wait in the peer-sync queue.
            WORKER_QUEUES: "config-push,email,webhook",
            SCHEDULER_ENABLED: "true",
            STALE_RUN_CHECK_CRON: "* * * * * *",
            NODE_LIVENESS_CRON: "* * * * * *",
            QUOTA_RESTORE_CRON: "* * * * * *",
            RETENTION_CRON: "*/2 * * * * *",
            RETENTION_DAYS: "1",
            NODE_OFFLINE_AFTER_SECONDS: "30",
            OUTBOX_RELAY_INTERVAL_MS: "300",
          }),
        ),
      );
    }
    await Promise.all(children.map((c) => c.waitForOutput(/"msg":"workers started"/, 60_000)));
  });
  afterAll(async () => {
    for (const child of children) await child.stop();
    await receiver?.close();
    await t?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (entry) await rm(entry, { force: true });
  });

  /** Every JSON log line of every process, each with the process's index. */
  const logLines = (): (LogLine & { process: number })[] =>
    children.flatMap((c, process) =>
      c.stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => ({ ...(JSON.parse(l) as LogLine), process })),
    );
  const ticksRan = (tick: string) => logLines().filter((l) => l.msg === "tick ran" && l.tick === tick);
  const delivered = () =>
    receiver.received.map(
      (r) => JSON.parse(r.body) as { id: string; type: string; data: { node: { id: string } } },
    );

  it("does each period's work of every tick once", { timeout: 2 * WAIT.timeout + 60_000 }, async () => {
    const db = t.platform.database.db;
    // Events committed while the three relay: each process hears every notice.
    for (let i = 0; i < NOTICED_EVENTS; i++) {
      await transaction(db, (tx) =>
        emitEvent(tx, { type: "node.online", data: { node: { id: `noticed-${i}`, name: `n${i}` } } }),
      );
    }

    await vi.waitFor(async () => {
      for (const [tick, slots] of Object.entries(CLAIMED_TICKS))
        expect(new Set(ticksRan(tick).map((l) => l.slot)).size, tick).toBeGreaterThanOrEqual(slots);
      const offline = delivered().filter((d) => d.type === "node.offline");
      expect(offline.map((d) => d.data.node.id).sort()).toEqual([...silent].sort());
      const noticed = delivered().filter((d) => d.data.node.id.startsWith("noticed-"));
      expect(noticed).toHaveLength(NOTICED_EVENTS);
      const restored = await db.$count(auditLog, eq(auditLog.action, "node.quota-restored"));
      expect(restored).toBe(QUOTA_NODES);
    }, WAIT);
    await vi.waitFor(async () => {
      // Every event of the subscribed types committed so far has reached the receiver.
      const subscribed = await db
        .select({ id: events.id })
        .from(events)
        .where(inArray(events.type, ["node.online", "node.offline", "node.updated"]));
      expect(new Set(delivered().map((d) => d.id))).toEqual(new Set(subscribed.map((e) => e.id)));
    }, WAIT);
    for (const child of children) await child.stop();
    for (const child of children) expect((await child.exited).code, child.stderr).toBe(0);

    // Each period of each claimed tick was done by one process.
    const lines = logLines();
    for (const tick of Object.keys(CLAIMED_TICKS)) {
      const bySlot = new Map<string, number[]>();
      for (const l of lines.filter((x) => x.msg === "tick ran" && x.tick === tick))
        bySlot.set(l.slot!, [...(bySlot.get(l.slot!) ?? []), l.process]);
      const twice = [...bySlot].filter(([, ps]) => ps.length !== 1);
      expect(twice, `${tick}: slots done more than once`).toEqual([]);
    }

    // Reconcile: one scheduled run per slot, each the one its tick line names.
    const reconciles = ticksRan("reconcile");
    const scheduled = await db
      .select({ id: syncRuns.id, dedupeKey: syncRuns.dedupeKey })
      .from(syncRuns)
      .where(eq(syncRuns.requestedBy, "scheduler"));
    expect(scheduled.map((r) => r.id).sort()).toEqual(reconciles.map((l) => l.syncRunId).sort());
    expect(new Set(scheduled.map((r) => r.dedupeKey)).size).toBe(scheduled.length);

    // Stale runs: the lost run was queued again once, and waits for a peer-sync worker.
    const requeued = lines.filter(
      (l) => l.msg === "requeued sync runs whose job was lost" && (l.runs as string[]).includes(lostRunId),
    );
    expect(requeued).toHaveLength(1);
    expect(["waiting", "prioritized"]).toContain(await t.platform.queue.state("peer-sync", lostJobId));

    // Liveness: one node.offline event, and one delivery of it, per silent node.
    const offlineEvents = await db
      .select({ data: events.data })
      .from(events)
      .where(eq(events.type, "node.offline"));
    expect(offlineEvents.map((e) => (e.data as { node: { id: string } }).node.id).sort()).toEqual(
      [...silent].sort(),
    );
    expect(
      lines
        .filter((l) => l.msg === "nodes went offline")
        .flatMap((l) => l.nodes as string[])
        .sort(),
    ).toEqual([...silent].sort());

    // Relay: every event relayed by exactly one run of one process, and delivered once; no two
    // processes' runs overlap in time.
    const relayRuns = lines.filter((l) => l.msg === "outbox relay ran");
    const relayedEvents = relayRuns.reduce((sum, l) => sum + (l.events as number), 0);
    expect(relayedEvents).toBe(await db.$count(events, isNotNull(events.relayedAt)));
    const spans = relayRuns
      .map((l) => ({
        process: l.process,
        from: Date.parse(l.startedAt as string),
        to: Date.parse(l.endedAt as string),
      }))
      .sort((a, b) => a.from - b.from);
    const overlapping = spans.filter((s, i) =>
      spans.slice(0, i).some((p) => p.process !== s.process && s.from < p.to),
    );
    expect(overlapping, "relay runs of two processes at once").toEqual([]);
    const perEvent = new Map<string, number>();
    for (const d of delivered()) perEvent.set(d.id, (perEvent.get(d.id) ?? 0) + 1);
    expect([...perEvent].filter(([, n]) => n !== 1)).toEqual([]);

    // Retention: one pass pruned the old runs; the other passes found nothing.
    const pruned = lines.filter((l) => l.msg === "pruned finished history");
    expect(pruned.map((l) => ({ syncRuns: l.syncRuns, events: l.events, emails: l.emails }))).toEqual([
      { syncRuns: OLD_RUNS, events: 0, emails: 0 },
    ]);
    expect(await db.$count(syncRuns, eq(syncRuns.requestedBy, "old"))).toBe(0);

    // Quota restore: each node restored once, with one audit entry and one node.updated event.
    for (const id of disabled) {
      expect(
        await db.$count(auditLog, and(eq(auditLog.action, "node.quota-restored"), eq(auditLog.entityId, id))),
      ).toBe(1);
      const [node] = await db.select().from(nodes).where(eq(nodes.id, id));
      expect(node!.disabledReason).toBeNull();
      expect(
        delivered().filter((d) => d.type === "node.updated" && d.data.node.id === id),
        `node.updated deliveries of ${id}`,
      ).toHaveLength(1);
    }
    const restoredLines = lines.filter((l) => l.msg === "nodes restored at the month's turn");
    expect(restoredLines.flatMap((l) => l.nodes as string[]).sort()).toEqual([...disabled].sort());
  });
});
