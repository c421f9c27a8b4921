/** `wiresync reseal`: through the API, whose workers re-seal every secret under the current key. */
import type { Json } from "./client.js";
import { data, fail } from "./client.js";

const POLL_MS = 500;

/** Queues a re-seal through the API; with `wait`, follows it until it finished. */
export async function resealCommand(wait: boolean): Promise<Json> {
  const { jobId } = await data<{ jobId: string }>("POST", "/api/v1/admin/reseal", {});
  if (!wait) return { jobId, ...(await data("GET", "/api/v1/admin/reseal")) };
  for (;;) {
    const status = await data<{ remaining: number; job: { state: string | null } }>(
      "GET",
      `/api/v1/admin/reseal?job_id=${encodeURIComponent(jobId)}`,
    );
    const state = status.job.state;
    if (state === "failed")
      fail(`the re-seal job failed; ${status.remaining} secrets are still under an older key`);
    if (state === "completed" || state === null) return status as unknown as Json;
    process.stderr.write(`  re-sealing: ${status.remaining} left\r`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
