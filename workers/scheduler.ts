/**
 * The scheduler: node-cron jobs that keep the system converging without anyone asking, and its
 * history from piling up. Run it in as many processes as you like: each tick first claims its period
 * in Postgres (`TickClaims`), so one process does each period's work, and the outbox relay runs in one
 * process at a time.
 */

import type { Logger as CronLogger, ScheduledTask, TaskContext } from "node-cron";
import cron from "node-cron";
import { OUTBOX_CHANNEL } from "../src/events/index.js";
import type { ProgressMonitor } from "../src/health/index.js";
import type { Logger } from "../src/logger.js";
import type { LivenessService, RekeyService } from "../src/mesh/index.js";
import type { Relay } from "../src/notify/index.js";
import type { QuotaService } from "../src/quota/index.js";
import type { Retention } from "../src/retention/index.js";
import type { TickClaims, TickName } from "../src/scheduler-claims/index.js";
import { DEFAULT_TICK_CRONS } from "../src/scheduler-claims/index.js";
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
  /**
   * Claims each tick's period before its work, so that of all processes running the scheduler one
   * does it. Without: this process does every tick (a scheduler alone, or a test calling ticks).
   */
  claims?: TickClaims;
  /** When the other cron ticks fire (`DEFAULT_TICK_CRONS` for those not given). */
  crons?: Partial<Record<keyof typeof DEFAULT_TICK_CRONS, string>>;
  /** False to build the scheduler without cron timers (tests call its ticks directly). */
  timers?: boolean;
  /**
   * Prunes finished history older than `days`, and hourly usage older than `usageHourDays`, on its
   * tick, hourly by default (0: never).
   */
  retention?: { days: number; usageHourDays?: number; service: Retention };
  /** The outbox relay, run every `intervalMs` and on every outbox NOTIFY from `listen`. */
  relay?: {
    relay: Relay;
    intervalMs: number;
    listen?: (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;
  };
  /** Hears of every tick's start and end, so a tick that never ends marks the worker unhealthy. */
  progress?: ProgressMonitor;
  /** Restores nodes disabled for their quota once their month has turned (every minute by default). */
  quota?: Pick<QuotaService, "restoreForNewMonth">;
  /**
   * Switches hub key rotations whose agents all confirmed or whose deadline passed (every 10 s by
   * default). Not claimed: a switch locks its network's row, so a second process finds nothing to do.
   */
  hubKeys?: Pick<RekeyService, "switchDueHubKeys">;
}

/**
 * The ticks' work, callable directly. `checkStaleRuns`, `checkNodeLiveness`, `pruneHistory` and
 * `restoreQuotas` do their work in this process when called; their cron ticks call them only once
 * this process has claimed the tick's slot.
 */
export interface Scheduler {
  /** Runs the stale-run check now (what each claimed tick does). */
  checkStaleRuns(): Promise<void>;
  /** Marks nodes offline that missed their heartbeats, each with a `node.offline` event (each claimed tick). */
  checkNodeLiveness(): Promise<void>;
  /**
   * Requests the scheduled full reconcile when a new interval slot has begun and this process
   * claims it. Every scheduler computes the same slot, which is also the run's dedupe key: any
   * number of schedulers, one run per slot. Returns the run id when this call created it.
   */
  reconcileTick(now?: Date): Promise<string | undefined>;
  /**
   * Runs the relay now (when no other process is relaying), or once more right after the current
   * run when one is under way in this process.
   */
  kickRelay(): Promise<void>;
  /** Prunes finished history and hourly usage older than their retention now (what each claimed tick does). */
  pruneHistory(now?: Date): Promise<void>;
  /** Enables nodes disabled for their quota whose month has turned (what each claimed tick does). */
  restoreQuotas(now?: Date): Promise<void>;
  /** Switches the hub key rotations that are due (what each tick does). */
  switchHubKeys(now?: Date): Promise<void>;
  stop(): Promise<void>;
}

