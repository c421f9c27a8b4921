/**
 * Health: liveness (the process answers) and readiness (every dependency answers within a timeout).
 * Owns no connections: checks are functions handed in by the entry point. Never reports a secret;
 * a failed check names the dependency and the error's message only.
 */

export type HealthCheck = () => Promise<void>;

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

export type HealthService = ReturnType<typeof createHealthService>;

/** Runs every check in parallel, each bounded by a timeout. */
export function createHealthService(checks: Record<string, HealthCheck>, timeoutMs = CHECK_TIMEOUT_MS) {
  async function run(name: string, check: HealthCheck): Promise<[string, CheckResult]> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return [name, { ok: true, latencyMs: Math.round(performance.now() - started) }];
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
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
