/**
 * The apply throttle of one worker's interfaces: leading edge and trailing batch. A sync that finds its
 * interface idle runs at once; syncs arriving while another operation holds the interface, or within
 * the window after a coalesced write, join one trailing sync that runs when the window since the last
 * write has passed. So a lone change never waits for a throttle, and a burst lands in few writes: the
 * first at once, then one per window while it lasts.
 */

/** How a sync arriving now is applied: at once, or folded into the interface's trailing sync. */
export type ApplyTurn = "now" | "coalesce";

/** What the throttle knows of one interface when a sync arrives. */
export interface ThrottleState {
  /** Some operation holds the interface or waits for it. */
  busy: boolean;
  /** When the last write that carried coalesced syncs happened (performance.now() ms), if any. */
  lastCoalescedWriteAt: number | undefined;
}

/**
 * The decision for a sync arriving at `nowMs`: `now` when the interface is idle and no coalesced
 * write happened within `intervalMs` (a burst is not going on), else `coalesce`. An interval of 0
 * turns the throttle off: always `now`.
 */
export function applyTurn(state: ThrottleState, nowMs: number, intervalMs: number): ApplyTurn {
  if (intervalMs <= 0) return "now";
  if (state.busy) return "coalesce";
  const last = state.lastCoalescedWriteAt;
  return last !== undefined && nowMs - last < intervalMs ? "coalesce" : "now";
}

/**
 * How long a trailing sync taking its turn at `nowMs` still waits: the rest of `intervalMs` since the
 * interface's last write, 0 when it has passed or nothing was written yet.
 */
export function trailingWaitMs(lastWriteAt: number | undefined, nowMs: number, intervalMs: number): number {
  if (lastWriteAt === undefined) return 0;
  return Math.max(0, lastWriteAt + intervalMs - nowMs);
}

/**
 * One throttle per peer-sync service. `run(iface, key, sync)` runs `sync` under the
 * interface's lock, at once or as (part of) the trailing sync; callers whose `key` matches the waiting
 * trailing sync share its result instead of queueing another. `sync` gets whether it runs coalesced
 * and must call `wrote` when it wrote to the interface.
 */
export function createApplyThrottle(deps: {
  intervalMs: number;
  /** Whether some operation holds `iface` or waits for it. */
  isBusy(iface: string): boolean;
  /** Runs `fn` after every earlier operation on `iface` has finished. */
  exclusive<T>(iface: string, fn: () => Promise<T>): Promise<T>;
  now?: () => number;
}) {
  const now = deps.now ?? (() => performance.now());
  const lastWrite = new Map<string, number>();
  const lastCoalesced = new Map<string, number>();
  /** The trailing sync of each interface that has not begun reading yet: later arrivals may join it. */
  const waiting = new Map<string, { key: string; result: Promise<unknown> }>();

  function run<T>(iface: string, key: string, sync: (coalesced: boolean) => Promise<T>): Promise<T> {
    const turn = applyTurn(
      { busy: deps.isBusy(iface), lastCoalescedWriteAt: lastCoalesced.get(iface) },
      now(),
      deps.intervalMs,
    );
    if (turn === "now") return deps.exclusive(iface, () => sync(false));
    const joinable = waiting.get(iface);
    if (joinable && joinable.key === key) return joinable.result as Promise<T>;
    const entry = { key, result: Promise.resolve() as Promise<unknown> };
    const result = deps.exclusive(iface, async () => {
      const waitMs = trailingWaitMs(lastWrite.get(iface), now(), deps.intervalMs);
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
      // IMPORTANT: from here on the sync reads the database; a change committed after this point may
      // be missed by the read, so its caller must not join.
      if (waiting.get(iface) === entry) waiting.delete(iface);
      return sync(true);
    });
    entry.result = result;
    if (!joinable) waiting.set(iface, entry);
    return result;
  }

  return {
    run,
    /** Notes that `iface` was just written to, by a sync that ran coalesced or not. */
    wrote(iface: string, coalesced: boolean): void {
      const at = now();
      lastWrite.set(iface, at);
      if (coalesced) lastCoalesced.set(iface, at);
    },
    /**
     * Notes that the last write to `iface` turned out to be part of a burst, though the sync now
     * arriving found the interface idle (a targeted apply that read several nodes pending since that
     * write). Syncs arriving within the window after that write then join the trailing one, as if
     * they had arrived during it. Returns whether a sync arriving now would wait for the trailing
     * write (false when the window has passed, or nothing was written).
     */
    burst(iface: string): boolean {
      const at = lastWrite.get(iface);
      if (at === undefined || deps.intervalMs <= 0) return false;
      lastCoalesced.set(iface, at);
      return now() - at < deps.intervalMs;
    },
  };
}
