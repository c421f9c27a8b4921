/**
 * Job names and payloads. Payloads carry ids only (never a key, token or secret): a processor loads
 * everything else from Postgres, so a lost, duplicated or reordered job changes nothing but timing.
 */
import { z } from "zod";
import type { QueueName } from "./names.js";

const id = z.uuid();

export const SyncRunPayload = z.object({ syncRunId: id }).strict();
export const NetworkSyncPayload = z
  .object({
    networkId: id,
    syncRunId: id.optional(),
    reason: z.string().min(1).max(200),
    /**
     * Set when nodes joined the network and that is all that changed for its hub: the worker then
     * applies just the peers of the nodes pending in `pending_joins` (a targeted apply) instead of
     * reading the whole network and interface. The nodes are not named here: a job coalesced with
     * others carries the data of one of them only, and the table holds them all.
     */
    joined: z.literal(true).optional(),
    /**
     * Legacy: an API from before `pending_joins` (migration 0021) named the joined nodes here and
     * wrote no pending rows for them. Accepted so that a newer worker takes such a job as it is: as a
     * full sync, which applies them.
     */
    nodeIds: z.array(id).min(1).optional(),
  })
  .strict();
export const DriftCheckPayload = z.object({ networkId: id }).strict();
export const InterfacePeersPayload = z.object({ networkId: id }).strict();
/** One task of a sync run, run on the hub host that holds the network (see src/hubs). */
export const HubTaskPayload = z
  .object({
    networkId: id,
    networkName: z.string().min(1).max(200),
    kind: z.enum(["peers", "usage"]),
    syncRunId: id,
    removeUnknown: z.boolean(),
  })
  .strict();
export const ConfigPushPayload = z.object({ nodeId: id, version: z.number().int().min(1) }).strict();
export const EmailPayload = z.object({ outboxId: id }).strict();
export const WebhookPayload = z.object({ deliveryId: id }).strict();
/** Re-seal every secret at rest under the current `ENCRYPTION_KEY` (the database says what is left). */
export const ResealPayload = z.object({}).strict();

/** Every job: its queue, its name and its payload schema. */
export const JOBS = {
  "sync-run": { queue: "peer-sync", payload: SyncRunPayload },
  "network-sync": { queue: "peer-sync", payload: NetworkSyncPayload },
  "drift-check": { queue: "peer-sync", payload: DriftCheckPayload },
  /** Reads the peers on a network's hub interface for an adoption, changing nothing. */
  "interface-peers": { queue: "peer-sync", payload: InterfacePeersPayload },
  "hub-task": { queue: "peer-sync", payload: HubTaskPayload },
  "config-push": { queue: "config-push", payload: ConfigPushPayload },
  // Any worker may run it (it needs only the database and the keys), so it rides a queue every
  // installation serves rather than one of its own.
  reseal: { queue: "config-push", payload: ResealPayload },
  "send-email": { queue: "email", payload: EmailPayload },
  "deliver-webhook": { queue: "webhook", payload: WebhookPayload },
} as const satisfies Record<string, { queue: QueueName; payload: z.ZodType }>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]["payload"]>;

/** Deterministic job ids: the same trigger twice makes one job (BullMQ ignores a duplicate id). */
export const jobIds = {
  syncRun: (syncRunId: string) => `run-${syncRunId}`,
  configPush: (nodeId: string, version: number) => `push-${nodeId}-${version}`,
  email: (outboxId: string) => `email-${outboxId}`,
  webhook: (deliveryId: string) => `delivery-${deliveryId}`,
} as const;
