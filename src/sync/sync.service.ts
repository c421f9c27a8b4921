import { asc, eq } from "drizzle-orm";
import type { Principal } from "../auth/index.js";
import { describePrincipal } from "../auth/index.js";
import type { Db, SyncRunItem, SyncRunOptions, SyncType } from "../db/index.js";
import { networks, transaction } from "../db/index.js";
import { DomainError } from "../errors.js";
import { emitEvent } from "../events/index.js";
import type { JobQueue, Priority } from "../queue/index.js";
import { jobIds } from "../queue/index.js";
import type { SyncRunRow } from "./sync.repo.js";
import * as repo from "./sync.repo.js";
import { FINISHED_STATUSES } from "./sync.repo.js";
import type { TaskHandlers, TaskResult } from "./tasks.js";
import { itemOf, planTasks } from "./tasks.js";

const SECOND_MS = 1_000;
/** A PENDING run whose job vanished (Redis flush) is re-enqueued after this long. */
const PENDING_GRACE_MS = 30 * SECOND_MS;
/** A RUNNING run whose job is gone is failed after this long without progress. */
const RUNNING_GRACE_MS = 60 * SECOND_MS;
/** Keep at most this many item lines on a run; counters still count them all. */
const MAX_ITEM_LINES = 500;
/**
 * How often a running run records its progress and reads its cancel flag. Foot-gun: writing after every
 * task rewrote the item lines each time, which made a run of 2,000 networks spend most of its time there.
 */
const CHECKPOINT_INTERVAL_MS = 250;

export interface SyncRunView {
  id: string;
  type: SyncType;
  status: SyncRunRow["status"];
  itemsTotal: number;
  itemsSynced: number;
  itemsFailed: number;
  error: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
  requestedBy: string | null;
  createdAt: Date;
  jobId: string | null;
  cancelRequested: boolean;
  options: SyncRunOptions;
  items: SyncRunItem[];
}

export const toView = (r: SyncRunRow): SyncRunView => ({
  id: r.id,
  type: r.type,
  status: r.status,
  itemsTotal: r.itemsTotal,
  itemsSynced: r.itemsSynced,
  itemsFailed: r.itemsFailed,
  error: r.error,
  startedAt: r.startedAt,
  completedAt: r.completedAt,
  requestedBy: r.requestedBy,
  createdAt: r.createdAt,
  jobId: r.jobId,
  cancelRequested: r.cancelRequested,
  options: r.options,
  items: r.items,
});

export interface RequestRunInput {
  type: SyncType;
  options?: SyncRunOptions;
  requestedBy?: string | undefined;
  priority?: Priority;
  /** Scheduled runs pass the tick, so several schedulers firing at once create one run. */
  dedupeKey?: string;
}

export interface RunRequested {
  run: SyncRunView;
  /** False when the trigger could not be queued (Redis down): the stale-run check queues it later. */
  enqueued: boolean;
  /** False when a run with the same dedupe key already existed (another scheduler won the tick). */
  created: boolean;
}

export interface StaleCheckResult {
  requeued: string[];
  failed: string[];
}

export interface ExecuteOptions {
  /**
   * Aborted when the worker shuts down: the run stops at its next checkpoint and goes back to PENDING
   * (the caller hands its job back to the queue) instead of holding the job until its lock expires.
   */
  signal?: AbortSignal | undefined;
}

export type SyncService = ReturnType<typeof createSyncService>;

export interface SyncServiceDeps {
  db: Db;
  queue: JobQueue;
}

