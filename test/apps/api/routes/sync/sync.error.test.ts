import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncRuns } from "../../../../../src/db/index.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

const UNKNOWN = "00000000-0000-4000-8000-000000000000";

describe("sync run errors", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  async function runCount() {
    const [row] = await t.platform.database.db.select({ n: count() }).from(syncRuns);
    return row?.n;
  }

  async function expectProblem(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = await json(res);
    expect(body.code).toBe(code);
    return body;
  }

  it("404 SYNC_RUN_NOT_FOUND for the status or cancel of an unknown run", async () => {
    await expectProblem(await t.request(`/api/v1/sync/status/${UNKNOWN}`), 404, "SYNC_RUN_NOT_FOUND");
    await expectProblem(
      await t.request(`/api/v1/sync/cancel/${UNKNOWN}`, { method: "POST" }),
      404,
      "SYNC_RUN_NOT_FOUND",
    );
  });

  it("400 for an id that is not a uuid", async () => {
    await expectProblem(await t.request("/api/v1/sync/status/42"), 400, "VALIDATION_FAILED");
  });

  it.each([
    ["an unknown field", { skip_usage: true, force: true }],
    ["a non-boolean skip_usage", { skip_usage: "yes" }],
    ["a two-line requested_by", { requested_by: "a\nb" }],
  ])("400 for a full sync with %s, recording no run", async (_name, body) => {
    await expectProblem(
      await t.request("/api/v1/sync/full", { method: "POST", body }),
      400,
      "VALIDATION_FAILED",
    );
    expect(await runCount()).toBe(0);
  });

  it("400 for an unknown partial sync type or network id", async () => {
    await expectProblem(
      await t.request("/api/v1/sync/everything", { method: "POST" }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await t.request("/api/v1/sync/peers", { method: "POST", body: { network_id: "nope" } }),
      400,
      "VALIDATION_FAILED",
    );
    expect(await runCount()).toBe(0);
  });

  it.each(["?limit=0", "?limit=501", "?offset=-1", "?type=bogus", "?limit=abc"])(
    "400 for logs%s",
    async (query) => {
      await expectProblem(await t.request(`/api/v1/sync/logs${query}`), 400, "VALIDATION_FAILED");
    },
  );

  it("404 for the admin cancel when nothing runs", async () => {
    await expectProblem(
      await t.request("/api/admin/sync/cancel", { method: "POST" }),
      404,
      "SYNC_RUN_NOT_FOUND",
    );
  });
});

describe("sync runs while Redis is down", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ redisUrl: "redis://127.0.0.1:1" });
  });
  afterAll(async () => {
    await t.close();
  });

  it("still records the run and answers 202, saying it starts when Redis is back", async () => {
    const res = await t.request("/api/v1/sync/full", { method: "POST" });
    expect(res.status).toBe(202);
    const body = await json(res);
    expect(body.data.status).toBe("PENDING");
    expect(body.message).toContain("unreachable");
    const status = await json(await t.request(`/api/v1/sync/status/${body.data.sync_log_id}`));
    expect(status.data).toMatchObject({ status: "PENDING", taskId: body.data.task_id });
  });

  it("cancels a waiting run without its queue", async () => {
    const { data } = await json(await t.request("/api/v1/sync/peers", { method: "POST" }));
    const res = await t.request(`/api/v1/sync/cancel/${data.sync_log_id}`, { method: "POST" });
    expect(res.status).toBe(200);
    expect((await json(res)).data.status).toBe("CANCELLED");
  });
});
