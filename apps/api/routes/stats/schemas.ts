import { z } from "@hono/zod-openapi";
import { NODE_STATUSES, SYNC_STATUSES } from "../../../../src/db/index.js";
import { QUEUE_NAMES } from "../../../../src/queue/index.js";
import { QUEUE_JOB_STATES } from "../../../../src/stats/index.js";

const counts = <K extends string>(keys: readonly [K, ...K[]]) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<K, z.ZodNumber>);

const NodesByStatus = counts(NODE_STATUSES).openapi("NodesByStatus");

export const PublicStatsSchema = z
  .object({
    networks: z.number().int(),
    nodes: NodesByStatus.extend({ total: z.number().int() }),
  })
  .openapi("PublicStats", { description: "Counts only: no name, id, key or address" });

export const OverviewStatsSchema = z
  .object({
    generatedAt: z.string(),
    networks: z.number().int(),
    nodes: z.object({
      total: z.number().int(),
      byStatus: NodesByStatus,
      byNetwork: z.array(
        z.object({ networkId: z.uuid(), name: z.string(), total: z.number().int(), byStatus: NodesByStatus }),
      ),
    }),
    traffic: z
      .object({
        month: z.string().openapi({ example: "2026-12" }),
        rxBytes: z.number().openapi({ description: "bytes the hubs received from peers this month" }),
        txBytes: z.number().openapi({ description: "bytes the hubs sent to peers this month" }),
      })
      .openapi({ description: "This UTC month's transfer over every peer, as the hub interfaces count it" }),
    syncs: z
      .object({ since: z.string(), total: z.number().int(), byStatus: counts(SYNC_STATUSES) })
      .openapi({ description: "Sync runs requested since midnight UTC" }),
    failedDeliveries: z
      .object({ webhooks: z.number().int(), emails: z.number().int() })
      .openapi({ description: "Webhook deliveries and emails that gave up, still in the log" }),
  })
  .openapi("OverviewStats");

const History = z.object({ rows: z.number().int(), oldestAt: z.string().nullable() });

export const AdminStatsSchema = OverviewStatsSchema.extend({
  queues: z
    .array(
      z.object({
        name: z.enum(QUEUE_NAMES),
        counts: counts(QUEUE_JOB_STATES),
        oldestWaitingAt: z.string().nullable(),
        oldestWaitingSeconds: z.number().int().nullable(),
        workers: z.number().int().openapi({ description: "worker connections BullMQ sees on this queue" }),
      }),
    )
    .nullable()
    .openapi({ description: "From BullMQ; null when Redis did not answer (see queuesError)" }),
  queuesError: z.string().nullable(),
  drift: z.object({
    last24h: z.object({
      events: z.number().int(),
      networks: z.number().int(),
      lastAt: z.string().nullable(),
    }),
    configLagging: z.number().int().openapi({
      description: "nodes whose agent reported applying a config version older than their current one",
    }),
  }),
  retention: z.object({
    days: z.number().int().openapi({ description: "RETENTION_DAYS" }),
    events: History,
    syncRuns: History,
    emails: History,
  }),
}).openapi("AdminStats");
