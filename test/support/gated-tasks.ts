/** Sync run tasks a test lets through one at a time, for following a run checkpoint by checkpoint. */
import type { TaskHandler } from "../../src/sync/index.js";

export interface GatedTasks {
  /** The handler for every task kind of `executeRun`; each call waits for its turn. */
  task: TaskHandler;
  /** Lets `n` more tasks finish (in the order they started). */
  allow(n: number): void;
}

/**
 * Tasks that each take `workMs` of (simulated) work and finish only once allowed. With `workMs`
 * longer than the time between a run's checkpoints, each finished task is one checkpoint and one
 * sync.progress event.
 */
export function gatedTasks(workMs = 300): GatedTasks {
  let allowed = 0;
  let started = 0;
  const waiters: (() => void)[] = [];
  return {
    allow(n) {
      allowed += n;
      for (const wake of waiters.splice(0)) wake();
    },
    async task() {
      const mine = ++started;
      const work = new Promise((resolve) => setTimeout(resolve, workMs));
      while (mine > allowed) await new Promise<void>((resolve) => waiters.push(resolve));
      await work;
      return { ok: true, note: "done" };
    },
  };
}