/** Sync runs: request, follow, list, cancel, execute, and the check that no run stays unfinished. */
export function createSyncService(deps: SyncServiceDeps) {
  const { db, queue } = deps;

  async function enqueueRun(run: SyncRunRow, priority: Priority): Promise<boolean> {
    const jobId = jobIds.syncRun(run.id);
    try {
      await queue.enqueue("sync-run", { syncRunId: run.id }, { priority, jobId, attempts: 3 });
      return true;
    } catch {
      // IMPORTANT: the run is already committed as PENDING; Postgres is the truth and the stale-run
      // check re-enqueues it, so a Redis outage delays the run instead of losing it.
      return false;
    }
  }

  /** `repo.finishRun` plus its `sync.completed`/`sync.failed` event, in one transaction. */
  function finishRun(...args: Parameters<typeof repo.finishRun> extends [unknown, ...infer R] ? R : never) {
    return transaction(db, async (tx) => {
      const row = await repo.finishRun(tx, ...args);
      if (row?.status === "COMPLETED" || row?.status === "FAILED") {
        await emitEvent(tx, {
          type: row.status === "COMPLETED" ? "sync.completed" : "sync.failed",
          data: runEventData(row),
        });
      }
      return row;
    });
  }

  return {
    /** Records a PENDING run and queues its job. Never fails because Redis is down (see `enqueued`). */
    async requestRun(input: RequestRunInput, principal?: Principal): Promise<RunRequested> {
      const requestedBy = input.requestedBy ?? (principal ? describePrincipal(principal) : "system");
      const inserted = await repo.insertRun(db, {
        type: input.type,
        requestedBy,
        options: input.options ?? {},
        dedupeKey: input.dedupeKey ?? null,
      });
      if (!inserted) {
        const existing = await repo.getRunByDedupeKey(db, input.dedupeKey ?? "");
        return { run: toView(existing!), enqueued: false, created: false };
      }
      const jobId = jobIds.syncRun(inserted.id);
      await repo.setJobId(db, inserted.id, jobId);
      const enqueued = await enqueueRun(inserted, input.priority ?? "default");
      return { run: toView({ ...inserted, jobId }), enqueued, created: true };
    },

    /** Throws SYNC_RUN_NOT_FOUND. */
    async getRun(id: string): Promise<SyncRunView> {
      const row = await repo.getRun(db, id);
      if (!row)
        throw new DomainError("SYNC_RUN_NOT_FOUND", `sync run ${id} does not exist`, { context: { id } });
      return toView(row);
    },

    async listRuns(q: { limit: number; offset: number; type?: SyncType | undefined }) {
      const { items, total } = await repo.listRuns(db, q);
      return { items: items.map(toView), total };
    },

    /**
     * Cancels a run. A waiting run leaves the queue and is CANCELLED at once; a running one gets the
     * cancel flag and stops at its next checkpoint. Throws SYNC_RUN_NOT_FOUND, or SYNC_RUN_FINISHED (409).
     */
    async cancelRun(id: string): Promise<SyncRunView> {
      const row = await repo.getRun(db, id);
      if (!row)
        throw new DomainError("SYNC_RUN_NOT_FOUND", `sync run ${id} does not exist`, { context: { id } });
      if (FINISHED_STATUSES.includes(row.status)) {
        throw new DomainError("SYNC_RUN_FINISHED", `sync run ${id} already finished as ${row.status}`, {
          context: { id, status: row.status },
        });
      }
      if (row.status === "PENDING") {
        if (row.jobId) await queue.remove("peer-sync", row.jobId).catch(() => false);
        // Whether or not the job was removed, the worker refuses to start a run that is not PENDING.
        const cancelled = await repo.finishRun(
          db,
          id,
          ["PENDING"],
          "CANCELLED",
          "cancelled before it started",
        );
        if (cancelled) return toView(cancelled);
      }
      const flagged = await repo.requestCancel(db, id);
      if (flagged) return toView(flagged);
      // It finished between our read and our write.
      return this.cancelRun(id);
    },

    /** Cancels the newest RUNNING run; throws SYNC_RUN_NOT_FOUND when none is running. */
    async cancelNewestRunning(): Promise<SyncRunView> {
      const row = await repo.newestRunning(db);
      if (!row) throw new DomainError("SYNC_RUN_NOT_FOUND", "no sync run is running");
      return this.cancelRun(row.id);
    },

    /**
     * Executes a run: PENDING/RUNNING → RUNNING → COMPLETED | FAILED | CANCELLED, recomputing its tasks
     * from the database (so a retry redoes the whole run safely). At checkpoints (at most every
     * `CHECKPOINT_INTERVAL_MS`) it records progress and reads the cancel flag; when `options.signal` is
     * aborted it stops before the next task and puts the run back to PENDING. Returns the final view
     * (status PENDING when handed back), or undefined when the run is finished or gone (duplicate job).
     * Throws when the database fails, so that the job retries.
     */
    async executeRun(
      id: string,
      handlers: TaskHandlers,
      options: ExecuteOptions = {},
    ): Promise<SyncRunView | undefined> {
      const run = await transaction(db, async (tx) => {
        const row = await repo.markRunning(tx, id);
        // A retried run (attempts > 1) already announced its start.
        if (row?.attempts === 1) await emitEvent(tx, { type: "sync.started", data: runEventData(row) });
        return row;
      });
      if (!run) return undefined;
      const nets = await db
        .select({ id: networks.id, name: networks.name })
        .from(networks)
        .where(run.options.networkId ? eq(networks.id, run.options.networkId) : undefined)
        .orderBy(asc(networks.name));
      const tasks = planTasks(run.type, run.options, nets);
      const progress = {
        itemsTotal: tasks.length,
        itemsSynced: 0,
        itemsFailed: 0,
        items: [] as SyncRunItem[],
      };
      let flag = await repo.setProgress(db, id, progress);
      let lastCheckpoint = performance.now();
      let interrupted = false;
      // Kept apart from the item lines, which stop at MAX_ITEM_LINES.
      let firstFailure: SyncRunItem | undefined;

      for (const task of tasks) {
        if (!flag || flag.cancelRequested) break;
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        let result: TaskResult;
        try {
          result = await handlers[task.kind](task, {
            id,
            removeUnknown: run.options.removeUnknown ?? run.type === "drift-fix",
          });
        } catch (err) {
          result = { ok: false, note: `failed: ${(err as Error).message}` };
        }
        const item = itemOf(task, result);
        if (result.ok) progress.itemsSynced += 1;
        else {
          progress.itemsFailed += 1;
          firstFailure ??= item;
        }
        if (progress.items.length < MAX_ITEM_LINES) progress.items.push(item);
        if (performance.now() - lastCheckpoint >= CHECKPOINT_INTERVAL_MS) {
          flag = await repo.setProgress(db, id, progress);
          lastCheckpoint = performance.now();
          // For the live stream only (never relayed): at most one per checkpoint.
          await emitEvent(db, { type: "sync.progress", data: progressEventData(run, progress) });
        }
      }
      // The last checkpoint: final counters, and a last look at the cancel flag.
      if (flag && !flag.cancelRequested) flag = await repo.setProgress(db, id, progress);

      if (!flag || flag.cancelRequested) {
        const cancelled = await repo.finishRun(db, id, ["RUNNING"], "CANCELLED", "cancelled while running");
        return cancelled ? toView(cancelled) : toView((await repo.getRun(db, id))!);
      }
      if (interrupted) {
        const released = await repo.releaseRun(db, id);
        if (released) return toView(released);
        // A cancel arrived between the checkpoint and the release: honour it.
        const cancelled = await repo.finishRun(db, id, ["RUNNING"], "CANCELLED", "cancelled while running");
        return cancelled ? toView(cancelled) : toView((await repo.getRun(db, id))!);
      }
      const done =
        progress.itemsFailed === 0
          ? await finishRun(id, ["RUNNING"], "COMPLETED")
          : await finishRun(
              id,
              ["RUNNING"],
              "FAILED",
              `${progress.itemsFailed} of ${tasks.length} tasks failed; first: ${firstFailure!.kind} ${firstFailure!.name}: ${firstFailure!.note}`,
            );
      return done ? toView(done) : undefined;
    },

    /** Marks a run FAILED with `error` (used when its job has no attempts left). */
    async failRun(id: string, error: string): Promise<void> {
      await finishRun(id, ["PENDING", "RUNNING"], "FAILED", error);
    },

    /**
     * Repairs runs whose trigger was lost: a PENDING run with no job is queued again; a RUNNING run whose
     * job is gone (or finished without finishing the run) is FAILED. Safe to run from several schedulers.
     */
    async checkStaleRuns(now = new Date()): Promise<StaleCheckResult> {
      const result: StaleCheckResult = { requeued: [], failed: [] };
      const candidates = await repo.unfinishedSince(db, new Date(now.getTime() - PENDING_GRACE_MS));
      for (const run of candidates) {
        const jobId = run.jobId ?? jobIds.syncRun(run.id);
        const state = await queue.state("peer-sync", jobId);
        const jobAlive = state !== undefined && state !== "completed" && state !== "failed";
        if (jobAlive) continue;
        if (run.status === "PENDING") {
          if (state !== undefined) await queue.remove("peer-sync", jobId);
          if (await enqueueRun(run, "default")) result.requeued.push(run.id);
        } else if (run.updatedAt.getTime() < now.getTime() - RUNNING_GRACE_MS) {
          const failed = await finishRun(
            run.id,
            ["RUNNING"],
            "FAILED",
            `its job ${jobId} was lost (${state ?? "gone from the queue"}) while running`,
            { updatedBefore: new Date(now.getTime() - RUNNING_GRACE_MS) },
          );
          if (failed) result.failed.push(run.id);
        }
      }
      return result;
    },
  };
}

/** What `sync.*` events say about a run: ids, counters and the error, never options' secrets. */
/** `sync.progress` data: the run's counters at a checkpoint (its items stay in the run). */
function progressEventData(
  r: SyncRunRow,
  progress: { itemsTotal: number; itemsSynced: number; itemsFailed: number },
): Record<string, unknown> {
  const { itemsTotal, itemsSynced, itemsFailed } = progress;
  return {
    run: {
      ...(runEventData(r).run as Record<string, unknown>),
      status: "RUNNING",
      itemsTotal,
      itemsSynced,
      itemsFailed,
    },
  };
}

export function runEventData(r: SyncRunRow): Record<string, unknown> {
  return {
    run: {
      id: r.id,
      type: r.type,
      status: r.status,
      itemsTotal: r.itemsTotal,
      itemsSynced: r.itemsSynced,
      itemsFailed: r.itemsFailed,
      error: r.error,
      requestedBy: r.requestedBy,
      ...(r.options.networkId ? { networkId: r.options.networkId } : {}),
    },
  };
}
