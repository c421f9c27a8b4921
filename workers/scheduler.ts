/**
 * The scheduler: node-cron jobs that keep the system converging without anyone asking, and its
 * history from piling up. Every tick is safe to run in several processes at once (each job is
 * idempotent or deduplicated in Postgres).
 */

import type { Logger as CronLogger, ScheduledTask } from "node-cron";
import cron from "node-cron";
import { OUTBOX_CHANNEL } from "../src/events/index.js";
import type { ProgressMonitor } from "../src/health/index.js";
import type { Logger } from "../src/logger.js";
import type { LivenessService } from "../src/mesh/index.js";
import type { Relay } from "../src/notify/index.js";
import type { QuotaService } from "../src/quota/index.js";
import type { Retention } from "../src/retention/index.js";
import type { SettingsService } from "../src/settings/index.js";
import type { SyncService } from "../src/sync/index.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SchedulerDeps {
  sync: SyncService;
  liveness: LivenessService;
  settings: SettingsService;
  logger: Logger;
  staleRunCheckCron: string;
  nodeOfflineAfterSeconds: number;
  /** False to build the scheduler without cron timers (tests call its ticks directly). */
  timers?: boolean;
  /** Prunes finished history older than `days` every hour (0: never). */
  retention?: { days: number; service: Retention };
  /** The outbox relay, run every `intervalMs` and on every outbox NOTIFY from `listen`. */
  relay?: {
    relay: Relay;
    intervalMs: number;
    listen?: (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;
  };
  /** Hears of every tick's start and end, so a tick that never ends marks the worker unhealthy. */
  progress?: ProgressMonitor;
  /** Restores nodes disabled for their quota once their month has turned (every minute). */
  quota?: Pick<QuotaService, "restoreForNewMonth">;
}

export interface Scheduler {
  /** Runs the stale-run check now (also what each tick does). */
  checkStaleRuns(): Promise<void>;
  /** Marks nodes offline that missed their heartbeats, each with a `node.offline` event (also each tick). */
  checkNodeLiveness(): Promise<void>;
  /**
   * Requests the scheduled full reconcile when a new interval slot has begun. Every scheduler
   * computes the same slot, and the slot is the run's dedupe key: two schedulers, one run.
   * Returns the run id when this call created it.
   */
  reconcileTick(now?: Date): Promise<string | undefined>;
  /** Runs the relay now, or once more right after the current run when one is under way. */
  kickRelay(): Promise<void>;
  /** Prunes finished history older than the retention period (also what each hourly tick does). */
  pruneHistory(now?: Date): Promise<void>;
  /** Enables nodes disabled for their quota whose month has turned (also each minute's tick). */
  restoreQuotas(now?: Date): Promise<void>;
  stop(): Promise<void>;
}

