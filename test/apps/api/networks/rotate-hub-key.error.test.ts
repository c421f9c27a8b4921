/** Bad hub key rotation requests: 4xx problems, and nothing changes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import { createNetwork } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("hub key rotation errors", () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    "?deadlineSeconds=abc",
    "?deadlineSeconds=5",
    "?deadlineSeconds=1.5",
    "?deadlineSeconds=999999999",
    "?now=maybe",
  ])("refuses %s with 400 and changes nothing", async (query) => {
    const net = await createNetwork(t);
    const res = await t.request(`/api/v1/networks/${net.id}/rotate-hub-key${query}`, { method: "POST" });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.success).toBe(false);
    expect(body.code).toBe("VALIDATION_FAILED");
    const view = (await json(await t.request(`/api/v1/networks/${net.id}`))).data;
    expect(view).toMatchObject({ hubPublicKey: net.hubPublicKey, nextHubPublicKey: null });
  });

  it("answers 404 for a network that does not exist and 400 for a malformed id", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    for (const [path, method] of [
      [`/api/v1/networks/${missing}/rotate-hub-key`, "POST"],
      [`/api/v1/networks/${missing}/hub-key-rotation`, "GET"],
    ] as const) {
      const res = await t.request(path, { method });
      expect(res.status).toBe(404);
      expect((await json(res)).code).toBe("NETWORK_NOT_FOUND");
    }
    expect((await t.request("/api/v1/networks/nope/rotate-hub-key", { method: "POST" })).status).toBe(400);
    expect((await t.request("/api/v1/networks/nope/hub-key-rotation")).status).toBe(400);
  });
});
