/**
 * Hub hosts' peer-sync queues are observed like the four shared queues: the queue gauges on `/metrics`
 * and Bull Board list the queue of every hub host in `hub_hosts` that beat within a week, with its
 * exact job counts; a host silent for longer drops out.
 */
import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { ParsedFamily } from "parse-prometheus-text-format";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hubHosts } from "../../../../src/db/index.js";
import { heartbeat } from "../../../../src/hubs/index.js";
import { QUEUE_NAMES } from "../../../../src/queue/index.js";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const HOUR_MS = 60 * 60 * 1_000;
const suffix = randomBytes(4).toString("hex");
const LIVE = `site-a-${suffix}`;
const GONE = `site-old-${suffix}`;
const LATE = `site-late-${suffix}`;

function jobSamples(families: ParsedFamily[]): Record<string, number> {
  const f = families.find((x) => x.name === "wiresync_queue_jobs");
  if (!f) throw new Error("no wiresync_queue_jobs in /metrics");
  return Object.fromEntries(f.metrics.map((m) => [`${m.labels?.queue}/${m.labels?.state}`, Number(m.value)]));
}

describe("hub hosts' peer-sync queues in the queue gauges and Bull Board", () => {
  let t: TestPlatform;

  const beat = (id: string) =>
    heartbeat(t.platform.database.db, { id, networks: [], version: "test", startedAt: new Date() });

  beforeAll(async () => {
    t = await createTestPlatform();
    await beat(LIVE);
    await beat(GONE);
    // GONE last beat eight days ago: longer than a host's queue stays observed.
    await t.platform.database.db
      .update(hubHosts)
      .set({ heartbeatAt: sql`now() - interval '8 days'` })
      .where(eq(hubHosts.id, GONE));
    const live = t.platform.queue.hubQueue(LIVE);
    for (const networkId of ["n1", "n2", "n3"]) await live.add("network-sync", { networkId });
    await live.add("network-sync", { networkId: "n4" }, { delay: HOUR_MS });
    await t.platform.queue.hubQueue(GONE).add("network-sync", { networkId: "n5" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("/metrics shows the live host's queue with its exact counts, and not the silent host's", async () => {
    const res = await t.request("/metrics", { key: null });
    expect(res.status).toBe(200);
    const jobs = jobSamples(parsePrometheusTextFormat(await res.text()));
    const queues = new Set(Object.keys(jobs).map((k) => k.slice(0, k.lastIndexOf("/"))));
    expect([...queues].sort()).toEqual([...QUEUE_NAMES, `peer-sync.${LIVE}`].sort());
    expect(Object.keys(jobs)).toHaveLength(5 * 7);
    expect(jobs[`peer-sync.${LIVE}/waiting`]).toBe(3);
    expect(jobs[`peer-sync.${LIVE}/delayed`]).toBe(1);
    expect(jobs[`peer-sync.${LIVE}/active`]).toBe(0);
    expect(jobs[`peer-sync.${LIVE}/failed`]).toBe(0);
    // Nothing was added to the shared queues.
    expect(Object.values(jobs).reduce((a, b) => a + b, 0)).toBe(4);
  });

  it("Bull Board's API lists the live host's queue with its jobs, and picks up a host that appears later", async () => {
    const list = async () => {
      const res = await t.request("/admin/queues/api/queues");
      expect(res.status).toBe(200);
      return (await json(res)).queues as { name: string; counts: Record<string, number> }[];
    };
    const first = await list();
    expect(first.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES, `peer-sync.${LIVE}`].sort());
    const live = first.find((q) => q.name === `peer-sync.${LIVE}`)!;
    expect(live.counts.waiting).toBe(3);
    expect(live.counts.delayed).toBe(1);

    // A host that starts later shows up once the board reads the list again.
    await beat(LATE);
    await vi.waitFor(
      async () => {
        const names = (await list()).map((q) => q.name).sort();
        expect(names).toEqual([...QUEUE_NAMES, `peer-sync.${LIVE}`, `peer-sync.${LATE}`].sort());
      },
      { timeout: 40_000, interval: 500 },
    );
  });
});