export function startScheduler(deps: SchedulerDeps): Scheduler {
  const log = deps.logger.child({ component: "scheduler" });
  const tasks: ScheduledTask[] = [];

  async function checkStaleRuns() {
    try {
      const { requeued, failed } = await deps.sync.checkStaleRuns();
      if (requeued.length > 0) log.warn({ runs: requeued }, "requeued sync runs whose job was lost");
      if (failed.length > 0) log.warn({ runs: failed }, "failed sync runs whose job was lost while running");
    } catch (err) {
      log.error({ err }, "stale run check failed");
    }
  }

  async function checkNodeLiveness() {
    try {
      const before = new Date(Date.now() - deps.nodeOfflineAfterSeconds * 1000);
      const offline = await deps.liveness.markStaleNodesOffline(before);
      if (offline.length > 0) log.info({ nodes: offline.map((n) => n.id) }, "nodes went offline");
    } catch (err) {
      log.error({ err }, "node liveness check failed");
    }
  }

  let lastSlot: string | undefined;
  async function reconcileTick(now = new Date()): Promise<string | undefined> {
    try {
      const { autoSyncEnabled, autoSyncInterval } = await deps.settings.syncSettings();
      if (!autoSyncEnabled) return undefined;
      const slot = `auto:${autoSyncInterval}:${Math.floor(now.getTime() / 1000 / autoSyncInterval)}`;
      if (slot === lastSlot) return undefined;
      lastSlot = slot;
      const { run, created } = await deps.sync.requestRun({
        type: "full",
        requestedBy: "scheduler",
        priority: "low",
        dedupeKey: slot,
      });
      if (created) log.info({ syncRunId: run.id }, "scheduled reconcile requested");
      return created ? run.id : undefined;
    } catch (err) {
      lastSlot = undefined;
      log.error({ err }, "scheduled reconcile failed to start");
      return undefined;
    }
  }

  async function pruneHistory(now = new Date()) {
    const retention = deps.retention;
    if (!retention || retention.days === 0) return;
    try {
      const before = new Date(now.getTime() - retention.days * DAY_MS);
      const gone = await retention.service.prune(before);
      if (gone.events + gone.syncRuns + gone.emails > 0)
        log.info({ ...gone, before: before.toISOString() }, "pruned finished history");
    } catch (err) {
      log.error({ err }, "pruning finished history failed");
    }
  }

  async function restoreQuotas(now = new Date()) {
    if (!deps.quota) return;
    try {
      const restored = await deps.quota.restoreForNewMonth(now);
      if (restored.length > 0) log.info({ nodes: restored }, "nodes restored at the month's turn");
    } catch (err) {
      log.error({ err }, "restoring nodes disabled for their quota failed");
    }
  }

  const tracked = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const end = deps.progress?.begin(`${name} tick`);
    try {
      return await fn();
    } finally {
      end?.();
    }
  };
  /**
   * Foot-gun: node-cron 4 calls a task with its own context object, which a tick taking an optional
   * `now` would read as a Date (the hourly prune died on `now.getTime`). Ticks are called with no
   * argument, and node-cron's own warnings (missed or overlapping runs) go to our log, not the console.
   * noOverlap: a tick still running skips the next; the progress monitor notices one that never ends.
   */
  const every = (expression: string, tick: () => Promise<unknown>, name: string) => {
    if (!(deps.timers ?? true)) return;
    const logger = cronLogger(log, name);
    tasks.push(cron.schedule(expression, () => tracked(name, tick), { name, noOverlap: true, logger }));
  };

  // Every 5 s: settings changes apply within seconds, without a restart.
  every("*/5 * * * * *", reconcileTick, "reconcile");
  every(deps.staleRunCheckCron, checkStaleRuns, "stale-run-check");
  every("* * * * *", checkNodeLiveness, "node-liveness");
  every("17 * * * *", pruneHistory, "retention");
  every("* * * * *", restoreQuotas, "quota-restore");

  // The relay runs one at a time per process; kicks during a run coalesce into one more run.
  let relaying: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  async function relayLoop(relay: Relay) {
    do {
      again = false;
      try {
        // Tracked run by run: under a steady stream of kicks the loop itself may never end.
        const r = await tracked("outbox-relay", () => relay.run());
        if (r.requeued > 0) log.warn({ requeued: r.requeued }, "requeued notifications whose job was lost");
        if (r.enqueueFailures > 0) log.warn({ failures: r.enqueueFailures }, "could not queue notifications");
      } catch (err) {
        log.error({ err }, "outbox relay failed");
      }
    } while (again && !stopped);
  }
  function kickRelay(): Promise<void> {
    const relay = deps.relay?.relay;
    if (!relay || stopped) return Promise.resolve();
    if (relaying) {
      again = true;
      return relaying;
    }
    relaying = relayLoop(relay).finally(() => {
      relaying = undefined;
    });
    return relaying;
  }
  const timer = deps.relay ? setInterval(() => void kickRelay(), deps.relay.intervalMs) : undefined;
  timer?.unref();
  let unlisten: (() => Promise<void>) | undefined;
  deps.relay
    ?.listen?.(OUTBOX_CHANNEL, () => void kickRelay())
    .then(
      (stop) => {
        unlisten = stop;
      },
      (err) => log.warn({ err }, "cannot listen for outbox notices; relaying on the timer only"),
    );
  void kickRelay();

  return {
    checkStaleRuns,
    checkNodeLiveness,
    reconcileTick,
    kickRelay,
    pruneHistory,
    restoreQuotas,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await unlisten?.().catch(() => {});
      await relaying;
      await Promise.all(tasks.map((t) => t.destroy()));
    },
  };
}

/** node-cron's logger interface over ours: one JSON line per message, tagged with the task's name. */
function cronLogger(log: Logger, task: string): CronLogger {
  const withErr = (message: string | Error, err?: Error) =>
    message instanceof Error ? { task, err: message } : { task, ...(err ? { err } : {}) };
  const text = (message: string | Error) => (message instanceof Error ? "cron task failed" : message);
  return {
    info: (message) => log.info({ task }, message),
    warn: (message) => log.warn({ task }, message),
    error: (message, err) => log.error(withErr(message, err), text(message)),
    debug: (message, err) => log.debug(withErr(message, err), text(message)),
  };
}