export function startScheduler(deps: SchedulerDeps): Scheduler {
  const log = deps.logger.child({ component: "scheduler" });
  const tasks: ScheduledTask[] = [];
  const claims = deps.claims;
  const crons = { ...DEFAULT_TICK_CRONS, ...deps.crons };

  /**
   * True when this process does `tick`'s work for the period starting at `slot`: no claims (a
   * scheduler alone), or the claim won. A claim that failed (the database down) is logged and
   * answers undefined: not won, and the slot may be tried again.
   */
  async function claim(tick: TickName, slot: Date): Promise<boolean | undefined> {
    if (!claims) return true;
    try {
      const won = await claims.claim(tick, slot);
      if (won) log.debug({ tick, slot: slot.toISOString(), holder: claims.holder }, "tick claimed");
      return won;
    } catch (err) {
      log.error({ err, tick }, "claiming a scheduler tick failed");
      return undefined;
    }
  }

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
      const index = Math.floor(now.getTime() / 1000 / autoSyncInterval);
      const slot = `auto:${autoSyncInterval}:${index}`;
      if (slot === lastSlot) return undefined;
      lastSlot = slot;
      // The slot's start in time, so claims stay in order when the interval changes.
      const slotStart = new Date(index * autoSyncInterval * 1000);
      const won = await claim("reconcile", slotStart);
      if (won === undefined) lastSlot = undefined;
      if (!won) return undefined;
      const { run, created } = await deps.sync.requestRun({
        type: "full",
        requestedBy: "scheduler",
        priority: "low",
        dedupeKey: slot,
      });
      if (created) log.info({ syncRunId: run.id }, "scheduled reconcile requested");
      ranTick("reconcile", slotStart, { syncRunId: created ? run.id : undefined });
      return created ? run.id : undefined;
    } catch (err) {
      lastSlot = undefined;
      log.error({ err }, "scheduled reconcile failed to start");
      return undefined;
    }
  }

  async function pruneHistory(now = new Date()) {
    const retention = deps.retention;
    if (!retention) return;
    try {
      if (retention.days > 0) {
        const before = new Date(now.getTime() - retention.days * DAY_MS);
        const gone = await retention.service.prune(before);
        if (gone.events + gone.syncRuns + gone.emails > 0)
          log.info({ ...gone, before: before.toISOString() }, "pruned finished history");
      }
      if (retention.usageHourDays) {
        const before = new Date(now.getTime() - retention.usageHourDays * DAY_MS);
        const usageHours = await retention.service.pruneUsageHours(before);
        if (usageHours > 0) log.info({ usageHours, before: before.toISOString() }, "pruned hourly usage");
      }
    } catch (err) {
      log.error({ err }, "pruning finished history failed");
    }
  }

  async function switchHubKeys(now = new Date()) {
    if (!deps.hubKeys) return;
    const switched = await deps.hubKeys.switchDueHubKeys(now);
    if (switched.length > 0) log.info({ networks: switched }, "hub keys switched");
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
  /** One line per period's work done (with `LOG_LEVEL=debug`): which tick, which slot, which process. */
  function ranTick(tick: TickName, slot: Date, fields: Record<string, unknown> = {}) {
    log.debug({ tick, slot: slot.toISOString(), holder: claims?.holder, ...fields }, "tick ran");
  }

  const schedule = (expression: string, name: string, fn: (context: TaskContext) => Promise<unknown>) => {
    if (!(deps.timers ?? true)) return;
    const logger = cronLogger(log, name);
    tasks.push(
      cron.schedule(expression, (context) => tracked(name, () => fn(context)), {
        name,
        noOverlap: true,
        logger,
      }),
    );
  };
  /**
   * A cron tick whose slot is its fire time: the same instant in every process, however late its
   * timer ran, so all of them claim the same slot and one wins.
   * Foot-gun: node-cron 4 calls a task with its own context object, which a tick taking an optional
   * `now` would read as a Date (the hourly prune died on `now.getTime`). Ticks are called with no
   * argument, and node-cron's own warnings (missed or overlapping runs) go to our log, not the console.
   * noOverlap: a tick still running skips the next; the progress monitor notices one that never ends.
   */
  const every = (expression: string, name: TickName, tick: () => Promise<unknown>) =>
    schedule(expression, name, async ({ date }) => {
      if (!(await claim(name, date))) return;
      await tick();
      ranTick(name, date);
    });

  // Every 5 s: settings changes apply within seconds, without a restart. Claimed per interval slot.
  schedule("*/5 * * * * *", "reconcile", () => reconcileTick());
  every(deps.staleRunCheckCron, "stale-run-check", checkStaleRuns);
  every(crons.nodeLiveness, "node-liveness", checkNodeLiveness);
  if (deps.retention && (deps.retention.days > 0 || deps.retention.usageHourDays))
    every(crons.retention, "retention", pruneHistory);
  if (deps.quota) every(crons.quotaRestore, "quota-restore", restoreQuotas);
  if (deps.hubKeys) schedule(crons.hubKeyRotation, "hub-key-rotation", () => switchHubKeys());

  /**
   * The relay runs one at a time per process, and under the claims' lock one at a time across
   * processes; kicks during a run coalesce into one more run. A kick that finds another process
   * relaying is dropped: that process heard the same outbox notice, so it runs once more after it.
   */
  let relaying: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  /** One relay run, timed from inside the lock: runs of two processes never overlap. */
  const timedRun = async (relay: Relay) => {
    const startedAt = new Date();
    const result = await relay.run();
    return { ...result, startedAt, endedAt: new Date() };
  };
  const relayOnce = (relay: Relay) =>
    claims
      ? claims.exclusive("outbox-relay", () => timedRun(relay))
      : timedRun(relay).then((value) => ({ ran: true as const, value }));
  async function relayLoop(relay: Relay) {
    do {
      again = false;
      try {
        // Tracked run by run: under a steady stream of kicks the loop itself may never end.
        const r = await tracked("outbox-relay", () => relayOnce(relay));
        if (!r.ran) {
          log.debug({ tick: "outbox-relay", holder: claims?.holder }, "outbox relay busy in another process");
          continue;
        }
        const { events, deliveries, emails, requeued, enqueueFailures, startedAt, endedAt } = r.value;
        log.debug(
          {
            tick: "outbox-relay",
            holder: claims?.holder,
            events,
            deliveries,
            emails,
            requeued,
            startedAt: startedAt.toISOString(),
            endedAt: endedAt.toISOString(),
          },
          "outbox relay ran",
        );
        if (requeued > 0) log.warn({ requeued }, "requeued notifications whose job was lost");
        if (enqueueFailures > 0) log.warn({ failures: enqueueFailures }, "could not queue notifications");
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
  /**
   * The relay's interval tick: kicks the relay when this process claims the interval slot of `now`
   * (`intervalMs` long: each process's timer fires once in it, one claims it). True when it claimed it.
   */
  async function relayTick(now = new Date()): Promise<boolean> {
    const intervalMs = deps.relay?.intervalMs;
    if (!intervalMs || stopped) return false;
    const slot = new Date(Math.floor(now.getTime() / intervalMs) * intervalMs);
    if (!(await claim("outbox-relay", slot))) return false;
    await kickRelay();
    ranTick("outbox-relay", slot);
    return true;
  }
  const timer = deps.relay ? setInterval(() => void relayTick(), deps.relay.intervalMs) : undefined;
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
    switchHubKeys,
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
