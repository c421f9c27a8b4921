import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("GET /api/v1/networks/:id/reachability with bad input", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("404 NETWORK_NOT_FOUND for a network that does not exist", async () => {
    const id = randomUUID();
    const res = await t.request(`/api/v1/networks/${id}/reachability`);
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({
      success: false,
      code: "NETWORK_NOT_FOUND",
      error: { code: "NETWORK_NOT_FOUND", message: `network ${id} does not exist` },
    });
  });

  it("400 VALIDATION_FAILED for an id that is no UUID", async () => {
    const res = await t.request("/api/v1/networks/not-a-uuid/reachability");
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ success: false, code: "VALIDATION_FAILED" });
  });
});
