/**
 * Health: liveness (the process answers) and readiness (every dependency answers within a timeout).
 * Owns no connections: checks are functions handed in by the entry point. Never reports a secret, an
 * address or a driver's message: a failed check says it timed out, or carries a `HealthCheckError`'s
 * own words, or just "unavailable"; the real error goes to `onFailure` (the log).
 */

import type { HealthCheck } from "./check.js";
import { HealthCheckError } from "./check.js";

export type { HealthCheck } from "./check.js";
export { HealthCheckError } from "./check.js";
export type { ProgressMonitor } from "./progress.js";
export { createProgressMonitor } from "./progress.js";

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface Readiness {
  status: "ok" | "unavailable";
  checks: Record<string, CheckResult>;
  /** Names of the failed dependencies, for the 503 message. */
  failed: string[];
}

const CHECK_TIMEOUT_MS = 2_000;

class CheckTimeoutError extends HealthCheckError {}

export type HealthService = ReturnType<typeof createHealthService>;

/**
 * Runs every check in parallel, each bounded by a timeout. `onFailure` hears each failed check's real
 * error (to log it); the result shows only a safe description.
 */
export function createHealthService(
  checks: Record<string, HealthCheck>,
  timeoutMs = CHECK_TIMEOUT_MS,
  onFailure: (name: string, err: unknown) => void = () => {},
) {
  async function run(name: string, check: HealthCheck): Promise<[string, CheckResult]> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new CheckTimeoutError(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      return [name, { ok: true, latencyMs: Math.round(performance.now() - started) }];
    } catch (err) {
      onFailure(name, err);
      const message = err instanceof HealthCheckError ? err.message : "unavailable";
      return [
        name,
        // Long enough for a problem and its fix (a hub that does not forward says what to run).
        { ok: false, latencyMs: Math.round(performance.now() - started), error: message.slice(0, 600) },
      ];
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    /** Readiness of every dependency; never throws. */
    async ready(): Promise<Readiness> {
      const results = Object.fromEntries(
        await Promise.all(Object.entries(checks).map(([n, c]) => run(n, c))),
      );
      const failed = Object.entries(results)
        .filter(([, r]) => !r.ok)
        .map(([n]) => n);
      return { status: failed.length === 0 ? "ok" : "unavailable", checks: results, failed };
    },
  };
}
