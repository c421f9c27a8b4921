/** Sync runs from the page: waiting for one to finish, without outliving the view that asked. */
import { api } from "./api.js";

/** The statuses a run ends in. */
export const FINISHED = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

/** How often a followed run is asked for its status. */
export const POLL_MS = 1000;

/** Resolves after `ms`, or at once when `signal` aborts (the view went away). */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Polls a run until it finishes; resolves to the finished run, or to undefined when `signal`
 * aborts first. Throws the API's error.
 */
export async function finishedRun(runId, signal) {
  while (!signal.aborted) {
    const run = await api(`/api/v1/sync/status/${encodeURIComponent(runId)}`, { signal });
    if (FINISHED.has(run.status)) return run;
    await sleep(POLL_MS, signal);
  }
  return undefined;
}
