/**
 * Progress of a worker process: every job and scheduler tick is an activity that begins and ends.
 * One running longer than the bound means the worker cannot make progress (a dependency hangs, or a
 * bug); readiness reports it until the activity ends, so the worker recovers without a restart.
 */
import type { HealthCheck } from "./check.js";
import { HealthCheckError } from "./check.js";

export interface ProgressMonitor {
  /** Marks one unit of work as started; call the returned function (once) when it ends, however. */
  begin(activity: string): () => void;
  /** Activities running longer than the bound at `nowMs`, longest-running first. */
  stuck(nowMs?: number): { activity: string; runningMs: number }[];
  /** Readiness check: throws a `HealthCheckError` naming the stuck activities, if any. */
  readonly check: HealthCheck;
}

/** A monitor whose activities count as stuck after `stuckAfterMs`; `now` is injectable for tests. */
export function createProgressMonitor(stuckAfterMs: number, now: () => number = Date.now): ProgressMonitor {
  const running = new Map<number, { activity: string; startedMs: number }>();
  let nextId = 0;

  function stuck(nowMs = now()) {
    return [...running.values()]
      .map((r) => ({ activity: r.activity, runningMs: nowMs - r.startedMs }))
      .filter((r) => r.runningMs > stuckAfterMs)
      .sort((a, b) => b.runningMs - a.runningMs);
  }

  return {
    begin(activity) {
      const id = nextId++;
      running.set(id, { activity, startedMs: now() });
      return () => {
        running.delete(id);
      };
    },
    stuck,
    async check() {
      const late = stuck();
      if (late.length === 0) return;
      const names = [...new Set(late.map((l) => l.activity))].join(", ");
      throw new HealthCheckError(
        `no progress: ${late.length} running longer than ${stuckAfterMs} ms (${names})`,
      );
    },
  };
}
