/**
 * Stats and fleet metrics against a real Postgres, Redis and BullMQ holding known contents: every
 * number is asserted, and `/metrics` is read by a real Prometheus text-format parser.
 */
import { Worker } from "bullmq";
import type { ParsedFamily } from "parse-prometheus-text-format";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  emails,
  events,
  syncRuns,
  usageMonthly,
  webhookDeliveries,
  webhooks,
} from "../../../../src/db/index.js";
import { createRedis } from "../../../../src/queue/index.js";
import { monthOf } from "../../../../src/usage/index.js";
import { createApiKey } from "../../../support/auth.js";
import { TEST_REDIS_URL } from "../../../support/env.js";
import { insertFleetNodes } from "../../../support/fleet.js";
import { json } from "../../../support/http.js";
import { insertNetworks } from "../../../support/networks.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const HOUR_MS = 60 * 60 * 1_000;
const DAY_MS = 24 * HOUR_MS;

/** The fixture's two networks with nodes (a third, `n-00002`, has none). */
const ALPHA = "n-00000";
const BETA = "n-00001";

/** Seconds the fixture's handshakes were old when inserted; ages grow by the test's run time. */
const AGES = { a1: 10, a2: 90, a3: 400, b1: 5_000 };

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no ${name} in /metrics`);
  return found;
}

/** `{ "<label values>": value }` of a gauge or counter family, labels in the given order. */
function samples(f: ParsedFamily, labels: string[]): Record<string, number> {
  return Object.fromEntries(
    f.metrics.map((m) => [labels.map((l) => m.labels?.[l]).join("/"), Number(m.value)]),
  );
}

async function scrape(t: TestPlatform): Promise<ParsedFamily[]> {
  return parsePrometheusTextFormat(await scrapeText(t));
}

async function scrapeText(t: TestPlatform): Promise<string> {
  const res = await t.request("/metrics", { key: null });
  expect(res.status).toBe(200);
  return res.text();
}

/**
 * A labelled histogram's samples by one label's value: `{ buckets: { le: count }, sum, count }`.
 * Foot-gun: parse-prometheus-text-format flattens a histogram's series into one (it was written for
 * unlabelled ones), so after it has checked the whole text, the sample lines are read here.
 */
function histogram(text: string, name: string, by: string) {
  const out: Record<string, { buckets: Record<string, number>; sum?: number; count?: number }> = {};
  const line = new RegExp(`^${name}_(bucket|sum|count)\\{([^}]*)\\} (\\S+)$`);
  for (const l of text.split("\n")) {
    const m = line.exec(l);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    out[labels[by]!] ??= { buckets: {} };
    const entry = out[labels[by]!]!;
    if (m[1] === "bucket") entry.buckets[labels.le!] = Number(m[3]);
    else entry[m[1] as "sum" | "count"] = Number(m[3]);
  }
  return out;
}

describe("stats and fleet metrics of known contents", () => {
  let t: TestPlatform;
  let perPeer: TestPlatform;
  let worker: Worker;
  let startedAt: number;
  let networkIds: string[];
  const month = monthOf(new Date());
  const lastMonth = monthOf(
    new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 1, 15)),
  );

  beforeAll(async () => {
    t = await createTestPlatform();
    // A second process of the same installation, exporting per-peer counters.
    perPeer = await createTestPlatform({ database: t.db, prefix: t.prefix, metrics: { perPeer: true } });
    const db = t.platform.database.db;
    startedAt = Date.now();
    networkIds = await insertNetworks(db, 3, "n");
    const [alpha, beta] = networkIds as [string, string];
    const [a1] = await insertFleetNodes(
      db,
      alpha,
      [
        // Config lagging is the applied version (reported by the agent) behind the current one:
        // a2, a3 and b2 lag; a4's newest config is not even announced, but its agent never
        // reported a version, so it does not count.
        {
          name: "a1",
          status: "online",
          handshakeAgeSeconds: AGES.a1,
          configVersion: 3,
          configPushedVersion: 3,
          appliedConfigVersion: 3,
        },
        {
          name: "a2",
          status: "online",
          handshakeAgeSeconds: AGES.a2,
          configVersion: 4,
          configPushedVersion: 4,
          appliedConfigVersion: 3,
        },
        {
          name: "a3",
          status: "offline",
          handshakeAgeSeconds: AGES.a3,
          configVersion: 3,
          configPushedVersion: 2,
          appliedConfigVersion: 1,
        },
        { name: "a4", status: "pending", configVersion: 2, configPushedVersion: 1 },
        { name: "a5", status: "disabled" },
      ],
      { firstAddress: (i) => `10.0.0.${i + 2}`, seed: 100 },
    );
    const [b1] = await insertFleetNodes(
      db,
      beta,
      [
        { name: "b1", status: "online", handshakeAgeSeconds: AGES.b1, appliedConfigVersion: 1 },
        {
          name: "b2",
          status: "offline",
          email: "b2@example.com",
          configVersion: 5,
          appliedConfigVersion: 4,
        },
      ],
      { firstAddress: (i) => `10.0.1.${i + 2}`, seed: 200 },
    );
    await db.insert(usageMonthly).values([
      { networkId: alpha, nodeId: a1!, publicKey: "k-a1", month, rxBytes: 1_000, txBytes: 2_000 },
      { networkId: alpha, nodeId: a1!, publicKey: "k-a1", month: lastMonth, rxBytes: 7, txBytes: 9 },
      { networkId: beta, nodeId: b1!, publicKey: "k-b1", month, rxBytes: 500, txBytes: 0 },
      // A node deleted with its history kept: this month's traffic, no per-peer series.
      { networkId: beta, nodeId: null, publicKey: "k-gone", month, rxBytes: 100, txBytes: 100 },
    ]);
    await db.insert(syncRuns).values([
      { type: "full", status: "COMPLETED" },
      { type: "peers", status: "FAILED" },
      { type: "full", status: "COMPLETED", createdAt: new Date(Date.now() - 2 * DAY_MS) },
    ]);
    const [hook] = await db
      .insert(webhooks)
      .values({ name: "h", type: "GENERIC", urlEnc: "x", urlDisplay: "https://x/…", secretEnc: "x" })
      .returning();
    const evs = await db
      .insert(events)
      .values([
        {
          type: "drift.detected",
          data: { network: { id: alpha } },
          createdAt: new Date(Date.now() - HOUR_MS),
        },
        {
          type: "drift.detected",
          data: { network: { id: alpha } },
          createdAt: new Date(Date.now() - 2 * HOUR_MS),
        },
        { type: "drift.detected", data: { network: { id: beta } } },
        {
          type: "drift.detected",
          data: { network: { id: beta } },
          createdAt: new Date(Date.now() - 3 * DAY_MS),
        },
      ])
      .returning();
    await db.insert(webhookDeliveries).values([
      { webhookId: hook!.id, eventId: evs[0]!.id, status: "failed" },
      { webhookId: hook!.id, eventId: evs[1]!.id, status: "delivered" },
    ]);
    await db.insert(emails).values([
      { to: "ops@example.com", template: "welcome", status: "failed" },
      { to: "ops@example.com", template: "welcome", status: "sent" },
    ]);

    // Jobs no worker takes: two prioritized and one delayed email, one unprioritised webhook job.
    const { queues } = t.platform.queue;
    const now = Date.now();
    await queues.email.add("email", { emailId: "x" }, { priority: 10, timestamp: now - 120_000 });
    await queues.email.add("email", { emailId: "y" }, { priority: 1, timestamp: now - 10_000 });
    await queues.email.add("email", { emailId: "z" }, { priority: 5, delay: HOUR_MS });
    await queues.webhook.add("webhook", { deliveryId: "w" }, { timestamp: now - 30_000 });
    // A worker on a queue that holds no job, so it never runs one.
    worker = new Worker("config-push", async () => {}, {
      connection: createRedis(TEST_REDIS_URL, "worker"),
      prefix: t.prefix,
    });
    await worker.waitUntilReady();
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await perPeer?.close();
    await t?.close();
  });

  it("GET /api/stats answers counts only, to anyone", async () => {
    const res = await t.request("/api/stats", { key: null });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      success: true,
      data: { networks: 3, nodes: { total: 7, pending: 1, online: 3, degraded: 0, offline: 2, disabled: 1 } },
    });
    const text = JSON.stringify(body);
    for (const secretish of [ALPHA, "a1", "b2@example.com", ...networkIds])
      expect(text).not.toContain(secretish);
  });

  it("GET /api/v1/stats/overview: nodes by status and network, traffic this month, syncs today, failed deliveries", async () => {
    const { key } = await createApiKey(t, ["read"]);
    const res = await t.request("/api/v1/stats/overview", { key });
    expect(res.status).toBe(200);
    const { data } = await json(res);
    expect(data).toEqual({
      generatedAt: expect.any(String),
      networks: 3,
      nodes: {
        total: 7,
        byStatus: { pending: 1, online: 3, degraded: 0, offline: 2, disabled: 1 },
        byNetwork: [
          {
            networkId: networkIds[0],
            name: ALPHA,
            total: 5,
            byStatus: { pending: 1, online: 2, degraded: 0, offline: 1, disabled: 1 },
          },
          {
            networkId: networkIds[1],
            name: BETA,
            total: 2,
            byStatus: { pending: 0, online: 1, degraded: 0, offline: 1, disabled: 0 },
          },
        ],
      },
      traffic: { month, rxBytes: 1_600, txBytes: 2_100 },
      syncs: {
        since: expect.stringMatching(/T00:00:00\.000Z$/),
        total: 2,
        byStatus: { PENDING: 0, RUNNING: 0, COMPLETED: 1, FAILED: 1, CANCELLED: 0 },
      },
      failedDeliveries: { webhooks: 1, emails: 1 },
    });
  });

  it("GET /api/admin/stats adds queue depths and oldest waiting job from BullMQ, workers, drift and retention", async () => {
    const res = await t.request("/api/admin/stats");
    expect(res.status).toBe(200);
    const { data } = await json(res);
    const elapsedSeconds = (Date.now() - startedAt) / 1_000;
    expect(data.nodes.total).toBe(7);
    expect(data.queuesError).toBeNull();
    const byName = Object.fromEntries(data.queues.map((q: { name: string }) => [q.name, q]));
    expect(Object.keys(byName).sort()).toEqual(["config-push", "email", "peer-sync", "webhook"]);
    const zero = {
      waiting: 0,
      prioritized: 0,
      active: 0,
      delayed: 0,
      "waiting-children": 0,
      completed: 0,
      failed: 0,
    };
    expect(byName.email.counts).toEqual({ ...zero, prioritized: 2, delayed: 1 });
    expect(byName.webhook.counts).toEqual({ ...zero, waiting: 1 });
    expect(byName["peer-sync"]).toMatchObject({
      counts: zero,
      oldestWaitingAt: null,
      oldestWaitingSeconds: null,
    });
    // The low-priority email waits behind the critical one, and is the oldest.
    expect(byName.email.oldestWaitingSeconds).toBeGreaterThanOrEqual(119);
    expect(byName.email.oldestWaitingSeconds).toBeLessThanOrEqual(121 + elapsedSeconds);
    expect(byName.webhook.oldestWaitingSeconds).toBeGreaterThanOrEqual(29);
    expect(byName.webhook.oldestWaitingSeconds).toBeLessThanOrEqual(31 + elapsedSeconds);
    expect(byName["config-push"].workers).toBe(1);
    expect(byName.email.workers).toBe(0);
    expect(data.drift).toEqual({
      last24h: { events: 3, networks: 2, lastAt: expect.any(String) },
      configLagging: 3,
    });
    expect(data.retention).toMatchObject({
      days: 90,
      events: { rows: 4, oldestAt: expect.any(String) },
      syncRuns: { rows: 3, oldestAt: expect.any(String) },
      emails: { rows: 2, oldestAt: expect.any(String) },
    });
    expect(Date.now() - Date.parse(data.retention.syncRuns.oldestAt)).toBeGreaterThanOrEqual(
      2 * DAY_MS - 5_000,
    );
  });

  it("/metrics exports nodes by network and status, lagging configs and handshake ages", async () => {
    const text = await scrapeText(t);
    const families = parsePrometheusTextFormat(text);
    expect(samples(family(families, "wiresync_nodes"), ["network", "status"])).toEqual({
      [`${ALPHA}/disabled`]: 1,
      [`${ALPHA}/offline`]: 1,
      [`${ALPHA}/online`]: 2,
      [`${ALPHA}/pending`]: 1,
      [`${BETA}/offline`]: 1,
      [`${BETA}/online`]: 1,
    });
    expect(family(families, "wiresync_nodes").type).toBe("GAUGE");
    expect(samples(family(families, "wiresync_node_config_lagging"), ["network"])).toEqual({
      [ALPHA]: 2,
      [BETA]: 1,
    });

    expect(family(families, "wiresync_node_handshake_age_seconds").type).toBe("HISTOGRAM");
    const byNetwork = histogram(text, "wiresync_node_handshake_age_seconds", "network");
    expect(Object.keys(byNetwork).sort()).toEqual([ALPHA, BETA]);
    expect(byNetwork[ALPHA]!.buckets).toEqual({
      "30": 1,
      "60": 1,
      "120": 2,
      "180": 2,
      "300": 2,
      "600": 3,
      "1800": 3,
      "3600": 3,
      "21600": 3,
      "86400": 3,
      "+Inf": 3,
    });
    expect(byNetwork[ALPHA]!.count).toBe(3);
    const elapsed = (Date.now() - startedAt) / 1_000;
    const alphaSum = byNetwork[ALPHA]!.sum!;
    expect(alphaSum).toBeGreaterThanOrEqual(AGES.a1 + AGES.a2 + AGES.a3 - 1);
    expect(alphaSum).toBeLessThanOrEqual(AGES.a1 + AGES.a2 + AGES.a3 + 3 * elapsed + 1);
    expect(byNetwork[BETA]!.buckets).toMatchObject({ "3600": 0, "21600": 1, "+Inf": 1 });
    expect(byNetwork[BETA]!.count).toBe(1);
    // Per-peer series are off by default.
    expect(families.find((f) => f.name === "wiresync_peer_received_bytes_total")).toBeUndefined();
  });

  it("/metrics exports queue jobs by state and the oldest waiting job's age, from BullMQ", async () => {
    const families = await scrape(t);
    const jobs = samples(family(families, "wiresync_queue_jobs"), ["queue", "state"]);
    expect(Object.keys(jobs)).toHaveLength(4 * 7);
    expect(jobs["email/prioritized"]).toBe(2);
    expect(jobs["email/delayed"]).toBe(1);
    expect(jobs["email/waiting"]).toBe(0);
    expect(jobs["webhook/waiting"]).toBe(1);
    expect(Object.values(jobs).reduce((a, b) => a + b, 0)).toBe(4);
    const oldest = samples(family(families, "wiresync_queue_oldest_waiting_seconds"), ["queue"]);
    const elapsed = (Date.now() - startedAt) / 1_000;
    expect(oldest.email).toBeGreaterThanOrEqual(119);
    expect(oldest.email).toBeLessThanOrEqual(121 + elapsed);
    expect(oldest.webhook).toBeGreaterThanOrEqual(29);
    expect(oldest.webhook).toBeLessThanOrEqual(31 + elapsed);
    expect(oldest["peer-sync"]).toBe(0);
    expect(oldest["config-push"]).toBe(0);
  });

  it("with METRICS_PER_PEER, /metrics counts each current node's transfer over the history kept", async () => {
    const families = await scrape(perPeer);
    const received = family(families, "wiresync_peer_received_bytes_total");
    expect(received.type).toBe("COUNTER");
    expect(samples(received, ["network", "node"])).toEqual({ [`${ALPHA}/a1`]: 1_007, [`${BETA}/b1`]: 500 });
    expect(samples(family(families, "wiresync_peer_sent_bytes_total"), ["network", "node"])).toEqual({
      [`${ALPHA}/a1`]: 2_009,
      [`${BETA}/b1`]: 0,
    });
  });
});
