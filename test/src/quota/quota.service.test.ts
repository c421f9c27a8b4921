/**
 * Quota enforcement against real Postgres: usage rows as the collector writes them, held against node
 * and network quotas; crossings recorded once per month, the node disabled at its limit and restored
 * at the month's turn (the scheduler's tick) or by an operator.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, nodes, quotaNotices, retiredPeers, usageMonthly } from "../../../src/db/index.js";
import { monthOf } from "../../../src/usage/index.js";
import { startScheduler } from "../../../workers/scheduler.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode, eventsOfNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

const NOW = new Date("2026-03-20T12:00:00Z");
const NEXT_MONTH = new Date("2026-04-01T00:00:30Z");

describe("quota service", () => {
  let t: TestPlatform;
  let networkId: string;

  beforeAll(async () => {
    t = await createTestPlatform();
    networkId = (await createNetwork(t)).id;
  });
  afterAll(async () => {
    await t.close();
  });

  const db = () => t.platform.database.db;
  const quota = () => t.platform.services.quota;

  /** Sets a node's usage this month as the collector would have accumulated it. */
  async function setUsage(node: { id: string; publicKey: string }, rx: number, tx: number, at = NOW) {
    await db()
      .insert(usageMonthly)
      .values({
        networkId,
        nodeId: node.id,
        publicKey: node.publicKey,
        month: monthOf(at),
        rxBytes: rx,
        txBytes: tx,
      })
      .onConflictDoUpdate({
        target: [usageMonthly.networkId, usageMonthly.publicKey, usageMonthly.month],
        set: { rxBytes: rx, txBytes: tx },
      });
  }

  const quotaEvents = async (nodeId: string) =>
    (await eventsOfNode(t, nodeId)).filter((e) => e.type.startsWith("node.quota-")).map((e) => e.type);
  const nodeRow = async (id: string) => (await db().select().from(nodes).where(eq(nodes.id, id)))[0]!;
  const isRetired = async (publicKey: string) =>
    (await db().select().from(retiredPeers).where(eq(retiredPeers.publicKey, publicKey))).length === 1;

  async function patchNode(id: string, body: Record<string, unknown>) {
    const res = await t.request(`/api/v1/nodes/${id}`, { method: "PATCH", body });
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBe(200);
    return payload.data;
  }

  it("warns once at 80 %, disables once at 100 %, and counts bytes received and sent together", async () => {
    const { node } = await createNode(t, networkId);
    expect((await patchNode(node.id, { monthlyQuotaBytes: 10_000 })).monthlyQuotaBytes).toBe(10_000);

    await setUsage(node, 3_999, 3_999); // 7,998: just under 80 %
    expect(await quota().checkNetwork(networkId, NOW)).toEqual([]);

    await setUsage(node, 4_000, 4_000); // 8,000: exactly 80 %
    const warned = await quota().checkNetwork(networkId, NOW);
    expect(warned).toEqual([
      { nodeId: node.id, threshold: 80, usedBytes: 8_000, quotaBytes: 10_000, disabled: false },
    ]);
    expect(await quota().checkNetwork(networkId, NOW)).toEqual([]);
    expect((await nodeRow(node.id)).status).not.toBe("disabled");

    await setUsage(node, 6_000, 4_000); // 10,000: the limit
    const [exceeded, again] = await Promise.all([
      quota().checkNetwork(networkId, NOW),
      quota().checkNetwork(networkId, NOW),
    ]);
    // Two collections at once: exactly one records the crossing.
    expect([...exceeded, ...again]).toEqual([
      { nodeId: node.id, threshold: 100, usedBytes: 10_000, quotaBytes: 10_000, disabled: true },
    ]);
    const row = await nodeRow(node.id);
    expect([row.status, row.disabledReason]).toEqual(["disabled", "quota"]);
    expect(await isRetired(node.publicKey)).toBe(true);
    expect(await quotaEvents(node.id)).toEqual(["node.quota-warning", "node.quota-exceeded"]);
    const [event] = (await eventsOfNode(t, node.id)).filter((e) => e.type === "node.quota-exceeded");
    expect(event!.data).toMatchObject({
      quota: { month: "2026-03", thresholdPercent: 100, usedBytes: 10_000, limitBytes: 10_000 },
      disabled: true,
      node: { id: node.id },
    });
    const audits = await db().select().from(auditLog).where(eq(auditLog.entityId, node.id));
    expect(audits.map((a) => a.action).filter((a) => a.startsWith("node.quota"))).toEqual([
      "node.quota-warning",
      "node.quota-exceeded",
    ]);
    const view = (await json(await t.request(`/api/v1/nodes/${node.id}`))).data;
    expect([view.status, view.disabledReason]).toEqual(["disabled", "quota"]);

    // More traffic in the same month: nothing new.
    await setUsage(node, 60_000, 40_000);
    expect(await quota().checkNetwork(networkId, NOW)).toEqual([]);
    expect(await quotaEvents(node.id)).toHaveLength(2);
  });

  it("restores a quota-disabled node at the month's turn (scheduler tick), not before, and not an operator's", async () => {
    const { node: capped } = await createNode(t, networkId);
    const { node: byOperator } = await createNode(t, networkId);
    await patchNode(capped.id, { monthlyQuotaBytes: 2_048 });
    await setUsage(capped, 2_048, 0);
    await patchNode(byOperator.id, { status: "disabled" });
    expect((await quota().checkNetwork(networkId, NOW)).map((c) => [c.nodeId, c.threshold])).toEqual([
      [capped.id, 80],
      [capped.id, 100],
    ]);

    const scheduler = startScheduler({
      sync: t.platform.services.sync,
      liveness: t.platform.services.liveness,
      settings: t.platform.services.settings,
      logger: t.platform.logger,
      staleRunCheckCron: "* * * * *",
      nodeOfflineAfterSeconds: 180,
      timers: false,
      quota: t.platform.services.quota,
    });
    try {
      await scheduler.restoreQuotas(NOW);
      expect((await nodeRow(capped.id)).status).toBe("disabled");

      await scheduler.restoreQuotas(NEXT_MONTH);
      const restored = await nodeRow(capped.id);
      expect([restored.status, restored.disabledReason]).toEqual(["pending", null]);
      expect(await isRetired(capped.publicKey)).toBe(false);
      const operators = await nodeRow(byOperator.id);
      expect([operators.status, operators.disabledReason]).toEqual(["disabled", "operator"]);
      const actions = (
        await db()
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.entityId, capped.id), eq(auditLog.action, "node.quota-restored")))
      ).map((a) => a.details);
      expect(actions).toEqual([{ month: "2026-04" }]);

      // A new month re-arms both thresholds.
      await setUsage(capped, 2_048, 0, NEXT_MONTH);
      expect((await quota().checkNetwork(networkId, NEXT_MONTH)).map((c) => c.threshold)).toEqual([80, 100]);
    } finally {
      await scheduler.stop();
    }
  });

  it("takes the network's default for nodes without a quota, and an operator's enable holds for the month", async () => {
    const { node } = await createNode(t, networkId);
    const res = await t.request(`/api/v1/networks/${networkId}`, {
      method: "PATCH",
      body: { defaultMonthlyQuotaBytes: 4_096 },
    });
    expect(res.status).toBe(200);
    expect((await json(res)).data.defaultMonthlyQuotaBytes).toBe(4_096);
    await setUsage(node, 4_096, 1);
    const crossed = (await quota().checkNetwork(networkId, NOW)).filter((c) => c.nodeId === node.id);
    expect(crossed.map((c) => [c.threshold, c.quotaBytes, c.disabled])).toEqual([
      [80, 4_096, false],
      [100, 4_096, true],
    ]);

    const enabled = await patchNode(node.id, { status: "pending" });
    expect([enabled.status, enabled.disabledReason]).toEqual(["pending", null]);
    expect(await isRetired(node.publicKey)).toBe(false);
    await setUsage(node, 9_000, 9_000);
    expect((await quota().checkNetwork(networkId, NOW)).filter((c) => c.nodeId === node.id)).toEqual([]);
    expect((await nodeRow(node.id)).status).toBe("pending");
    const notices = await db().select().from(quotaNotices).where(eq(quotaNotices.nodeId, node.id));
    expect(notices.map((n) => [n.month, n.threshold])).toEqual([
      ["2026-03", 80],
      ["2026-03", 100],
    ]);
  });

  it("holds usage as the collector accumulated it: a counter reset adds only what came after it", async () => {
    const { node } = await createNode(t, networkId);
    await patchNode(node.id, { monthlyQuotaBytes: 10_000 });
    const usage = t.platform.services.usage;
    const reading = (rx: number, tx: number) => [{ publicKey: node.publicKey, rx, tx, latestHandshake: 0 }];
    await usage.recordReadings(networkId, reading(3_000, 3_000), NOW);
    await usage.recordReadings(networkId, reading(3_500, 3_500), NOW); // 7,000
    // The interface restarted: its counters start again from zero.
    await usage.recordReadings(networkId, reading(400, 400), NOW); // 7,800: still under 80 %
    expect(await quota().checkNetwork(networkId, NOW)).toEqual([]);
    await usage.recordReadings(networkId, reading(500, 500), NOW); // 8,000
    expect((await quota().checkNetwork(networkId, NOW)).map((c) => [c.threshold, c.usedBytes])).toEqual([
      [80, 8_000],
    ]);
  });

  it("refuses quotas that are not whole byte counts of at least 1 KiB, changing nothing", async () => {
    const { node } = await createNode(t, networkId);
    for (const bad of [0, 1023, -5, 1.5, "1000", Number.MAX_SAFE_INTEGER + 2]) {
      const res = await t.request(`/api/v1/nodes/${node.id}`, {
        method: "PATCH",
        body: { monthlyQuotaBytes: bad },
      });
      expect(res.status, String(bad)).toBe(400);
      expect((await json(res)).error.code).toBe("VALIDATION_FAILED");
    }
    expect((await nodeRow(node.id)).monthlyQuotaBytes).toBeNull();
  });
});
