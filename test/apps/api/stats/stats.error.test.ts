/**
 * Stats and metrics when a source fails: admin stats still answer with what Postgres holds and say
 * the queues could not be read; a scrape still answers, without the series it could not read, and
 * counts each one in `wiresync_metrics_collect_errors_total`.
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import { insertNetworks } from "../../../support/networks.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const families = async (t: TestPlatform) => {
  const res = await t.request("/metrics", { key: null });
  expect(res.status).toBe(200);
  return parsePrometheusTextFormat(await res.text());
};

const collectErrors = async (t: TestPlatform) =>
  Object.fromEntries(
    ((await families(t)).find((f) => f.name === "wiresync_metrics_collect_errors_total")?.metrics ?? []).map(
      (m) => [m.labels?.metric, Number(m.value)],
    ),
  );

describe("stats and metrics while Redis is down", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ redisUrl: "redis://127.0.0.1:1" });
    await insertNetworks(t.platform.database.db, 2, "down");
  });
  afterAll(async () => {
    await t.close();
  });

  it("GET /api/admin/stats answers 200 from Postgres, queues null with the reason", async () => {
    const res = await t.request("/api/admin/stats");
    expect(res.status).toBe(200);
    const { data } = await json(res);
    expect(data.networks).toBe(2);
    expect(data.queues).toBeNull();
    expect(data.queuesError).toMatch(
      /^the queues could not be read: redis (is unavailable|did not answer within 3000 ms)/,
    );
  });

  it("/metrics answers without queue series, counting one collect error per queue metric and scrape", async () => {
    const first = await families(t);
    expect(first.find((f) => f.name === "wiresync_queue_jobs")?.metrics ?? []).toEqual([]);
    expect(first.find((f) => f.name === "wiresync_queue_oldest_waiting_seconds")?.metrics ?? []).toEqual([]);
    expect(first.find((f) => f.name === "wiresync_nodes")).toBeDefined();
    const before = await collectErrors(t);
    await families(t);
    const after = await collectErrors(t);
    // Two scrapes since `before` was read (the one in between and the one that read `after`).
    expect(after.wiresync_queue_jobs).toBe((before.wiresync_queue_jobs ?? 0) + 2);
    expect(after.wiresync_queue_oldest_waiting_seconds).toBe(
      (before.wiresync_queue_oldest_waiting_seconds ?? 0) + 2,
    );
    expect(after.wiresync_nodes).toBeUndefined();
  });
});
