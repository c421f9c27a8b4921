/** Following sync runs through the API, as a client would. */
import { expect, vi } from "vitest";
import type { SyncStatus } from "../../src/db/index.js";
import type { Json } from "./http.js";
import { json } from "./http.js";
import type { TestPlatform } from "./platform.js";

/** Starts a run (`full`, `peers`, `configs`, `usage`) and returns its 202 body's data. */
export async function requestSync(
  t: TestPlatform,
  type: string,
  body?: Record<string, unknown>,
): Promise<{ sync_log_id: string; task_id: string; status: "PENDING" }> {
  const res = await t.request(`/api/v1/sync/${type}`, { method: "POST", ...(body ? { body } : {}) });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await json(res)).data;
}

export async function getRun(t: TestPlatform, id: string): Promise<Json> {
  const res = await t.request(`/api/v1/sync/status/${id}`);
  expect(res.status).toBe(200);
  return (await json(res)).data;
}

/** Polls the run until `accept` holds (default: it reached `status`), and returns it. */
export async function waitForRun(
  t: TestPlatform,
  id: string,
  status: SyncStatus,
  options: { timeoutMs?: number; accept?: (run: Json) => boolean } = {},
): Promise<Json> {
  return vi.waitFor(
    async () => {
      const run = await getRun(t, id);
      if (options.accept)
        expect(options.accept(run), JSON.stringify({ ...run, items: undefined })).toBe(true);
      else expect(run.status, JSON.stringify({ ...run, items: undefined })).toBe(status);
      return run;
    },
    { timeout: options.timeoutMs ?? 20_000, interval: 50 },
  );
}
