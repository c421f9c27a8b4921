/**
 * Sync runs from the page: waiting for one to finish, without outliving the view that asked. The
 * live stream's events about a run wake the wait at once; a slow poll covers what sends no event
 * (a run cancelled, a stream that is down).
 */
import { api } from "./api.js";
import { onLive } from "./live.js";

/** The statuses a run ends in. */
export const FINISHED = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

/** How often a followed run is asked for its status when no event about it comes. */
export const FALLBACK_POLL_MS = 3_000;

/**
 * A wait that can be cut short. `wait(ms)` resolves after `ms`, when `signal` aborts, or when
 * `wake()` is called; a `wake()` that came while nothing waited makes the next `wait` resolve at
 * once, so an event that arrives during a request is not lost.
 */
export function waker(signal) {
  let isPending = false;
  let finish;
  signal.addEventListener("abort", () => finish?.());
  return {
    wake() {
      isPending = true;
      finish?.();
    },
    wait(ms) {
      if (isPending || signal.aborted) {
        isPending = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const timer = setTimeout(() => finish(), ms);
        finish = () => {
          clearTimeout(timer);
          finish = undefined;
          isPending = false;
          resolve();
        };
      });
    },
  };
}

/**
 * Wakes `alarm` for each live event about run `runId`, and when the stream may have missed some,
 * until `signal` aborts.
 */
export function wakeOnRunEvents(runId, alarm, signal) {
  onLive((event) => {
    if (event.type === "live.resync" || event.data?.run?.id === runId) alarm.wake();
  }, signal);
}

/**
 * Follows a run until it finishes: calls `onRun(run)` with each view of it read from the API and
 * resolves to the finished run, or to undefined when `signal` aborts first. `alarm` (a `waker`) lets
 * the caller make it read again at once, after it asked for a change. Throws the API's error.
 */
export async function followRun(runId, signal, { onRun = () => {}, alarm = waker(signal) } = {}) {
  const scope = new AbortController();
  const stop = () => scope.abort();
  signal.addEventListener("abort", stop);
  wakeOnRunEvents(runId, alarm, scope.signal);
  try {
    while (!signal.aborted) {
      const run = await api(`/api/v1/sync/status/${encodeURIComponent(runId)}`, { signal });
      onRun(run);
      if (FINISHED.has(run.status)) return run;
      await alarm.wait(FALLBACK_POLL_MS);
    }
    return undefined;
  } finally {
    signal.removeEventListener("abort", stop);
    scope.abort();
  }
}
